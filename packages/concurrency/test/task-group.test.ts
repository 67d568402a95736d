import { describe, expect, it, vi } from 'vitest';
import { ClosedError, TaskGroup, TaskGroupError, runTaskGroup } from '@trellis/concurrency';
import { abortListeners, aborted, deferred, flush, isSettled, untilAborted } from './helpers.ts';

describe('TaskGroup', () => {
  it('returns the results in spawn order, whatever order the children finish in', async () => {
    const group = new TaskGroup<string>();
    const first = deferred<string>();
    const second = deferred<string>();
    group.spawn(() => first.promise);
    group.spawn(() => second.promise);
    group.spawn(() => 'sync');
    second.resolve('b');
    await flush();
    first.resolve('a');
    await expect(group.wait()).resolves.toEqual(['a', 'b', 'sync']);
  });

  it('hands each child its own result through the spawn handle', async () => {
    const group = new TaskGroup();
    const handle = group.spawn(async () => 42);
    await expect(handle).resolves.toBe(42);
    await group.wait();
  });

  it('aborts the siblings of a failing child and reports only the real failure', async () => {
    const group = new TaskGroup();
    const boom = new Error('boom');
    const seen: unknown[] = [];
    group.spawn(async (signal) => {
      seen.push(await aborted(signal));
      throw signal.reason;
    });
    group.spawn(async (signal) => untilAborted(signal));
    group.spawn(() => Promise.reject(boom));
    const error = await group.wait().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskGroupError);
    expect(error).toBeInstanceOf(AggregateError);
    expect((error as TaskGroupError).code).toBe('TASK_GROUP_FAILED');
    expect((error as TaskGroupError).errors).toEqual([boom]);
    expect((error as TaskGroupError).message).toContain('boom');
    expect(group.signal.reason).toBe(boom);
    expect(seen).toEqual([boom]);
  });

  it('reports every failure, including real errors thrown while aborting', async () => {
    const group = new TaskGroup();
    const boom = new Error('boom');
    const cleanup = new Error('cleanup failed');
    group.spawn(async (signal) => {
      await aborted(signal);
      throw cleanup;
    });
    group.spawn(async (signal) => {
      await aborted(signal);
      throw new DOMException('stopped', 'AbortError'); // an echo of the abort, not a failure
    });
    group.spawn(async () => {
      throw boom;
    });
    const error = (await group.wait().catch((e: unknown) => e)) as TaskGroupError;
    expect(error.errors).toEqual([boom, cleanup]);
  });

  it('counts a synchronous throw as a failure', async () => {
    const group = new TaskGroup();
    const handle = group.spawn(() => {
      throw new Error('sync');
    });
    await expect(handle).rejects.toThrow('sync');
    await expect(group.wait()).rejects.toBeInstanceOf(TaskGroupError);
  });

  it('waits for every child to settle before throwing', async () => {
    vi.useFakeTimers();
    const group = new TaskGroup();
    let cleanedUp = false;
    group.spawn(async (signal) => {
      await aborted(signal);
      await new Promise((resolve) => setTimeout(resolve, 100)); // slow clean-up
      cleanedUp = true;
    });
    group.spawn(() => Promise.reject(new Error('boom')));
    const waiting = group.wait();
    waiting.catch(() => {});
    await vi.advanceTimersByTimeAsync(50);
    expect(await isSettled(waiting)).toBe(false);
    await vi.advanceTimersByTimeAsync(50);
    await expect(waiting).rejects.toBeInstanceOf(TaskGroupError);
    expect(cleanedUp).toBe(true);
  });

  it('rejects with the outer reason when the outer signal aborts', async () => {
    const outer = new AbortController();
    const group = new TaskGroup({ signal: outer.signal });
    const reasons: unknown[] = [];
    group.spawn(async (signal) => {
      reasons.push(await aborted(signal));
      throw signal.reason;
    });
    const reason = new Error('client went away');
    outer.abort(reason);
    await expect(group.wait()).rejects.toBe(reason);
    expect(reasons).toEqual([reason]);
  });

  it('rejects with the outer reason even if children ignored the abort', async () => {
    const outer = new AbortController();
    const group = new TaskGroup({ signal: outer.signal });
    group.spawn(async () => 'done anyway');
    outer.abort('stop');
    await expect(group.wait()).rejects.toBe('stop');
  });

  it('does not start children once aborted: their handle rejects with the reason', async () => {
    const outer = new AbortController();
    outer.abort('gone');
    const group = new TaskGroup({ signal: outer.signal });
    const fn = vi.fn(async () => 1);
    expect(group.signal.aborted).toBe(true);
    await expect(group.spawn(fn)).rejects.toBe('gone');
    expect(fn).not.toHaveBeenCalled();
    await expect(group.wait()).rejects.toBe('gone');
  });

  it('propagates an abort to grandchildren through nested groups', async () => {
    const boom = new Error('boom');
    const top = new TaskGroup();
    const grandchildReasons: unknown[] = [];
    top.spawn(async (signal) => {
      const inner = new TaskGroup({ signal });
      inner.spawn(async (innerSignal) => {
        grandchildReasons.push(await aborted(innerSignal));
        throw innerSignal.reason;
      });
      inner.spawn(async (innerSignal) => untilAborted(innerSignal));
      return inner.wait();
    });
    top.spawn(async () => {
      await flush();
      throw boom;
    });
    const error = (await top.wait().catch((e: unknown) => e)) as TaskGroupError;
    expect(error.errors).toEqual([boom]);
    expect(grandchildReasons).toEqual([boom]);
  });

  it('propagates an outer abort down three levels of runTaskGroup', async () => {
    const outer = new AbortController();
    const leaf = deferred<unknown>();
    const running = runTaskGroup(
      (group) =>
        group.spawn((signal) =>
          runTaskGroup(
            (inner) =>
              inner.spawn(async (leafSignal) => {
                leaf.resolve(await aborted(leafSignal));
              }),
            { signal },
          ),
        ),
      { signal: outer.signal },
    );
    outer.abort('shutdown');
    await expect(running).rejects.toBe('shutdown');
    await expect(leaf.promise).resolves.toBe('shutdown');
  });

  it('awaits children spawned while wait() is pending', async () => {
    const group = new TaskGroup<number>();
    const late = deferred<number>();
    group.spawn(async () => {
      await flush();
      group.spawn(() => late.promise);
      return 1;
    });
    const waiting = group.wait();
    await flush(10);
    expect(await isSettled(waiting)).toBe(false);
    late.resolve(2);
    await expect(waiting).resolves.toEqual([1, 2]);
  });

  it('refuses to spawn once wait() has settled', async () => {
    const group = new TaskGroup();
    group.spawn(async () => 1);
    await group.wait();
    expect(() => group.spawn(async () => 2)).toThrow(ClosedError);
    expect(() => group.spawn(async () => 2)).toThrow(/TaskGroup is closed/);
    await expect(group.wait()).resolves.toEqual([1]); // idempotent
  });

  it('leaves no listener on a long-lived outer signal', async () => {
    const shutdown = new AbortController();
    for (let i = 0; i < 100; i++) {
      const group = new TaskGroup({ signal: shutdown.signal });
      group.spawn(async () => i);
      await group.wait();
    }
    expect(abortListeners(shutdown.signal)).toBe(0);
  });
});

