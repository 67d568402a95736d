/**
 * The slice of a pino logger this package writes to (a pino `Logger` fits as is). Messages
 * go to the logger, never to the console: on stdio, stdout belongs to the protocol.
 */
export interface TaskLogger {
  error(obj: object, msg: string): void;
  warn?(obj: object, msg: string): void;
}

/**
 * Used when no logger is given, so that failures are never silent: Node prints process
 * warnings to stderr.
 */
export const warningLogger: TaskLogger = {
  error(obj, msg) {
    process.emitWarning(describe(obj, msg), { code: 'TRELLIS_CONCURRENCY' });
  },
  warn(obj, msg) {
    process.emitWarning(describe(obj, msg), { code: 'TRELLIS_CONCURRENCY' });
  },
};

function describe(obj: object, msg: string): string {
  const err = (obj as { err?: unknown }).err;
  return err instanceof Error ? `${msg}: ${err.message}` : msg;
}
