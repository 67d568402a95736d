import { isTerminal, type TaskStatus } from './codes.js';
import { TaskLimitError } from './errors.js';
import type { AppliedResponses, JsonObject, NewTask, TaskPatch, TaskRecord, TaskStore } from './store.js';

export interface MemoryTaskStoreOptions {
  /** Tasks kept at most, finished ones included (they stay until their TTL). Default 10,000. */
  maxTasks?: number;
}

/**
 * The default task store: a map in this process. Bounded — by the live-task
 * cap each `create` is given and by `maxTasks` overall — and every task goes
 * when its TTL passes. Tasks do NOT survive a restart of the process, and only
 * this process sees them: a fleet uses a shared (PostgreSQL) store instead.
 * Records are copied in and out, as a remote store would, so that nobody holds
 * a live reference to stored state.
 */
export class MemoryTaskStore implements TaskStore {
  readonly #tasks = new Map<string, TaskRecord>();
  readonly #maxTasks: number;

  constructor(options: MemoryTaskStoreOptions = {}) {
    this.#maxTasks = options.maxTasks ?? 10_000;
  }

  async create(task: NewTask, options: { liveLimit: number }): Promise<void> {
    if (this.#tasks.has(task.id)) throw new Error(`task ${task.id} already exists`);
    let live = this.#live();
    if (live >= options.liveLimit) throw new TaskLimitError(live, options.liveLimit);
    if (this.#tasks.size >= this.#maxTasks) {
      this.#expireNow(Date.now());
      live = this.#live();
      if (this.#tasks.size >= this.#maxTasks) throw new TaskLimitError(this.#tasks.size, this.#maxTasks);
    }
    this.#tasks.set(task.id, structuredClone(task));
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    const task = this.#current(id);
    return task && structuredClone(task);
  }

  async compareAndSet(id: string, from: readonly TaskStatus[], patch: TaskPatch): Promise<TaskRecord | undefined> {
    const task = this.#current(id);
    if (!task || !from.includes(task.status)) return undefined;
    Object.assign(task, structuredClone(patch), { lastUpdatedAt: Date.now() });
    return structuredClone(task);
  }

  async putInputRequests(
    id: string,
    requests: JsonObject,
    requestState: string | null,
  ): Promise<TaskRecord | undefined> {
    return this.compareAndSet(id, ['working'], {
      status: 'input_required',
      inputRequests: requests,
      inputResponses: {},
      requestState,
    });
  }

  async applyInputResponses(id: string, responses: JsonObject): Promise<AppliedResponses | undefined> {
    const task = this.#current(id);
    if (!task) return undefined;
    const accepted: string[] = [];
    if (task.status === 'input_required' && task.inputRequests) {
      const pending = { ...task.inputRequests };
      const collected = { ...task.inputResponses };
      for (const [key, value] of Object.entries(responses)) {
        if (!(key in pending)) continue; // unknown or already answered: ignored, as the extension allows
        delete pending[key];
        collected[key] = structuredClone(value);
        accepted.push(key);
      }
      const resumed = Object.keys(pending).length === 0;
      Object.assign(task, {
        inputRequests: resumed ? null : pending,
        inputResponses: collected,
        lastUpdatedAt: Date.now(),
      });
      if (resumed) task.status = 'working';
      return { task: structuredClone(task), accepted, resumed };
    }
    return { task: structuredClone(task), accepted, resumed: false };
  }

  async discard(id: string): Promise<void> {
    this.#tasks.delete(id);
  }

  async expire(now: number): Promise<string[]> {
    return this.#expireNow(now);
  }

  async countLive(): Promise<number> {
    return this.#live();
  }

  async close(): Promise<void> {
    this.#tasks.clear();
  }

  /** How many tasks the store holds (for tests and the bench). */
  get size(): number {
    return this.#tasks.size;
  }

  #current(id: string): TaskRecord | undefined {
    const task = this.#tasks.get(id);
    if (task && task.createdAt + task.ttlMs <= Date.now()) {
      this.#tasks.delete(id);
      return undefined;
    }
    return task;
  }

  #live(): number {
    let live = 0;
    for (const task of this.#tasks.values()) if (!isTerminal(task.status)) live += 1;
    return live;
  }

  #expireNow(now: number): string[] {
    const gone: string[] = [];
    for (const [id, task] of this.#tasks) {
      if (task.createdAt + task.ttlMs <= now) {
        this.#tasks.delete(id);
        gone.push(id);
      }
    }
    return gone;
  }
}
