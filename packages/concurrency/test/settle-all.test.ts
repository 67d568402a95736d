import { describe, expect, it } from 'vitest';
import { settleAll } from '@trellis/concurrency';
import { aborted, deferred, flush } from './helpers.ts';

describe('settleAll', () => {
  it('reports successes and failures with the index of their input, and never rejects for them', async () => {
    const bad = new Error('bad 1');
    const result = await settleAll<string>([
      async () => 'zero',
      () => Promise.reject(bad),
      () => {
        throw new Error('sync 2');
      },
      () => 'three',
    ]);
    expect(result.ok).toEqual([
      { index: 0, value: 'zero' },
      { index: 3, value: 'three' },
    ]);
    expect(result.failed.map((f) => f.index)).toEqual([1, 2]);
    expect(result.failed[0]!.error).toBe(bad);
  });

  it('sorts by index whatever the completion order', async () => {
    const gates = [deferred<number>(), deferred<number>(), deferred<number>()];
    const running = settleAll(gates.map((g) => () => g.promise));
    gates[2]!.resolve(2);
    await flush();
    gates[1]!.reject(new Error('one'));
    await flush();
    gates[0]!.resolve(0);
    const { ok, failed } = await running;
    expect(ok).toEqual([
      { index: 0, value: 0 },
      { index: 2, value: 2 },
    ]);
    expect(failed.map((f) => f.index)).toEqual([1]);
  });

  it('keeps at most `concurrency` tasks in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const tasks = Array.from({ length: 20 }, (_, i) => async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await flush(i % 3);
      inFlight--;
      return i;
    });
    const { ok } = await settleAll(tasks, { concurrency: 3 });
    expect(peak).toBe(3);
    expect(ok).toHaveLength(20);
  });

  it('handles no tasks', async () => {
    await expect(settleAll([])).resolves.toEqual({ ok: [], failed: [] });
  });

  it('refuses a bad concurrency', async () => {
    await expect(settleAll([], { concurrency: 0 })).rejects.toThrow(
      /^concurrency must be a positive integer or Infinity/,
    );
  });

  it('on abort starts nothing more, awaits the running tasks, then rejects with the reason', async () => {
    const controller = new AbortController();
    const started: number[] = [];
    let settledRunning = 0;
    const tasks = Array.from({ length: 5 }, (_, i) => async (signal: AbortSignal) => {
      started.push(i);
      await aborted(signal);
      await flush();
      settledRunning++;
      throw signal.reason;
    });
    const running = settleAll(tasks, { concurrency: 2, signal: controller.signal });
    await flush();
    controller.abort('stop');
    await expect(running).rejects.toBe('stop');
    expect(started).toEqual([0, 1]);
    expect(settledRunning).toBe(2);
  });

  it('rejects at once with an already aborted signal', async () => {
    let called = false;
    const task = async (): Promise<void> => {
      called = true;
    };
    await expect(settleAll([task], { signal: AbortSignal.abort('no') })).rejects.toBe('no');
    expect(called).toBe(false);
  });
});
