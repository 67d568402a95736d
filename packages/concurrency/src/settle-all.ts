import { assertLimit } from './validate.js';

/** Options of {@link settleAll}. */
export interface SettleAllOptions {
  /** At most this many tasks run at once; default Infinity (all at once). */
  concurrency?: number;
  /** Passed to every task; once aborted, no further task starts (see {@link settleAll}). */
  signal?: AbortSignal;
}

/**
 * What {@link settleAll} resolves with: the successes and the failures, each sorted by the
 * index of its task in the input, so no result loses track of the input it came from.
 */
export interface SettleAllResult<T> {
  ok: Array<{ index: number; value: T }>;
  failed: Array<{ index: number; error: unknown }>;
}

/**
 * Runs every task and reports partial results (Python: `asyncio.gather(...,
 * return_exceptions=True)`, keeping the index of each failure). Never rejects because a task
 * failed. If `signal` aborts, tasks not yet started are skipped, the running ones are awaited
 * (they received the signal), and the promise rejects with the abort reason.
 *
 * @example
 * const { ok, failed } = await settleAll(ids.map((id) => (signal) => fetchItem(id, { signal })), {
 *   concurrency: 8, signal: ctx.signal,
 * });
 * for (const { index, error } of failed) logger.warn({ id: ids[index], err: error }, 'fetch failed');
 */
export async function settleAll<T>(
  tasks: ReadonlyArray<(signal: AbortSignal) => Promise<T> | T>,
  options: SettleAllOptions = {},
): Promise<SettleAllResult<T>> {
  const { concurrency = Infinity, signal } = options;
  assertLimit('concurrency', concurrency);
  signal?.throwIfAborted();
  const taskSignal = signal ?? new AbortController().signal;
  const ok: SettleAllResult<T>['ok'] = [];
  const failed: SettleAllResult<T>['failed'] = [];
  let next = 0;
  const runner = async (): Promise<void> => {
    while (next < tasks.length && !taskSignal.aborted) {
      const index = next++;
      try {
        ok.push({ index, value: await tasks[index]!(taskSignal) });
      } catch (error) {
        failed.push({ index, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, runner));
  signal?.throwIfAborted();
  ok.sort((a, b) => a.index - b.index);
  failed.sort((a, b) => a.index - b.index);
  return { ok, failed };
}
