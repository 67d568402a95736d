import { definePlugin } from '@trellis/server';
import { z } from 'zod';

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The benchmark's two tools: `echo` (returns its text) and `sleep` (waits,
 * honouring the request's abort signal). The SDK baselines in `baselines/`
 * expose the same two.
 */
export function benchTools() {
  return definePlugin({
    name: 'bench',
    setup(scope) {
      scope.tools.add({
        name: 'echo',
        description: 'Returns the text it is given',
        input: z.object({ text: z.string() }),
        handler: ({ text }) => text,
      });
      scope.tools.add({
        name: 'sleep',
        description: 'Waits for the given number of milliseconds (cancellable)',
        input: z.object({ ms: z.number().int().min(0).max(600_000) }),
        handler: async ({ ms }, ctx) => {
          await abortableSleep(ms, ctx.signal);
          return `slept ${ms} ms`;
        },
      });
    },
  });
}
