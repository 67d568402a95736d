import pino, { type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };
export type LogLevel = LevelWithSilent;

export interface LoggerOptions {
  level?: LogLevel;
  /** Human-readable lines instead of JSON (for a terminal, never for production). */
  pretty?: boolean;
  name?: string;
  /** File descriptor to write to; stderr by default so stdout stays the protocol's. */
  fd?: number;
}

/**
 * The server's root logger: pino, JSON, to stderr. Never stdout: on stdio
 * that stream belongs to the protocol.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const fd = options.fd ?? 2;
  const stream = options.pretty
    ? pretty({ destination: fd, sync: true, colorize: false })
    : pino.destination({ dest: fd, sync: true });
  return pino(
    {
      level: options.level ?? 'info',
      ...(options.name !== undefined && { name: options.name }),
      base: { pid: process.pid },
      // Keys whose values are secrets are dropped wherever they appear in a log record.
      redact: {
        paths: ['*.password', '*.token', '*.authorization', '*.Authorization', 'config.*_TOKEN', 'config.*_SECRET'],
        censor: '[redacted]',
      },
    },
    stream,
  );
}
