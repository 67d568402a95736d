import { createHash, timingSafeEqual } from 'node:crypto';
import {
  OAuthError,
  OAuthErrorCode,
  buildOAuthProtectedResourceMetadata,
  verifyBearerToken,
  type AuthInfo,
  type OAuthMetadata,
  type OAuthProtectedResourceMetadata,
  type OAuthTokenVerifier,
} from '@modelcontextprotocol/server';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { isLoopbackHost, type ResolvedHttpOptions } from './options.js';

/** Verifies the Authorization header of a request; throws an `OAuthError` that maps to 401/403. */
export interface Authenticator {
  authenticate(header: string | undefined): Promise<AuthInfo>;
  /** URL of the protected resource metadata (advertised in `WWW-Authenticate`), in OAuth mode. */
  readonly resourceMetadataUrl: string | undefined;
  /** The RFC 9728 document, in OAuth mode. */
  readonly metadata: OAuthProtectedResourceMetadata | undefined;
  /** In OAuth mode: whether the key set can be fetched (a readiness check). */
  readonly readiness: (() => Promise<{ plugin: string; ok: boolean; detail?: string }>) | undefined;
}

/**
 * What to do with a JWT that names neither a subject (`sub`) nor a client
 * (`client_id`, `azp`): `token-id` gives it a principal of its own from its
 * issuer and token id (`iss` + `jti`), refused when it has no `jti`;
 * `refuse` refuses it. Never one shared principal: that would let the holders
 * of such tokens use each other's sessions.
 */
export type SubjectlessTokenPolicy = 'token-id' | 'refuse';

/** Who a token's holder is, or why there is no stable answer. */
function identityOf(payload: JWTPayload, policy: SubjectlessTokenPolicy): { clientId: string; sub?: string } {
  const { client_id: clientId, azp } = payload as { client_id?: unknown; azp?: unknown };
  const client =
    typeof clientId === 'string' && clientId !== ''
      ? clientId
      : typeof azp === 'string' && azp !== ''
        ? azp
        : undefined;
  const sub = typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : undefined;
  if (sub !== undefined || client !== undefined) return { clientId: client ?? sub!, ...(sub !== undefined && { sub }) };
  if (
    policy === 'token-id' &&
    typeof payload.jti === 'string' &&
    payload.jti !== '' &&
    typeof payload.iss === 'string'
  ) {
    return { clientId: `token:${payload.iss}#${payload.jti}` };
  }
  throw new OAuthError(
    OAuthErrorCode.InvalidToken,
    policy === 'refuse'
      ? 'The token names no subject (sub) or client (client_id)'
      : 'The token names no subject (sub), client (client_id) or token id (jti): no stable identity',
  );
}

/** How long a JWKS readiness probe's answer is reused: probes are public, and each one is a fetch. */
const JWKS_PROBE_INTERVAL_MS = 1_000;

const digest = (value: string) => createHash('sha256').update(value).digest();

function bearerToken(header: string | undefined): string {
  if (!header) throw new OAuthError(OAuthErrorCode.InvalidToken, 'Missing Authorization header');
  const match = /^Bearer +(\S+) *$/i.exec(header);
  if (!match)
    throw new OAuthError(OAuthErrorCode.InvalidToken, "Invalid Authorization header format, expected 'Bearer TOKEN'");
  return match[1]!;
}

function scopesOf(payload: JWTPayload): string[] {
  const { scope, scp } = payload as { scope?: unknown; scp?: unknown };
  if (typeof scope === 'string') return scope.split(' ').filter(Boolean);
  if (Array.isArray(scp)) return scp.filter((s): s is string => typeof s === 'string');
  return [];
}

