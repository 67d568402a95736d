/**
 * Stable codes of the errors this package raises locally (they never cross the
 * wire as protocol errors; tools turn them into `isError` results).
 * - `DB_UNAVAILABLE`: the database could not be reached or is not configured.
 * - `READ_ONLY`: a statement tried to write, or is not a query.
 * - `QUERY_FAILED`: PostgreSQL rejected the statement (syntax, types, missing objects).
 * - `QUERY_CANCELLED`: the call was cancelled or passed its statement timeout.
 * - `NOT_FOUND`: a schema or table named in the arguments is not in the catalog.
 * - `EMBEDDED_FAILED`: the embedded PostgreSQL could not be set up or started.
 * - `FUNCTION_DENIED`: the statement calls a function of the deny-list (file access, locks…).
 * - `RESULT_TOO_LARGE`: a catalog answer passed the byte budget (queries answer what fits instead).
 * - `UNSAFE_ROLE`: the connection's role has a privilege the plugin refuses to run with.
 */
export type PostgresErrorCode =
  | 'DB_UNAVAILABLE'
  | 'READ_ONLY'
  | 'QUERY_FAILED'
  | 'QUERY_CANCELLED'
  | 'NOT_FOUND'
  | 'EMBEDDED_FAILED'
  | 'FUNCTION_DENIED'
  | 'RESULT_TOO_LARGE'
  | 'UNSAFE_ROLE';

/**
 * An error of `@trellis/postgres`. Its message is safe to show to the model:
 * it never carries the connection password.
 * @example
 * if (error instanceof PostgresError && error.code === 'READ_ONLY') { … }
 */
export class PostgresError extends Error {
  readonly code: PostgresErrorCode;
  /** PostgreSQL's SQLSTATE, when the server answered with one. */
  readonly sqlState: string | undefined;

  constructor(code: PostgresErrorCode, message: string, options: { sqlState?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PostgresError';
    this.code = code;
    this.sqlState = options.sqlState;
  }
}
