import { describe, expect, it } from 'vitest';
import { MemoryTaskStore, newTaskId, TaskLimitError, type TaskRecord } from '../src/index.js';

function task(overrides: Partial<TaskRecord> = {}): TaskRecord {
  const now = Date.now();
  return {
    id: newTaskId(),
    owner: null,
    tool: 't',
    arguments: null,
    status: 'working',
    statusMessage: null,
    createdAt: now,
    lastUpdatedAt: now,
    ttlMs: 60_000,
    pollIntervalMs: 1_000,
    inputRequests: null,
    inputResponses: null,
    requestState: null,
    result: null,
    error: null,
    ...overrides,
  };
}

describe('MemoryTaskStore', () => {
  it('makes ids of 128 random bits, never the same twice', () => {
    const ids = new Set(Array.from({ length: 1_000 }, () => newTaskId()));
    expect(ids.size).toBe(1_000);
    for (const id of ids) expect(Buffer.from(id, 'base64url')).toHaveLength(16);
  });

  it('refuses a task past the live cap before storing anything, and counts only live tasks', async () => {
    const store = new MemoryTaskStore();
    const a = task();
    await store.create(a, { liveLimit: 1 });
    const b = task();
    await expect(store.create(b, { liveLimit: 1 })).rejects.toBeInstanceOf(TaskLimitError);
    await expect(store.create(b, { liveLimit: 1 })).rejects.toThrow(/too many live tasks \(1 of 1\)/);
    expect(await store.get(b.id)).toBeUndefined();
    await store.compareAndSet(a.id, ['working'], { status: 'completed', result: { content: [] } });
    await store.create(b, { liveLimit: 1 });
    expect(await store.countLive()).toBe(1);
  });

  it('changes status only from the expected statuses (compare-and-set)', async () => {
    const store = new MemoryTaskStore();
    const a = task();
    await store.create(a, { liveLimit: 10 });
    expect(await store.compareAndSet(a.id, ['working'], { status: 'cancelled', statusMessage: 'stop' })).toMatchObject({
      status: 'cancelled',
    });
    expect(await store.compareAndSet(a.id, ['working'], { status: 'completed' })).toBeUndefined();
    expect((await store.get(a.id))?.statusMessage).toBe('stop');
  });

  it('keeps answers of partial updates until every request is answered, ignoring unknown keys', async () => {
    const store = new MemoryTaskStore();
    const a = task();
    await store.create(a, { liveLimit: 10 });
    await store.putInputRequests(
      a.id,
      { first: { method: 'elicitation/create' }, second: { method: 'elicitation/create' } },
      null,
    );
    const one = await store.applyInputResponses(a.id, { first: { action: 'accept' }, bogus: {} });
    expect(one).toMatchObject({
      accepted: ['first'],
      resumed: false,
      task: { status: 'input_required', inputRequests: { second: { method: 'elicitation/create' } } },
    });
    const two = await store.applyInputResponses(a.id, { second: { action: 'decline' } });
    expect(two).toMatchObject({
      accepted: ['second'],
      resumed: true,
      task: { status: 'working', inputRequests: null },
    });
    expect(two?.task.inputResponses).toEqual({ first: { action: 'accept' }, second: { action: 'decline' } });
  });

  it('keeps a task until its TTL, then forgets it', async () => {
    const store = new MemoryTaskStore();
    const a = task({ ttlMs: 50 });
    await store.create(a, { liveLimit: 10 });
    expect(await store.get(a.id)).toBeDefined();
    expect(await store.expire(Date.now() + 10_000)).toEqual([a.id]);
    expect(await store.get(a.id)).toBeUndefined();
  });

  it('hands out copies: nobody holds a live reference to stored state', async () => {
    const store = new MemoryTaskStore();
    const a = task();
    await store.create(a, { liveLimit: 10 });
    const got = await store.get(a.id);
    got!.status = 'completed';
    expect((await store.get(a.id))?.status).toBe('working');
  });
});
