/**
 * One signal that aborts when any of `signals` does, with the reason of the
 * first. Unlike `AbortSignal.any`, the listeners it adds to long-lived signals
 * (the server's shutdown signal) are removed by `dispose()`, so a server that
 * handles millions of requests does not accumulate them.
 */
export function linkSignals(signals: readonly (AbortSignal | undefined)[]): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  const already = present.find((s) => s.aborted);
  if (already) {
    controller.abort(already.reason);
    return { signal: controller.signal, dispose() {} };
  }
  const onAbort = function (this: AbortSignal) {
    controller.abort(this.reason);
    dispose();
  };
  function dispose() {
    for (const s of present) s.removeEventListener('abort', onAbort);
  }
  for (const s of present) s.addEventListener('abort', onAbort, { once: true });
  return { signal: controller.signal, dispose };
}
