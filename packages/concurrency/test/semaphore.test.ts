import { describe, expect, it, vi } from 'vitest';
import { KeyedSemaphore, Semaphore, SemaphoreTimeoutError } from '@trellis/concurrency';
import { abortListeners, deferred, flush, isSettled } from './helpers.ts';

describe('Semaphore', () => {
  it.each([0, -1, 1.5, Number.NaN, '2', undefined])('refuses limit %s at construction', (limit) => {
    expect(() => new Semaphore(limit as number)).toThrow(TypeError);
    expect(() => new Semaphore(limit as number)).toThrow(/^limit must be a positive integer or Infinity, got /);
  });

  it('accepts Infinity as "no limit"', async () => {
    const sem = new Semaphore(Infinity);
    const releases = await Promise.all(Array.from({ length: 1000 }, () => sem.acquire()));
    expect(sem.active).toBe(1000);
    for (const release of releases) release();
    expect(sem.active).toBe(0);
  });

  it('lets at most `limit` holders run and serves waiters first in, first out', async () => {
    const sem = new Semaphore(2);
    const gates = Array.from({ length: 5 }, () => deferred());
    const started: number[] = [];
    const runs = gates.map((gate, i) =>
      sem.run(async () => {
        started.push(i);
        await gate.promise;
        return i;
      }),
    );
    await flush();
    expect(started).toEqual([0, 1]);
    expect([sem.active, sem.pending]).toEqual([2, 3]);
    gates[1]!.resolve();
    await flush();
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.resolve();
    await flush();
    expect(started).toEqual([0, 1, 2, 3]);
    for (const gate of gates) gate.resolve();
    await expect(Promise.all(runs)).resolves.toEqual([0, 1, 2, 3, 4]);
    expect([sem.active, sem.pending]).toEqual([0, 0]);
  });

  it('has an idempotent release', async () => {
    const sem = new Semaphore(1);
    const release = await sem.acquire();
    const waiter = sem.acquire();
    const third = sem.acquire();
    release();
    release();
    await waiter;
    expect([sem.active, sem.pending]).toEqual([1, 1]);
    expect(await isSettled(third)).toBe(false);
    (await waiter)();
    (await third)();
  });

  it('tryAcquirePermit takes a permit without a release function; releasePermit hands it to the next waiter', async () => {
    const sem = new Semaphore(1);
    expect(sem.tryAcquirePermit()).toBe(true);
    expect(sem.tryAcquirePermit()).toBe(false);
    expect(sem.active).toBe(1);
    const waiting = sem.acquire();
    expect(await isSettled(waiting)).toBe(false);
    sem.releasePermit();
    const release = await waiting;
    expect(sem.active).toBe(1);
    // A waiter queued ahead keeps its turn: no permit is taken past it.
    const next = sem.acquire();
    expect(sem.tryAcquirePermit()).toBe(false);
    release();
    (await next)();
    expect(sem.active).toBe(0);
    expect(() => sem.releasePermit()).toThrow(/without a permit held/);
  });

  it('releases the permit when the task throws', async () => {
    const sem = new Semaphore(1);
    await expect(sem.run(() => Promise.reject(new Error('nope')))).rejects.toThrow('nope');
    await expect(
      sem.run(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(sem.active).toBe(0);
  });

  it('removes an aborted waiter from the queue and rejects it with the reason', async () => {
    const sem = new Semaphore(1);
    const release = await sem.acquire();
    const controller = new AbortController();
    const leaving = sem.acquire({ signal: controller.signal });
    const staying = sem.acquire();
    expect(sem.pending).toBe(2);
    controller.abort(new Error('caller left'));
    await expect(leaving).rejects.toThrow('caller left');
    expect(sem.pending).toBe(1);
    release();
    const next = await staying;
    expect(sem.active).toBe(1);
    next();
    expect(abortListeners(controller.signal)).toBe(0);
  });

  it('rejects at once when the signal is already aborted, even with free permits', async () => {
    const sem = new Semaphore(3);
    await expect(sem.acquire({ signal: AbortSignal.abort('early') })).rejects.toBe('early');
    expect(sem.active).toBe(0);
  });

  it('gives up after timeoutMs with a SemaphoreTimeoutError', async () => {
    vi.useFakeTimers();
    const sem = new Semaphore(1);
    const release = await sem.acquire();
    const waiting = sem.acquire({ timeoutMs: 250 });
    waiting.catch(() => {});
    await vi.advanceTimersByTimeAsync(249);
    expect(await isSettled(waiting)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = (await waiting.catch((e: unknown) => e)) as SemaphoreTimeoutError;
    expect(error).toBeInstanceOf(SemaphoreTimeoutError);
    expect(error.code).toBe('SEMAPHORE_TIMEOUT');
    expect(error.limitMs).toBe(250);
    expect(error.waitedMs).toBe(250);
    expect(error.message).toMatch(/within 250 ms/);
    expect(sem.pending).toBe(0);
    release();
    expect(sem.active).toBe(0);
  });

  it('clears the wait timer once the permit is granted', async () => {
    vi.useFakeTimers();
    const sem = new Semaphore(1);
    const release = await sem.acquire();
    const waiting = sem.acquire({ timeoutMs: 1000 });
    expect(vi.getTimerCount()).toBe(1);
    release();
    (await waiting)();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refuses a bad timeoutMs', () => {
    const sem = new Semaphore(1);
    expect(() => sem.acquire({ timeoutMs: -1 })).toThrow(/^timeoutMs must be a number of milliseconds/);
    expect(() => sem.acquire({ timeoutMs: Infinity })).toThrow(TypeError);
  });

  it('resolves onIdle() once nothing holds or waits', async () => {
    const sem = new Semaphore(1);
    await sem.onIdle();
    const gate = deferred();
    const a = sem.run(() => gate.promise);
    const b = sem.run(async () => {});
    const idle = sem.onIdle();
    expect(await isSettled(idle)).toBe(false);
    gate.resolve();
    await Promise.all([a, b, idle]);
    expect([sem.active, sem.pending]).toEqual([0, 0]);
  });

  it('resolves onIdle() when the last waiter leaves by abort', async () => {
    const sem = new Semaphore(1);
    const release = await sem.acquire();
    const controller = new AbortController();
    sem.acquire({ signal: controller.signal }).catch(() => {});
    const idle = sem.onIdle();
    controller.abort();
    release();
    await idle;
  });

  it('stays correct when many waiters abort (queue compaction)', async () => {
    const sem = new Semaphore(1);
    const release = await sem.acquire();
    const controllers = Array.from({ length: 3000 }, () => new AbortController());
    const waits = controllers.map((c) => sem.acquire({ signal: c.signal }));
    for (const w of waits) w.catch(() => {});
    const last = sem.acquire();
    for (const c of controllers.slice(0, 2999)) c.abort();
    expect(sem.pending).toBe(2);
    release();
    (await waits[2999]!)();
    (await last)();
    expect([sem.active, sem.pending]).toEqual([0, 0]);
  });
});

describe('KeyedSemaphore', () => {
  it('refuses a bad limitPerKey', () => {
    expect(() => new KeyedSemaphore(0)).toThrow(/^limitPerKey must be a positive integer/);
  });

  it('limits each key on its own', async () => {
    const perHost = new KeyedSemaphore(1);
    const releaseA = await perHost.acquire('a.example');
    const secondA = perHost.acquire('a.example');
    const firstB = perHost.acquire('b.example');
    expect(await isSettled(secondA)).toBe(false);
    expect(await isSettled(firstB)).toBe(true);
    expect(perHost.size).toBe(2);
    releaseA();
    (await secondA)();
    (await firstB)();
  });

  it('frees a key once nothing holds or waits on it', async () => {
    const perHost = new KeyedSemaphore(2);
    await perHost.run('a', async () => {
      expect(perHost.size).toBe(1);
    });
    expect(perHost.size).toBe(0);
    const release = await perHost.acquire('b');
    release();
    release();
    expect(perHost.size).toBe(0);
  });

  it('frees a key whose only waiter aborted or timed out', async () => {
    vi.useFakeTimers();
    const perKey = new KeyedSemaphore(1);
    const release = await perKey.acquire('k');
    const controller = new AbortController();
    const aborted = perKey.acquire('k', { signal: controller.signal });
    const timedOut = perKey.acquire('k', { timeoutMs: 10 });
    controller.abort('bye');
    await expect(aborted).rejects.toBe('bye');
    const timeout = expect(timedOut).rejects.toBeInstanceOf(SemaphoreTimeoutError);
    await vi.advanceTimersByTimeAsync(10);
    await timeout;
    expect(perKey.size).toBe(1);
    release();
    expect(perKey.size).toBe(0);
  });

  it('keeps a key while a released permit passes to its next waiter', async () => {
    const perKey = new KeyedSemaphore(1);
    const release = await perKey.acquire('k');
    const next = perKey.acquire('k');
    release();
    expect(perKey.size).toBe(1);
    (await next)();
    expect(perKey.size).toBe(0);
  });
});

describe('Semaphore.tryAcquire', () => {
  it('takes a free permit at once and refuses when full or when others queue', async () => {
    const sem = new Semaphore(1);
    const release = sem.tryAcquire();
    expect(release).toBeTypeOf('function');
    expect(sem.active).toBe(1);
    expect(sem.tryAcquire()).toBeUndefined();
    const waiting = sem.acquire();
    release!();
    // The queued waiter gets the permit first; tryAcquire does not jump the queue.
    expect(sem.tryAcquire()).toBeUndefined();
    (await waiting)();
    expect(sem.active).toBe(0);
    expect(sem.tryAcquire()).toBeTypeOf('function');
  });
});
