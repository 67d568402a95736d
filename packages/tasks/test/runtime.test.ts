import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryTaskStore, TaskRuntime, type RoundRunner, type TaskCall, type TaskSignal } from '../src/index.js';

const runtimes: TaskRuntime[] = [];
afterEach(async () => {
  for (const runtime of runtimes.splice(0)) await runtime.shutdown('test over');
});

function runtime(maxLiveTasks = 10) {
  const created = new TaskRuntime({
    store: new MemoryTaskStore(),
    maxLiveTasks,
    logger: pino({ level: 'silent' }),
    statusWriteIntervalMs: 10,
  });
  runtimes.push(created);
  return created;
}

function call(run: RoundRunner, overrides: Partial<TaskCall> = {}): TaskCall {
  return {
    tool: 'job',
    arguments: {},
    owner: null,
    ttlMs: 60_000,
    pollIntervalMs: 100,
    detachAfterMs: 50,
    requestSignal: new AbortController().signal,
    inputResponses: undefined,
    requestState: undefined,
    run,
    ...overrides,
  };
}

const until = async (check: () => Promise<boolean>, ms = 5_000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('TaskRuntime', () => {
  it('answers inline when the handler is done within detachAfterMs, and leaves no task behind', async () => {
    const tasks = runtime();
    const answer = await tasks.call(call(async () => ({ kind: 'result', result: { content: [] } })));
    expect(answer).toEqual({ kind: 'inline', outcome: { kind: 'result', result: { content: [] } } });
    expect(await tasks.store.countLive()).toBe(0);
  });

  it('detaches a call still running, keeps the same handler running, and records its progress and result', async () => {
    const tasks = runtime();
    let finish!: () => void;
    const answer = await tasks.call(
      call(async (round) => {
        round.progress({ progress: 1, total: 2 });
        await new Promise<void>((r) => (finish = r));
        round.progress({ message: 'almost' });
        return { kind: 'result', result: { content: [{ type: 'text', text: 'done' }] } };
      }),
    );
    expect(answer.kind).toBe('task');
    const id = answer.kind === 'task' ? answer.result.taskId : '';
    await until(async () => (await tasks.get(id, null))?.statusMessage === '1 of 2');
    finish();
    await until(async () => (await tasks.get(id, null))?.status === 'completed');
    expect((await tasks.get(id, null))?.result).toEqual({ content: [{ type: 'text', text: 'done' }] });
  });

  it('cancel aborts the handler, is idempotent, and hides other owners’ tasks', async () => {
    const tasks = runtime();
    let aborted = false;
    const answer = await tasks.call(
      call(
        (round) =>
          new Promise((resolve) =>
            round.signal.addEventListener('abort', () => {
              aborted = true;
              resolve({ kind: 'result', result: { content: [] } });
            }),
          ),
        { owner: 'alice' },
      ),
    );
    const id = answer.kind === 'task' ? answer.result.taskId : '';
    expect(await tasks.get(id, 'bob')).toBeUndefined();
    expect(await tasks.cancel(id, 'bob')).toBe(false);
    expect(await tasks.cancel(id, 'alice')).toBe(true);
    expect(await tasks.cancel(id, 'alice')).toBe(true);
    await until(async () => aborted);
    expect(await tasks.get(id, 'alice')).toMatchObject({
      status: 'cancelled',
      statusMessage: 'cancelled by the client',
    });
  });

  it('aborts the handler when the TTL passes and forgets the task', async () => {
    const tasks = runtime();
    let reason: unknown;
    const answer = await tasks.call(
      call(
        (round) =>
          new Promise((resolve) =>
            round.signal.addEventListener(
              'abort',
              () => ((reason = round.signal.reason), resolve({ kind: 'result', result: {} })),
            ),
          ),
        {
          ttlMs: 200,
          detachAfterMs: 0,
        },
      ),
    );
    const id = answer.kind === 'task' ? answer.result.taskId : '';
    expect(answer.kind === 'task' && answer.result.ttlMs).toBe(200);
    await until(async () => reason !== undefined);
    expect(String(reason)).toMatch(/TTL/);
    await until(async () => (await tasks.get(id, null)) === undefined);
  });

  it('refuses a call past the live cap before running the handler', async () => {
    const tasks = runtime(1);
    let runs = 0;
    const slow: RoundRunner = () => ((runs += 1), new Promise(() => undefined));
    await tasks.call(call(slow, { detachAfterMs: 0 }));
    await expect(tasks.call(call(slow, { detachAfterMs: 0 }))).rejects.toThrow(/too many live tasks/);
    expect(runs).toBe(1);
  });

  it('parks for input, then enters the handler again with every answer', async () => {
    const tasks = runtime();
    const seen: (Record<string, unknown> | undefined)[] = [];
    const answer = await tasks.call(
      call(
        async (round) => {
          seen.push(round.inputResponses);
          if (!round.inputResponses?.a)
            return {
              kind: 'input_required',
              inputRequests: { a: { method: 'elicitation/create' }, b: { method: 'elicitation/create' } },
              requestState: 's1',
            };
          return { kind: 'result', result: { content: [{ type: 'text', text: `${round.requestState}` }] } };
        },
        { detachAfterMs: 0 },
      ),
    );
    const id = answer.kind === 'task' ? answer.result.taskId : '';
    await until(async () => (await tasks.get(id, null))?.status === 'input_required');
    await tasks.update(id, null, { a: { action: 'accept' } });
    expect((await tasks.get(id, null))?.status).toBe('input_required');
    await tasks.update(id, null, { b: { action: 'accept' } });
    await until(async () => (await tasks.get(id, null))?.status === 'completed');
    expect(seen[1]).toEqual({ a: { action: 'accept' }, b: { action: 'accept' } });
    expect((await tasks.get(id, null))?.result).toEqual({ content: [{ type: 'text', text: 's1' }] });
  });

  it('shutdown cancels running and parked tasks with its reason', async () => {
    const tasks = runtime();
    const running = await tasks.call(
      call(
        (round) =>
          new Promise((resolve) =>
            round.signal.addEventListener('abort', () => resolve({ kind: 'result', result: {} })),
          ),
        { detachAfterMs: 0 },
      ),
    );
    const parked = await tasks.call(
      call(async () => ({ kind: 'input_required', inputRequests: { q: {} } }), { detachAfterMs: 0 }),
    );
    const ids = [running, parked].map((a) => (a.kind === 'task' ? a.result.taskId : ''));
    await until(async () => (await tasks.get(ids[1]!, null))?.status === 'input_required');
    await tasks.shutdown('the server shut down');
    for (const id of ids)
      expect(await tasks.get(id, null)).toMatchObject({ status: 'cancelled', statusMessage: 'the server shut down' });
  });
});

/** Two runtimes sharing one store, as two instances share a fleet's: the store routes signals to the one running the task. */
class SharedStore extends MemoryTaskStore {
  readonly #watchers: ((signal: TaskSignal) => void)[] = [];
  runner: number | undefined;
  watch(listener: (signal: TaskSignal) => void): () => void {
    this.#watchers.push(listener);
    return () => undefined;
  }
  /** What a fleet's store does: a change made by another runtime is signalled to the task's runner. */
  signalRunner(signal: TaskSignal): void {
    this.#watchers[this.runner!]?.(signal);
  }
}

describe('TaskRuntime on a shared store (TaskStore.watch)', () => {
  function pair() {
    const store = new SharedStore();
    const make = () => {
      const created = new TaskRuntime({ store, maxLiveTasks: 10, logger: pino({ level: 'silent' }) });
      runtimes.push(created);
      return created;
    };
    return { store, runner: make(), other: make() };
  }

  it('an answer given to another runtime does not fail the task there; the runner resumes it when signalled', async () => {
    const { store, runner, other } = pair();
    store.runner = 0;
    let rounds = 0;
    const answer = await runner.call(
      call(
        async (round) => {
          rounds += 1;
          if (!round.inputResponses?.name) return { kind: 'input_required', inputRequests: { name: {} } };
          return { kind: 'result', result: { content: [{ type: 'text', text: String(round.inputResponses.name) }] } };
        },
        { detachAfterMs: 0 },
      ),
    );
    if (answer.kind !== 'task') throw new Error('expected a task');
    const id = answer.result.taskId;
    await until(async () => (await store.get(id))?.status === 'input_required');
    expect(await other.update(id, null, { name: 'Ada' })).toBe(true);
    expect((await store.get(id))?.status).toBe('working');
    expect(rounds).toBe(1);
    store.signalRunner({ taskId: id, kind: 'resumed' });
    await until(async () => (await store.get(id))?.status === 'completed');
    expect((await store.get(id))?.result).toEqual({ content: [{ type: 'text', text: 'Ada' }] });
    expect(rounds).toBe(2);
  });

  it('a cancel made by another runtime aborts the handler where it runs once signalled', async () => {
    const { store, runner, other } = pair();
    store.runner = 0;
    let reason: unknown;
    const answer = await runner.call(
      call(
        (round) =>
          new Promise((resolve) =>
            round.signal.addEventListener('abort', () => {
              reason = round.signal.reason;
              resolve({ kind: 'error', code: -32603, message: 'cancelled' });
            }),
          ),
        { detachAfterMs: 0 },
      ),
    );
    if (answer.kind !== 'task') throw new Error('expected a task');
    const id = answer.result.taskId;
    expect(await other.cancel(id, null)).toBe(true);
    expect(reason).toBeUndefined();
    store.signalRunner({ taskId: id, kind: 'ended' });
    await until(async () => reason !== undefined);
    expect((reason as Error).message).toBe('cancelled by the client');
    expect((await store.get(id))?.status).toBe('cancelled');
  });
});
