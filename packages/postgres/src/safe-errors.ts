import { maskUrlPasswords } from '@trellis/config';
import { PostgresError } from './errors.js';

/** Removes every known secret (and any URL password) from a text before it is shown or logged. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = maskUrlPasswords(text);
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join('***');
  return out;
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENOENT',
  'EACCES',
]);
// 57P01-03: admin shutdown, crash shutdown, cannot connect now; 08xxx: connection exceptions; 53300: too many connections.
const CONNECTION_STATES = /^(57P0[123]|08...|53300|28...|3D000)$/;

interface PgLikeError {
  code?: string;
  message?: string;
  errors?: unknown[];
}

/** Whether an error means "no working connection" rather than "this statement failed". */
export function isConnectionError(error: unknown): boolean {
  const e = error as PgLikeError | undefined;
  if (!e || typeof e !== 'object') return false;
  if (e.code && (CONNECTION_CODES.has(e.code) || CONNECTION_STATES.test(e.code))) return true;
  const message = e.message ?? '';
  return (
    /Connection terminated|connection error|not queryable|timeout exceeded when trying to connect|Connection ended/i.test(
      message,
    ) ||
    (e.errors?.some(isConnectionError) ?? false)
  );
}

/** Whether a live pooled connection broke (worth one retry of a read-only statement). */
export function isBrokenConnection(error: unknown): boolean {
  const e = error as PgLikeError | undefined;
  if (!e || typeof e !== 'object') return false;
  return (
    e.code === 'ECONNRESET' ||
    e.code === 'EPIPE' ||
    /^57P0[12]$/.test(e.code ?? '') ||
    /Connection terminated|not queryable|Connection ended/i.test(e.message ?? '')
  );
}

const READ_ONLY_STATES = new Set(['25006', '25001']);

/**
 * Turns anything `pg` throws into a `PostgresError` whose message the model can
 * act on and that never holds the connection password.
 */
export function toPostgresError(error: unknown, secrets: readonly string[]): PostgresError {
  if (error instanceof PostgresError) return error;
  const e = (error ?? {}) as PgLikeError & { detail?: string; hint?: string; position?: string };
  const raw = scrub(aggregateMessage(e), secrets);
  if (isConnectionError(error)) {
    return new PostgresError(
      'DB_UNAVAILABLE',
      `The database is unavailable (${raw}). Check that PostgreSQL is running and that DATABASE_URL points at it; the next call tries again.`,
      {
        ...(e.code !== undefined && { sqlState: e.code }),
        cause: error,
      },
    );
  }
  if (e.code && READ_ONLY_STATES.has(e.code)) {
    return new PostgresError('READ_ONLY', `This tool is read-only: ${raw}. Only reading statements run here.`, {
      sqlState: e.code,
      cause: error,
    });
  }
  if (e.code === '57014') {
    return new PostgresError(
      'QUERY_CANCELLED',
      `The statement was cancelled (${raw}). Narrow the query (a WHERE clause, a LIMIT) or raise POSTGRES_STATEMENT_TIMEOUT.`,
      { sqlState: e.code, cause: error },
    );
  }
  const extras = [
    e.detail && `detail: ${scrub(e.detail, secrets)}`,
    e.hint && `hint: ${scrub(e.hint, secrets)}`,
    e.position && `at character ${e.position}`,
  ].filter(Boolean);
  return new PostgresError(
    'QUERY_FAILED',
    `PostgreSQL rejected the statement: ${raw}${e.code ? ` (SQLSTATE ${e.code})` : ''}${extras.length ? `; ${extras.join('; ')}` : ''}.`,
    {
      ...(e.code !== undefined && { sqlState: e.code }),
      cause: error,
    },
  );
}

function aggregateMessage(error: PgLikeError): string {
  if (error.message) return error.message;
  const inner = error.errors?.map((item) => (item as PgLikeError).message).filter(Boolean);
  if (inner && inner.length) return inner.join('; ');
  return error.code ?? 'unknown error';
}
