import { describe, expect, it, vi } from 'vitest';
import { BackgroundTasks, ClosedError, TimeoutError, type TaskLogger } from '@trellis/concurrency';
import { aborted, deferred, flush, isSettled } from './helpers.ts';

type LogFn = (obj: object, msg: string) => void;

function fakeLogger() {
  return { error: vi.fn<LogFn>(), warn: vi.fn<LogFn>() } satisfies TaskLogger;
}

describe('BackgroundTasks', () => {
  it('tracks running tasks', async () => {
    const tasks = new BackgroundTasks({ logger: fakeLogger() });
    const gate = deferred();
    tasks.spawn('a', () => gate.promise);
    tasks.spawn('b', async () => {});
    expect(tasks.size).toBe(2);
    await flush();
    expect(tasks.size).toBe(1);
    gate.resolve();
    await flush();
    expect(tasks.size).toBe(0);
  });

  it('logs a failure with the task name instead of an unhandled rejection', async () => {
    const logger = fakeLogger();
    const tasks = new BackgroundTasks({ logger });
    const boom = new Error('smtp down');
    tasks.spawn('notify-user', async () => {
      throw boom;
    });
    tasks.spawn('sync-throw', () => {
      throw new Error('sync');
    });
    await flush();
    expect(logger.error).toHaveBeenCalledWith(
      { err: boom, task: 'notify-user' },
      'background task "notify-user" failed',
    );
    expect(logger.error).toHaveBeenCalledWith(
      expect.objectContaining({ task: 'sync-throw' }),
      'background task "sync-throw" failed',
    );
    expect(tasks.size).toBe(0);
  });

  it('falls back to process warnings without a logger', async () => {
    const emit = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      new BackgroundTasks().spawn('orphan', async () => {
        throw new Error('lost?');
      });
      await flush();
      expect(emit).toHaveBeenCalledWith('background task "orphan" failed: lost?', { code: 'TRELLIS_CONCURRENCY' });
    } finally {
      emit.mockRestore();
    }
  });

  it('drain waits for running tasks that finish before the deadline', async () => {
    vi.useFakeTimers();
    const logger = fakeLogger();
    const tasks = new BackgroundTasks({ logger });
    let finished = false;
    tasks.spawn('flush-log', async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      finished = true;
    });
    const draining = tasks.drain({ timeoutMs: 1000 });
    await vi.advanceTimersByTimeAsync(300);
    await expect(draining).resolves.toEqual({ aborted: [], abandoned: [] });
    expect(finished).toBe(true);
    expect(logger.warn).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('drain aborts the tasks still running at the deadline and waits for them to settle', async () => {
    vi.useFakeTimers();
    const logger = fakeLogger();
    const tasks = new BackgroundTasks({ logger });
    const reasons: unknown[] = [];
    tasks.spawn('reindex', async (signal) => {
      reasons.push(await aborted(signal));
      await new Promise((resolve) => setTimeout(resolve, 50)); // clean-up takes a while
      throw signal.reason;
    });
    tasks.spawn('quick', async () => {});
    const draining = tasks.drain({ timeoutMs: 1000 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toBeInstanceOf(TimeoutError);
    expect(await isSettled(draining)).toBe(false);
    await vi.advanceTimersByTimeAsync(50);
    await expect(draining).resolves.toEqual({ aborted: ['reindex'], abandoned: [] });
    expect(logger.warn).toHaveBeenCalledWith(
      { tasks: ['reindex'], timeoutMs: 1000 },
      expect.stringContaining('aborting 1 background task'),
    );
    expect(logger.error).not.toHaveBeenCalled(); // the abort echo is not a failure
    expect(tasks.size).toBe(0);
  });

  it('drain is bounded even when a task ignores its signal', async () => {
    vi.useFakeTimers();
    const logger = fakeLogger();
    const tasks = new BackgroundTasks({ logger });
    const never = deferred();
    tasks.spawn('stubborn', () => never.promise);
    const draining = tasks.drain({ timeoutMs: 100, graceMs: 200 });
    await vi.advanceTimersByTimeAsync(300);
    await expect(draining).resolves.toEqual({ aborted: ['stubborn'], abandoned: ['stubborn'] });
    expect(logger.error).toHaveBeenCalledWith(
      { tasks: ['stubborn'], graceMs: 200 },
      expect.stringContaining('abandoning 1'),
    );
    never.reject(new Error('finally gave up')); // still tracked: logged, not unhandled
    await flush();
    expect(logger.error).toHaveBeenLastCalledWith(
      expect.objectContaining({ task: 'stubborn' }),
      'background task "stubborn" failed',
    );
  });

  it('refuses new tasks once drain began, and drain is idempotent', async () => {
    const tasks = new BackgroundTasks({ logger: fakeLogger() });
    const first = tasks.drain({ timeoutMs: 10 });
    expect(() => tasks.spawn('late', async () => {})).toThrow(ClosedError);
    expect(tasks.drain({ timeoutMs: 99 })).toBe(first);
    await first;
  });

  it('refuses bad drain options', () => {
    const tasks = new BackgroundTasks({ logger: fakeLogger() });
    expect(() => tasks.drain({ timeoutMs: -5 })).toThrow(/^timeoutMs must be/);
    expect(() => tasks.drain({ timeoutMs: 5, graceMs: Number.NaN })).toThrow(/^graceMs must be/);
  });
});
