import { describe, expect, it, vi } from 'vitest';
import { TimeoutError, anySignal, sleep, withTimeout } from '@trellis/concurrency';
import { abortListeners, aborted, isSettled, untilAborted } from './helpers.ts';

describe('withTimeout', () => {
  it('resolves with the result and clears its timer', async () => {
    vi.useFakeTimers();
    await expect(withTimeout(async () => 'fast', { ms: 1000 })).resolves.toBe('fast');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('aborts the signal given to fn and rejects with a TimeoutError naming the limit', async () => {
    vi.useFakeTimers();
    let seen: unknown;
    const running = withTimeout(
      async (signal) => {
        seen = await aborted(signal);
        return 'too late';
      },
      { ms: 1000, name: 'search' },
    );
    running.catch(() => {});
    await vi.advanceTimersByTimeAsync(999);
    expect(await isSettled(running)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = (await running.catch((e: unknown) => e)) as TimeoutError;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.message).toBe('search timed out after 1000 ms');
    expect([error.code, error.limitMs, error.operation]).toEqual(['TIMEOUT', 1000, 'search']);
    expect(seen).toBe(error);
  });

  it('names an anonymous operation', async () => {
    vi.useFakeTimers();
    const running = withTimeout((signal) => untilAborted(signal), { ms: 5 });
    const check = expect(running).rejects.toThrow('operation timed out after 5 ms');
    await vi.advanceTimersByTimeAsync(5);
    await check;
  });

  it('rejects with the outer reason when the outer signal aborts first', async () => {
    vi.useFakeTimers();
    const outer = new AbortController();
    let seen: unknown;
    const running = withTimeout(
      async (signal) => {
        seen = await aborted(signal);
      },
      { ms: 1000, signal: outer.signal },
    );
    const reason = new Error('cancelled by client');
    outer.abort(reason);
    await expect(running).rejects.toBe(reason);
    expect(seen).toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('does not call fn when the outer signal is already aborted', async () => {
    const fn = vi.fn(async () => 1);
    await expect(withTimeout(fn, { ms: 10, signal: AbortSignal.abort('gone') })).rejects.toBe('gone');
    expect(fn).not.toHaveBeenCalled();
  });

  it('passes on a failure of fn, including a synchronous throw', async () => {
    await expect(withTimeout(() => Promise.reject(new Error('bad')), { ms: 10 })).rejects.toThrow('bad');
    await expect(
      withTimeout(
        () => {
          throw new Error('sync');
        },
        { ms: 10 },
      ),
    ).rejects.toThrow('sync');
  });

  it('drops a late rejection of fn without an unhandled rejection', async () => {
    vi.useFakeTimers();
    const running = withTimeout(
      async (signal) => {
        await aborted(signal);
        await Promise.resolve();
        throw new Error('late failure');
      },
      { ms: 10 },
    );
    const check = expect(running).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(10);
    await check;
  });

  it.each([-1, Number.NaN, Infinity, 2 ** 31])('refuses ms %s', (ms) => {
    expect(() => withTimeout(async () => 1, { ms })).toThrow(/^ms must be a number of milliseconds/);
  });

  it('leaves no listener on a long-lived outer signal', async () => {
    const shutdown = new AbortController();
    for (let i = 0; i < 1000; i++) await withTimeout(async () => i, { ms: 1000, signal: shutdown.signal });
    expect(abortListeners(shutdown.signal)).toBe(0);
  });
});

describe('sleep', () => {
  it('resolves after the delay', async () => {
    vi.useFakeTimers();
    const sleeping = sleep(100);
    await vi.advanceTimersByTimeAsync(99);
    expect(await isSettled(sleeping)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await sleeping;
  });

  it('rejects with the abort reason and clears its timer', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const sleeping = sleep(100, { signal: controller.signal });
    controller.abort('wake up');
    await expect(sleeping).rejects.toBe('wake up');
    expect(vi.getTimerCount()).toBe(0);
    await expect(sleep(1, { signal: controller.signal })).rejects.toBe('wake up');
  });
});

describe('anySignal', () => {
  it('aborts with the reason of the first input to abort, and unlinks the others', () => {
    const a = new AbortController();
    const b = new AbortController();
    const { signal } = anySignal([a.signal, undefined, b.signal]);
    expect(signal.aborted).toBe(false);
    b.abort('b first');
    a.abort('a second');
    expect(signal.reason).toBe('b first');
    expect(abortListeners(a.signal)).toBe(0);
  });

  it('is aborted at once when an input already is', () => {
    const live = new AbortController();
    const { signal } = anySignal([live.signal, AbortSignal.abort('done')]);
    expect(signal.reason).toBe('done');
    expect(abortListeners(live.signal)).toBe(0);
  });

  it('never aborts without inputs', () => {
    expect(anySignal([]).signal.aborted).toBe(false);
  });

  it('leaves nothing attached to a long-lived signal once disposed (unlike AbortSignal.any on Node 20)', () => {
    const shutdown = new AbortController();
    for (let i = 0; i < 10_000; i++) {
      const request = new AbortController();
      const link = anySignal([shutdown.signal, request.signal]);
      link.dispose();
      link.dispose();
    }
    expect(abortListeners(shutdown.signal)).toBe(0);
    const dependants = Object.getOwnPropertySymbols(shutdown.signal).find((s) => s.description === 'kDependantSignals');
    const held = dependants
      ? (shutdown.signal as unknown as Record<symbol, Set<unknown> | undefined>)[dependants]
      : undefined;
    expect(held?.size ?? 0).toBe(0);
  });
});
