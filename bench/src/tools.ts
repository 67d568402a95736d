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
 * The task benchmark's tools (registered only with BENCH_TASKS=1, so that the
 * other figures measure a server that never loads the Tasks extension):
 * `job` answers at once but is always a task for clients that declare the
 * extension (`detachAfterMs: 0`) and a plain call for the others; `sleep_task`
 * waits like `sleep`, as a task.
 */
export function benchTaskTools() {
  return definePlugin({
    name: 'bench-tasks',
    setup(scope) {
      scope.tools.add({
        name: 'job',
        description: 'Returns the text it is given; a task for clients with the tasks extension',
        input: z.object({ text: z.string() }),
        taskSupport: 'optional',
        task: { detachAfterMs: 0, pollIntervalMs: 1 },
        handler: ({ text }) => text,
      });
      scope.tools.add({
        name: 'sleep_task',
        description: 'Waits for the given number of milliseconds (cancellable), as a task',
        input: z.object({ ms: z.number().int().min(0).max(600_000) }),
        taskSupport: 'optional',
        task: { detachAfterMs: 0 },
        handler: async ({ ms }, ctx) => {
          await abortableSleep(ms, ctx.signal);
          return `slept ${ms} ms`;
        },
      });
    },
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
