import { describe, expect, it, vi } from 'vitest';
import { TtlCache } from '@trellis/concurrency';
import { aborted, deferred, flush } from './helpers.ts';

function clock(): { now: () => number; advance(ms: number): void } {
  let t = 0;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('TtlCache', () => {
  it('refuses bad options', () => {
    expect(() => new TtlCache({ ttlMs: 0, maxEntries: 1 })).toThrow(/^ttlMs must be a positive number/);
    expect(() => new TtlCache({ ttlMs: 10, maxEntries: 0 })).toThrow(/^maxEntries must be a positive integer/);
  });

  it('shares one computation between concurrent callers (single-flight)', async () => {
    const cache = new TtlCache<string, number>({ ttlMs: 1000, maxEntries: 10 });
    const gate = deferred<number>();
    const compute = vi.fn(() => gate.promise);
    const a = cache.get('k', compute);
    const b = cache.get('k', compute);
    expect(compute).toHaveBeenCalledTimes(1);
    gate.resolve(7);
    await expect(Promise.all([a, b])).resolves.toEqual([7, 7]);
    await expect(cache.get('k', compute)).resolves.toBe(7);
    expect(compute).toHaveBeenCalledTimes(1);
    expect(cache.size).toBe(1);
  });

  it('expires values after ttlMs', async () => {
    const time = clock();
    const cache = new TtlCache<string, number>({ ttlMs: 100, maxEntries: 10, now: time.now });
    let n = 0;
    const compute = async (): Promise<number> => ++n;
    await expect(cache.get('k', compute)).resolves.toBe(1);
    time.advance(99);
    await expect(cache.get('k', compute)).resolves.toBe(1);
    time.advance(1);
    expect(cache.size).toBe(0);
    await expect(cache.get('k', compute)).resolves.toBe(2);
  });

  it('works with fake timers through the default clock', async () => {
    vi.useFakeTimers();
    const cache = new TtlCache<string, number>({ ttlMs: 50, maxEntries: 10 });
    let n = 0;
    await cache.get('k', async () => ++n);
    vi.advanceTimersByTime(50);
    await expect(cache.get('k', async () => ++n)).resolves.toBe(2);
  });

  it('does not cache failures', async () => {
    const cache = new TtlCache<string, number>({ ttlMs: 1000, maxEntries: 10 });
    await expect(cache.get('k', () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    await expect(
      cache.get('k', () => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(cache.size).toBe(0);
    await expect(cache.get('k', async () => 3)).resolves.toBe(3);
  });

  it('evicts the least recently used value beyond maxEntries', async () => {
    const cache = new TtlCache<string, string>({ ttlMs: 1000, maxEntries: 2 });
    await cache.get('a', async () => 'a');
    await cache.get('b', async () => 'b');
    await cache.get('a', async () => 'stale'); // touches a
    await cache.get('c', async () => 'c'); // evicts b
    expect(cache.size).toBe(2);
    await expect(cache.get('a', async () => 'recomputed')).resolves.toBe('a');
    await expect(cache.get('b', async () => 'recomputed')).resolves.toBe('recomputed');
  });

  it('evicts expired values before fresh ones', async () => {
    const time = clock();
    const cache = new TtlCache<string, string>({ ttlMs: 100, maxEntries: 2, now: time.now });
    await cache.get('old', async () => 'old');
    time.advance(60);
    await cache.get('a', async () => 'a');
    await cache.get('old', async () => 'x'); // fresh hit: 'old' becomes most recently used
    time.advance(50); // 'old' expired, 'a' still fresh
    await cache.get('b', async () => 'b');
    await expect(cache.get('a', async () => 'recomputed')).resolves.toBe('a');
  });

  it('keeps the shared computation going when one caller aborts while another waits', async () => {
    const cache = new TtlCache<string, number>({ ttlMs: 1000, maxEntries: 10 });
    const gate = deferred<number>();
    let computeSignal: AbortSignal | undefined;
    const compute = (signal: AbortSignal): Promise<number> => {
      computeSignal = signal;
      return gate.promise;
    };
    const leaving = new AbortController();
    const a = cache.get('k', compute, { signal: leaving.signal });
    const b = cache.get('k', compute, { signal: new AbortController().signal });
    leaving.abort('caller a left');
    await expect(a).rejects.toBe('caller a left');
    expect(computeSignal!.aborted).toBe(false);
    gate.resolve(5);
    await expect(b).resolves.toBe(5);
    await expect(cache.get('k', compute)).resolves.toBe(5);
  });

  it('aborts the computation once every caller has left, and the next get starts afresh', async () => {
    const cache = new TtlCache<string, string>({ ttlMs: 1000, maxEntries: 10 });
    const one = new AbortController();
    const two = new AbortController();
    let reason: unknown;
    const slow = async (signal: AbortSignal): Promise<string> => {
      reason = await aborted(signal);
      throw signal.reason;
    };
    const a = cache.get('k', slow, { signal: one.signal });
    const b = cache.get('k', slow, { signal: two.signal });
    one.abort('one');
    two.abort('two');
    await expect(a).rejects.toBe('one');
    await expect(b).rejects.toBe('two');
    await flush();
    expect(reason).toBe('two');
    await expect(cache.get('k', async () => 'fresh')).resolves.toBe('fresh');
  });

  it('rejects at once with an aborted signal', async () => {
    const cache = new TtlCache<string, number>({ ttlMs: 1000, maxEntries: 10 });
    const compute = vi.fn(async () => 1);
    await expect(cache.get('k', compute, { signal: AbortSignal.abort('no') })).rejects.toBe('no');
    expect(compute).not.toHaveBeenCalled();
  });

  it('delete and clear forget values, and a computation in flight is not stored', async () => {
    const cache = new TtlCache<string, number>({ ttlMs: 1000, maxEntries: 10 });
    await cache.get('a', async () => 1);
    await cache.get('b', async () => 2);
    expect(cache.delete('a')).toBe(true);
    expect(cache.delete('a')).toBe(false);
    expect(cache.size).toBe(1);
    cache.clear();
    expect(cache.size).toBe(0);
    const gate = deferred<number>();
    const inFlight = cache.get('c', () => gate.promise);
    expect(cache.delete('c')).toBe(true);
    gate.resolve(3);
    await expect(inFlight).resolves.toBe(3); // its caller still gets the answer
    await expect(cache.get('c', async () => 4)).resolves.toBe(4);
  });
});
