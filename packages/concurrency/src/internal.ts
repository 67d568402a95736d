/** Calls `fn`, turning a synchronous throw or a plain value into a promise. */
export function callAsync<A extends unknown[], T>(fn: (...args: A) => Promise<T> | T, ...args: A): Promise<T> {
  try {
    return Promise.resolve(fn(...args));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Makes `controller` abort when `source` does, and returns a function that removes the
 * listener again. Used instead of `AbortSignal.any`, whose links to a long-lived source
 * are never released on Node 20 (see `anySignal`).
 */
export function followSignal(source: AbortSignal | undefined, controller: AbortController): () => void {
  if (!source) return noop;
  if (source.aborted) {
    controller.abort(source.reason);
    return noop;
  }
  const onAbort = (): void => controller.abort(source.reason);
  source.addEventListener('abort', onAbort, { once: true });
  return () => source.removeEventListener('abort', onAbort);
}

/** Whether `error` is the echo of `signal` aborting rather than a failure of its own. */
export function isAbortInduced(error: unknown, signal: AbortSignal): boolean {
  if (!signal.aborted) return false;
  if (error === signal.reason) return true;
  return error instanceof Error && (error.name === 'AbortError' || error.cause === signal.reason);
}

export function noop(): void {}