/** A token verifier for JWT access tokens signed by a key in the JWKS at `jwksUrl`. */
export function jwtVerifier(options: {
  jwksUrl: string;
  issuer?: string;
  audience: string;
  subjectless?: SubjectlessTokenPolicy;
}): OAuthTokenVerifier & {
  readiness(): Promise<{ plugin: string; ok: boolean; detail?: string }>;
} {
  const keys = createRemoteJWKSet(new URL(options.jwksUrl));
  const where = new URL(options.jwksUrl).origin;
  let lastProbe: { at: number; state: { plugin: string; ok: boolean; detail?: string } } = {
    at: 0,
    state: { plugin: 'http', ok: false },
  };
  return {
    /**
     * Fetches the key set (at most once a second; jose shares a fetch in
     * flight): a JWKS endpoint that is down means keys cannot be learnt (a
     * rotation, a restart), so the server is not ready.
     */
    async readiness() {
      if (Date.now() - lastProbe.at < JWKS_PROBE_INTERVAL_MS) return lastProbe.state;
      let state: { plugin: string; ok: boolean; detail?: string };
      try {
        await keys.reload();
        state = { plugin: 'http', ok: true };
      } catch (error) {
        const reason =
          error instanceof joseErrors.JWKSTimeout
            ? 'timed out'
            : error instanceof joseErrors.JOSEError
              ? error.code
              : 'unreachable';
        state = { plugin: 'http', ok: false, detail: `JWKS at ${where} cannot be fetched (${reason})` };
      }
      lastProbe = { at: Date.now(), state };
      return state;
    },
    async verifyAccessToken(token) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keys, {
          audience: options.audience,
          ...(options.issuer !== undefined && { issuer: options.issuer }),
          requiredClaims: ['exp'],
        }));
      } catch (error) {
        // A JWKS that cannot be fetched is our failure, not the client's.
        if (
          error instanceof joseErrors.JWKSTimeout ||
          (error instanceof Error && /fetch/i.test(error.message) && !(error instanceof joseErrors.JOSEError))
        ) {
          throw new OAuthError(OAuthErrorCode.ServerError, 'The token could not be verified (key set unavailable)');
        }
        throw new OAuthError(
          OAuthErrorCode.InvalidToken,
          error instanceof joseErrors.JWTExpired ? 'Token has expired' : 'Invalid access token',
        );
      }
      const { clientId, sub } = identityOf(payload, options.subjectless ?? 'token-id');
      return {
        token,
        clientId,
        scopes: scopesOf(payload),
        ...(payload.exp !== undefined && { expiresAt: payload.exp }),
        extra: { ...(sub !== undefined && { sub }), ...(payload.iss !== undefined && { iss: payload.iss }) },
      };
    },
  };
}

/** The authenticator the options ask for, or undefined when auth is off. */
export function createAuthenticator(options: ResolvedHttpOptions, endpointUrl: string): Authenticator | undefined {
  const { authToken, jwt } = options;
  if (authToken === undefined && jwt === undefined) return undefined;
  const expected = authToken !== undefined ? digest(authToken) : undefined;
  let metadata: OAuthProtectedResourceMetadata | undefined;
  let resourceMetadataUrl: string | undefined;
  let verifier: ReturnType<typeof jwtVerifier> | undefined;
  if (jwt) {
    const resource = new URL(endpointUrl);
    const issuer = jwt.issuer ?? new URL(jwt.jwksUrl).origin;
    metadata = {
      ...buildOAuthProtectedResourceMetadata({
        oauthMetadata: { issuer } as OAuthMetadata,
        resourceServerUrl: resource,
        // Plain http is accepted for an issuer on this machine only (local development and tests).
        dangerouslyAllowInsecureIssuerUrl: isLoopbackHost(new URL(issuer).hostname),
      }),
      bearer_methods_supported: ['header'],
    };
    resourceMetadataUrl = new URL('/.well-known/oauth-protected-resource', resource).href;
    verifier = jwtVerifier({
      jwksUrl: jwt.jwksUrl,
      ...(jwt.issuer !== undefined && { issuer: jwt.issuer }),
      audience: jwt.audience ?? endpointUrl,
      ...(jwt.subjectless !== undefined && { subjectless: jwt.subjectless }),
    });
  }
  return {
    metadata,
    resourceMetadataUrl,
    readiness: verifier?.readiness,
    async authenticate(header) {
      const token = bearerToken(header);
      if (expected && timingSafeEqual(digest(token), expected)) return { token, clientId: 'static-token', scopes: [] };
      if (!verifier) throw new OAuthError(OAuthErrorCode.InvalidToken, 'Invalid access token');
      return verifyBearerToken(header, { verifier, ...(resourceMetadataUrl !== undefined && { resourceMetadataUrl }) });
    },
  };
}
