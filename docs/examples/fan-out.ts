import { settleAll, withTimeout } from '@trellis/concurrency';
import { definePlugin } from '@trellis/server';
import { z } from 'zod';

/** Something slow that honours its signal, standing in for an HTTP call or a query. */
export type Lookup = (key: string, signal: AbortSignal) => Promise<string>;

/**
 * Looks up many keys at once, eight at a time, each with its own deadline; one slow or failing key
 * does not sink the others, and a client's cancel reaches every lookup through ctx.signal.
 */
export const fanOut = (lookup: Lookup) =>
  definePlugin({
    name: 'fan-out',
    setup(scope) {
      scope.tools.add({
        name: 'lookup_all',
        description: 'Looks up every key; reports the ones that failed',
        input: z.object({ keys: z.array(z.string().min(1)).min(1).max(100) }),
        output: z.object({ found: z.record(z.string(), z.string()), failed: z.array(z.string()) }),
        timeoutMs: 30_000,
        handler: async ({ keys }, ctx) => {
          const tasks = keys.map(
            (key) => (signal: AbortSignal) =>
              withTimeout((inner) => lookup(key, inner), { ms: 2_000, signal, name: `lookup ${key}` }),
          );
          const { ok, failed } = await settleAll(tasks, { concurrency: 8, signal: ctx.signal });
          const found = Object.fromEntries(ok.map(({ index, value }) => [keys[index]!, value]));
          return {
            structuredContent: {
              found,
              failed: failed.map(({ index, error }) => `${keys[index]}: ${(error as Error).message}`),
            },
          };
        },
      });
    },
  });
