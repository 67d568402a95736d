import type { Writable } from 'node:stream';

const GUARDED = Symbol.for('trellis.stdoutGuard');

type WriteFn = Writable['write'];

/** Keeps a stream (stdout) for the protocol alone. */
export interface StdoutGuard {
  /** Writes to the real stream: for the protocol writer only. */
  write(chunk: string): boolean;
  /** How many stray writes were diverted so far. */
  readonly diverted: number;
  /** Puts the stream's own `write` back. */
  restore(): void;
}

export interface StdoutGuardOptions {
  /** The stream to guard. Default `process.stdout`. */
  stdout?: Writable;
  /** Where stray writes go. Default `process.stderr`. */
  divert?: Writable;
  /** Called on the first stray write (e.g. to log a warning once). */
  onStray?: () => void;
}

/**
 * Diverts every write to stdout that does not come from the protocol writer
 * (a stray `console.log`, a chatty dependency) to stderr, so the stdio stream
 * carries only protocol messages. The protocol writes through `guard.write`,
 * which calls the stream's own `write`. Writes made straight to file
 * descriptor 1 (`fs.writeSync(1, …)`) bypass any stream and cannot be caught.
 * @example
 * const guard = guardStdout({ onStray: () => log.warn('something wrote to stdout; sent to stderr') });
 * const transport = new LineTransport({ input: process.stdin, output: process.stdout, write: guard.write });
 */
export function guardStdout(options: StdoutGuardOptions = {}): StdoutGuard {
  const stdout = options.stdout ?? process.stdout;
  const divert = options.divert ?? process.stderr;
  const target = stdout as Writable & { [GUARDED]?: true };
  if (target[GUARDED])
    throw new Error('this stream is already guarded; pass the existing guard instead of installing a second one');
  const hadOwn = Object.prototype.hasOwnProperty.call(stdout, 'write');
  const original: WriteFn = stdout.write;
  let diverted = 0;
  const stray = function strayWrite(this: unknown, ...args: Parameters<WriteFn>): boolean {
    if (diverted++ === 0) options.onStray?.();
    return Reflect.apply(divert.write, divert, args) as boolean;
  };
  stdout.write = stray as WriteFn;
  target[GUARDED] = true;
  let restored = false;
  return {
    write: (chunk: string) => Reflect.apply(original, stdout, [chunk]) as boolean,
    get diverted() {
      return diverted;
    },
    restore() {
      if (restored) return;
      restored = true;
      delete target[GUARDED];
      if (hadOwn) stdout.write = original;
      else delete (stdout as { write?: WriteFn }).write;
    },
  };
}
