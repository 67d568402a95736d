import { TimeoutError } from './errors.js';
import { callAsync } from './internal.js';
import { inheritTraceContext } from './trace-context.js';
import { assertDuration } from './validate.js';

/** Options of {@link withTimeout}. */
export interface WithTimeoutOptions {
  /** The limit in milliseconds. */
  ms: number;
  /** An outer signal (e.g. the request's): whichever of it and the deadline fires first wins. */
  signal?: AbortSignal;
  /** Names the operation in the `TimeoutError` message; default `'operation'`. */
  name?: string;
}

/**
 * Runs `fn` with a deadline (Python: `asyncio.wait_for` / `asyncio.timeout`). When time runs
 * out, the signal given to `fn` aborts with a {@link TimeoutError} ("search timed out after
 * 1000 ms") and the promise rejects with it. If the outer `signal` aborts first, `fn`'s
 * signal aborts with the outer reason and the promise rejects with that reason.
 *
 * The promise settles at the deadline; it does not wait for `fn` to honour its signal (a
 * late result or error of `fn` is dropped). Pass the signal on to whatever `fn` awaits.
 *
 * @example
 * const hits = await withTimeout((signal) => search(query, { signal }), {
 *   ms: 1000, name: 'search', signal: ctx.signal,
 * });
 */
export function withTimeout<T>(fn: (signal: AbortSignal) => Promise<T> | T, options: WithTimeoutOptions): Promise<T> {
  const { ms, signal: outer, name = 'operation' } = options;
  assertDuration('ms', ms);
  if (outer?.aborted) return Promise.reject(outer.reason);
  const controller = new AbortController();
  if (outer) inheritTraceContext(controller.signal, [outer]);
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const settle = (finish: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
      finish();
    };
    const onOuterAbort = (): void => {
      const reason: unknown = outer?.reason;
      controller.abort(reason);
      settle(() => reject(reason));
    };
    const timer = setTimeout(() => {
      const error = new TimeoutError(name, ms);
      controller.abort(error);
      settle(() => reject(error));
    }, ms);
    outer?.addEventListener('abort', onOuterAbort, { once: true });
    callAsync(fn, controller.signal).then(
      (value) => settle(() => resolve(value)),
      (error: unknown) => settle(() => reject(error)),
    );
  });
}
