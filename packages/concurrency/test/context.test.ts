import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { Semaphore, TaskGroup, TtlCache, runTaskGroup, settleAll } from '@trellis/concurrency';
import { deferred, flush } from './helpers.ts';

const requestId = new AsyncLocalStorage<string>();

describe('AsyncLocalStorage context', () => {
  it('survives the semaphore queue: each waiter resumes in its own context', async () => {
    const sem = new Semaphore(1);
    const gate = deferred();
    const holder = requestId.run('holder', () => sem.run(() => gate.promise.then(() => requestId.getStore())));
    const waiters = ['a', 'b', 'c'].map((id) =>
      requestId.run(id, () =>
        sem.run(async () => {
          await flush();
          return requestId.getStore();
        }),
      ),
    );
    expect(sem.pending).toBe(3);
    gate.resolve();
    await expect(holder).resolves.toBe('holder');
    await expect(Promise.all(waiters)).resolves.toEqual(['a', 'b', 'c']);
  });

  it('survives acquire(): the code after the await sees its own context', async () => {
    const sem = new Semaphore(1);
    const release = await sem.acquire();
    const seen = requestId.run('queued', async () => {
      const next = await sem.acquire();
      next();
      return requestId.getStore();
    });
    requestId.run('other', release);
    await expect(seen).resolves.toBe('queued');
  });

  it('survives the task group: children run in the context that spawned them', async () => {
    const result = await requestId.run('req-1', () =>
      runTaskGroup(async (group) => {
        const inner = new TaskGroup({ signal: group.signal });
        group.spawn(async () => {
          await flush();
          return requestId.getStore();
        });
        const fromGrandchild = group.spawn(async () => {
          inner.spawn(async () => requestId.getStore());
          return inner.wait();
        });
        return fromGrandchild;
      }),
    );
    expect(result).toEqual(['req-1']);
  });

  it('survives settleAll with a concurrency limit', async () => {
    const { ok } = await requestId.run('batch', () =>
      settleAll(
        Array.from({ length: 6 }, () => async () => {
          await flush();
          return requestId.getStore();
        }),
        { concurrency: 2 },
      ),
    );
    expect(ok.map((r) => r.value)).toEqual(Array(6).fill('batch'));
  });

  it('runs a shared cache computation in the first caller context', async () => {
    const cache = new TtlCache<string, string | undefined>({ ttlMs: 1000, maxEntries: 10 });
    const compute = async (): Promise<string | undefined> => {
      await flush();
      return requestId.getStore();
    };
    const [first, second] = await Promise.all([
      requestId.run('first', () => cache.get('k', compute)),
      requestId.run('second', () => cache.get('k', compute)),
    ]);
    expect([first, second]).toEqual(['first', 'first']);
  });
});
