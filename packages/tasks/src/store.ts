import type { TaskStatus } from './codes.js';

/** A JSON value: everything a store keeps must survive `JSON.stringify` (a PostgreSQL store keeps `jsonb`). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** A protocol error a `failed` task reports, in JSON-RPC error shape. */
export interface TaskFailure {
  code: number;
  message: string;
  data?: Json;
}

/**
 * One task as a store keeps it: plain JSON, so that any store (memory,
 * PostgreSQL) can hold it and any instance can answer `tasks/get` for it.
 * Times are epoch milliseconds.
 */
export interface TaskRecord {
  readonly id: string;
  /**
   * Who may see it: an authenticated principal, a connection (stdio), or
   * `null` when the id itself is the capability (HTTP without auth).
   */
  readonly owner: string | null;
  /** The tool the task runs, and what it was called with (enough to resume it). */
  readonly tool: string;
  readonly arguments: JsonObject | null;
  status: TaskStatus;
  /** What the task is doing now (progress, "queued", why it was cancelled). */
  statusMessage: string | null;
  readonly createdAt: number;
  lastUpdatedAt: number;
  readonly ttlMs: number;
  readonly pollIntervalMs: number;
  /** `input_required`: the requests still unanswered, by key. */
  inputRequests: JsonObject | null;
  /** Answers collected for the current round (merged across partial `tasks/update`s). */
  inputResponses: JsonObject | null;
  /** Opaque state the handler asked to get back when it is re-entered. */
  requestState: string | null;
  /** `completed`: the tool's result (`isError` results included). */
  result: JsonObject | null;
  /** `failed`: the protocol error. */
  error: TaskFailure | null;
  /**
   * The tool declared itself safe to run again from the start (`task.rerunnable`):
   * a fleet restarts the task on a surviving instance when the one running it vanishes.
   */
  readonly rerunnable?: boolean;
}

/** What `create` needs; the store fills nothing in. */
export type NewTask = TaskRecord;

/** Fields a status change may set at the same time. */
export type TaskPatch = Partial<
  Pick<
    TaskRecord,
    'status' | 'statusMessage' | 'inputRequests' | 'inputResponses' | 'requestState' | 'result' | 'error'
  >
>;

/** How applying a client's answers went. */
export interface AppliedResponses {
  /** The task after the answers were applied. */
  task: TaskRecord;
  /** Keys answered by this update (unknown and already-answered keys are ignored). */
  accepted: string[];
  /** Every pending request is now answered: the task moved from `input_required` back to `working`. */
  resumed: boolean;
}

/**
 * A change another process made to a task this process runs, as a shared
 * store reports it: `ended` (cancelled, or failed by a fleet's reaper) aborts
 * the handler; `resumed` (the last pending input answered) enters it again.
 */
export interface TaskSignal {
  readonly taskId: string;
  /**
   * `ended`: stop running it here (cancelled or failed elsewhere, or taken over by another process);
   * `resumed`: enter the handler again with the answers; `adopted`: this process now runs the task
   * (a `rerunnable` one whose process vanished): start its handler from the beginning.
   */
  readonly kind: 'ended' | 'resumed' | 'adopted';
}

/** How a write is made. */
export interface TaskWrite {
  /**
   * The process running the task writes about its own run (its outcome, its
   * status, parking it for input). A shared store applies such a write only
   * while this process still runs the task: one that was only slow, and whose
   * task another process took over, cannot write over the new run.
   */
  readonly runner?: boolean;
}

/**
 * Where task state lives. Every method is async and every value plain JSON,
 * so a store may sit in another process (PostgreSQL in a fleet). Status
 * changes are compare-and-set: a change applies only while the task is in one
 * of the `from` statuses, which is what makes cancel, completion and input
 * races safe between instances.
 */
export interface TaskStore {
  /**
   * Stores a new task, unless `liveLimit` tasks are already live (`working` or
   * `input_required`), in which case it throws `TaskLimitError` and stores nothing.
   */
  create(task: NewTask, options: { liveLimit: number }): Promise<void>;
  /** The task, or `undefined` when unknown or expired. */
  get(id: string): Promise<TaskRecord | undefined>;
  /** Applies `patch` if the task's status is one of `from`; returns the updated task, or `undefined` when it was not. */
  compareAndSet(
    id: string,
    from: readonly TaskStatus[],
    patch: TaskPatch,
    write?: TaskWrite,
  ): Promise<TaskRecord | undefined>;
  /** Parks a `working` task in `input_required` with these requests (a new round: earlier answers are dropped); a runner's write. */
  putInputRequests(id: string, requests: JsonObject, requestState: string | null): Promise<TaskRecord | undefined>;
  /**
   * Records answers to pending requests of an `input_required` task: answered
   * keys leave `inputRequests` and join `inputResponses`; when none is left the
   * task becomes `working` again (`resumed`). `undefined` when the task is unknown.
   */
  applyInputResponses(id: string, responses: JsonObject): Promise<AppliedResponses | undefined>;
  /** Removes a task that was never shown to anyone (a call that answered inline after all). */
  discard(id: string): Promise<void>;
  /** Removes every task whose TTL has passed at `now`; returns their ids. */
  expire(now: number): Promise<string[]>;
  /** How many tasks are live. */
  countLive(): Promise<number>;
  /**
   * Present on a store several processes share: calls `listener` when another
   * process ends or resumes a task that this process runs (its `tasks/cancel`,
   * or the `tasks/update` that answered the last pending request), or when this
   * process adopts the task of a vanished one. Only the process that runs a task
   * can abort or enter its handler; the store routes the change there. Returns
   * the unsubscribe function.
   */
  watch?(listener: (signal: TaskSignal) => void): () => void;
  /** Releases what the store holds open (timers, connections). */
  close(): Promise<void>;
}
