import type { AuthInfo } from '@modelcontextprotocol/server';

/**
 * Who an authenticated request acts for, as one string: the OAuth client and
 * the token's subject (`sub`), joined by a NUL (which neither may carry, so
 * two different pairs never make the same key). `undefined` without
 * authentication. The one rule for "same principal": an older-protocol
 * session answers only its opener's principal, and a task only its creator's.
 */
export function principalOf(auth: AuthInfo | undefined): string | undefined {
  return auth ? `${auth.clientId}\u0000${String(auth.extra?.sub ?? '')}` : undefined;
}