describe('runTaskGroup', () => {
  it('returns the body result only after every child settled', async () => {
    const child = deferred<void>();
    let childDone = false;
    const running = runTaskGroup(async (group) => {
      group.spawn(async () => {
        await child.promise;
        childDone = true;
      });
      return 'body';
    });
    expect(await isSettled(running)).toBe(false);
    child.resolve();
    await expect(running).resolves.toBe('body');
    expect(childDone).toBe(true);
  });

  it('aborts the children with the body error and rethrows it as is', async () => {
    const invalid = new Error('invalid input');
    const seen: unknown[] = [];
    const running = runTaskGroup(async (group) => {
      group.spawn(async (signal) => {
        seen.push(await aborted(signal));
        throw signal.reason;
      });
      throw invalid;
    });
    await expect(running).rejects.toBe(invalid);
    expect(seen).toEqual([invalid]);
  });

  it('groups the body error with child failures', async () => {
    const invalid = new Error('invalid input');
    const childError = new Error('child failed');
    const running = runTaskGroup(async (group) => {
      group.spawn(async (signal) => {
        await aborted(signal);
        throw childError;
      });
      throw invalid;
    });
    const error = (await running.catch((e: unknown) => e)) as TaskGroupError;
    expect(error).toBeInstanceOf(TaskGroupError);
    expect(error.errors).toEqual([invalid, childError]);
  });

  it('gives a body that rethrows a child failure the group error', async () => {
    const boom = new Error('boom');
    const running = runTaskGroup(async (group) => {
      const handles = [group.spawn(async () => Promise.reject(boom)), group.spawn((signal) => untilAborted(signal))];
      return Promise.all(handles);
    });
    const error = (await running.catch((e: unknown) => e)) as TaskGroupError;
    expect(error).toBeInstanceOf(TaskGroupError);
    expect(error.errors).toEqual([boom]);
  });

  it('rejects with the outer reason if the outer signal is already aborted', async () => {
    const outer = new AbortController();
    outer.abort('late');
    const body = vi.fn(async (group: TaskGroup) => group.signal.aborted);
    await expect(runTaskGroup(body, { signal: outer.signal })).rejects.toBe('late');
    expect(body).toHaveBeenCalled();
  });
});
