/**
 * Stable codes of the errors the fleet raises (at start-up; they never cross the wire).
 * - `FLEET_UNREACHABLE`: the database could not be reached or refused the login.
 * - `FLEET_RIGHTS`: the role lacks a right the fleet needs (see the README's grants).
 * - `FLEET_SCHEMA`: the schema could not be created or migrated, or is newer than this code.
 */
export type FleetErrorCode = 'FLEET_UNREACHABLE' | 'FLEET_RIGHTS' | 'FLEET_SCHEMA';

/**
 * An error of `@trellis/fleet`. Its message names the database by host, port
 * and name only: never the URL, never the password.
 * @example
 * if (error instanceof FleetError && error.code === 'FLEET_RIGHTS') { … }
 */
export class FleetError extends Error {
  readonly code: FleetErrorCode;
  /** PostgreSQL's SQLSTATE, when the server answered with one. */
  readonly sqlState: string | undefined;

  constructor(code: FleetErrorCode, message: string, options: { sqlState?: string } = {}) {
    super(message);
    this.name = 'FleetError';
    this.code = code;
    this.sqlState = options.sqlState;
  }
}

/** Where the database is, for messages: host, port and name, nothing secret. */
export function describeTarget(url: string): string {
  try {
    const target = new URL(url);
    return `${target.hostname}:${target.port || '5432'}/${decodeURIComponent(target.pathname.slice(1)) || '(default)'}`;
  } catch {
    return 'the fleet database';
  }
}

/** A driver error's message with every occurrence of `secrets` cut out. */
export function safeMessage(error: unknown, secrets: readonly string[]): string {
  let message = error instanceof Error ? error.message : String(error);
  if (!message && error instanceof AggregateError)
    message = error.errors.map((e) => String(e?.message ?? e)).join('; ');
  for (const secret of secrets) if (secret) message = message.split(secret).join('***');
  return message || 'unknown error';
}

export function sqlStateOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
