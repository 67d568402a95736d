import { availableParallelism } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { ClosedError, WorkerCrashError, WorkerPool, WorkerStartError } from '@trellis/concurrency';

const fixture = new URL('./fixtures/tasks.mjs', import.meta.url);
const pools: WorkerPool[] = [];

function makePool(size = 1): WorkerPool {
  const pool = new WorkerPool({ filename: fixture, size, name: 'fixture' });
  pools.push(pool);
  return pool;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('WorkerPool', () => {
  it('runs tasks on worker threads', async () => {
    const pool = makePool(2);
    await expect(Promise.all([1, 2, 3].map((n) => pool.run<number>({ op: 'double', n })))).resolves.toEqual([2, 4, 6]);
    const thread = await pool.run<number>({ op: 'thread' });
    expect(thread).toBeGreaterThan(0);
  });

  it('defaults its size to the available parallelism and its name to the module', async () => {
    const pool = new WorkerPool({ filename: fixture.pathname });
    pools.push(pool);
    expect(pool.size).toBe(availableParallelism());
    expect(pool.name).toBe('tasks');
  });

  it('refuses bad options', () => {
    expect(() => new WorkerPool({ filename: '' })).toThrow(TypeError);
    expect(() => new WorkerPool({ filename: fixture, idleTimeoutMs: -1 })).toThrow(
      /^idleTimeoutMs must be a number of milliseconds/,
    );
    expect(() => new WorkerPool({ filename: fixture, size: 0 })).toThrow(/^size must be a positive integer, got 0/);
  });

  it('passes an error thrown by the task through as is (not a crash)', async () => {
    const pool = makePool();
    const before = await pool.run<number>({ op: 'thread' });
    await expect(pool.run({ op: 'fail', n: 1 })).rejects.toThrow('task failed on purpose: 1');
    await expect(pool.run({ op: 'fail', n: 1 })).rejects.not.toBeInstanceOf(WorkerCrashError);
    await expect(pool.run<number>({ op: 'thread' })).resolves.toBe(before);
  });

  it('reports process.exit in a worker as a WorkerCrashError naming the task, and replaces the worker', async () => {
    const pool = makePool();
    const before = await pool.run<number>({ op: 'thread' });
    const error = (await pool.run({ op: 'exit' }, { name: 'render-pdf' }).catch((e: unknown) => e)) as WorkerCrashError;
    expect(error).toBeInstanceOf(WorkerCrashError);
    expect(error.code).toBe('WORKER_CRASHED');
    expect(error.taskName).toBe('render-pdf');
    expect(error.poolName).toBe('fixture');
    expect(error.message).toMatch(/task "render-pdf" in pool "fixture": worker exited with code: 3/);
    const after = await pool.run<number>({ op: 'thread' });
    expect(after).not.toBe(before);
    await expect(pool.run({ op: 'double', n: 21 })).resolves.toBe(42);
  });

  it('reports an uncaught error in a worker as a WorkerCrashError, and keeps working', async () => {
    const pool = makePool();
    const error = (await pool.run({ op: 'uncaught' }, { name: 'parse' }).catch((e: unknown) => e)) as WorkerCrashError;
    expect(error).toBeInstanceOf(WorkerCrashError);
    expect((error.cause as Error).message).toBe('uncaught in worker');
    expect(error.message).toContain('task "parse"');
    await expect(pool.run({ op: 'double', n: 2 })).resolves.toBe(4);
  });

  it('names the crashed task after the pool when the task has no name', async () => {
    const pool = makePool();
    await expect(pool.run({ op: 'exit' })).rejects.toThrow(/task "fixture" in pool "fixture"/);
  });

  it('really stops an aborted task: the busy worker is terminated', async () => {
    const pool = makePool();
    const counter = new SharedArrayBuffer(4);
    const spins = new Int32Array(counter);
    const controller = new AbortController();
    const running = pool.run({ op: 'spin', counter }, { signal: controller.signal });
    while (Atomics.load(spins, 0) === 0) await delay(5); // the loop is running
    const reason = new Error('client cancelled');
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
    // Termination is asynchronous: wait until the count stops moving, then check it stays still.
    let last = -1;
    for (let i = 0; i < 100 && Atomics.load(spins, 0) !== last; i++) {
      last = Atomics.load(spins, 0);
      await delay(20);
    }
    await delay(100);
    expect(Atomics.load(spins, 0)).toBe(last);
    await expect(pool.run({ op: 'double', n: 5 })).resolves.toBe(10);
  });

  it('drops a queued task whose signal aborts, and rejects at once with an aborted signal', async () => {
    const pool = makePool();
    const busy = new AbortController();
    const counter = new SharedArrayBuffer(4);
    const spinning = pool.run({ op: 'spin', counter }, { signal: busy.signal });
    spinning.catch(() => {});
    const queued = new AbortController();
    const waiting = pool.run({ op: 'double', n: 1 }, { signal: queued.signal });
    queued.abort('not needed');
    await expect(waiting).rejects.toBe('not needed');
    busy.abort('done');
    await expect(spinning).rejects.toBe('done');
    await expect(pool.run({ op: 'double', n: 1 }, { signal: AbortSignal.abort('early') })).rejects.toBe('early');
  });

  it('refuses tasks once closed', async () => {
    const pool = makePool();
    await pool.run({ op: 'double', n: 1 });
    await pool.close();
    await expect(pool.run({ op: 'double', n: 1 })).rejects.toBeInstanceOf(ClosedError);
  });

  it.each([
    [
      'throws while it loads',
      'throws-on-load.mjs',
      /worker pool "broken" cannot start a worker: cannot load: a dependency is missing/,
    ],
    [
      'exits while it loads',
      'exits-on-load.mjs',
      /worker pool "broken" cannot start a worker: worker exited with code 7 before it was ready/,
    ],
    ['is missing', 'no-such-module.mjs', /worker pool "broken" cannot start a worker: Cannot find module/],
  ])(
    'rejects every task, queued or later, with a WorkerStartError when its module %s (never a hang)',
    async (_, file, message) => {
      const logged: string[] = [];
      const pool = new WorkerPool({
        filename: new URL(`./fixtures/${file}`, import.meta.url),
        size: 1,
        name: 'broken',
        logger: { error: (_o, msg) => logged.push(msg) },
      });
      pools.push(pool);
      const first = await Promise.allSettled([
        pool.run({ op: 'double', n: 1 }),
        pool.run({ op: 'double', n: 2 }),
        pool.run({ op: 'double', n: 3 }),
      ]);
      for (const outcome of first) {
        expect(outcome.status).toBe('rejected');
        const error = (outcome as PromiseRejectedResult).reason as WorkerStartError;
        expect(error).toBeInstanceOf(WorkerStartError);
        expect(error.code).toBe('WORKER_START_FAILED');
        expect(error.message).toMatch(message);
      }
      await expect(pool.run({ op: 'double', n: 4 })).rejects.toBeInstanceOf(WorkerStartError);
      expect(logged).toHaveLength(1);
      await pool.close();
    },
  );

  it('starts threads on demand, up to its size', async () => {
    const pool = makePool(2);
    const threads = new Set(await Promise.all([1, 2, 3, 4].map(() => pool.run<number>({ op: 'thread' }))));
    expect(threads.size).toBeGreaterThanOrEqual(1);
    expect(threads.size).toBeLessThanOrEqual(2);
  });
});
