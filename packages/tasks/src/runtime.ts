import type { Logger } from 'pino';
import { isTerminal, type TaskStatus } from './codes.js';
import { newTaskId } from './ids.js';
import type { Json, JsonObject, TaskFailure, TaskRecord, TaskSignal, TaskStore, TaskWrite } from './store.js';

/** One round of a tool call run apart from any request: what the server's call pipeline provides. */
export interface DetachedRound {
  /** Answers to the previous round's input requests (all of them, merged), or the request's own on the first round. */
  readonly inputResponses: Record<string, unknown> | undefined;
  /** The opaque state the handler returned with its last `inputRequired(...)`, handed back on re-entry. */
  readonly requestState: string | undefined;
  /** Follows `tasks/cancel`, the task's TTL and shutdown (and, until the call detaches, the request). */
  readonly signal: AbortSignal;
  /** A handler's `ctx.progress(...)`: the request's progress while attached, then the task's status message. */
  progress(update: ProgressUpdate): void;
  /** Whether the call still answers in its request (it has not become a task). */
  attached(): boolean;
}

/** What a handler reports with `ctx.progress(progress, total, message)`. */
export interface ProgressUpdate {
  progress?: number;
  total?: number;
  message?: string;
}

/** A status message from a progress report: its message, else "progress/total". */
export function statusMessageOf(update: ProgressUpdate): string | undefined {
  if (update.message !== undefined) return update.message;
  if (update.progress === undefined) return undefined;
  return update.total !== undefined ? `${update.progress} of ${update.total}` : `${update.progress}`;
}

/** How one round ended. Never thrown. */
export type RoundOutcome =
  | { kind: 'result'; result: Record<string, unknown> }
  | { kind: 'input_required'; inputRequests: Record<string, unknown>; requestState?: string }
  | { kind: 'error'; code: number; message: string; data?: unknown };

/** Runs one round of the call: the same handler, as often as the task needs input. */
export type RoundRunner = (round: DetachedRound) => Promise<RoundOutcome>;

/** A `tools/call` that may become a task. */
export interface TaskCall {
  readonly tool: string;
  readonly arguments: Record<string, unknown> | undefined;
  /** See `TaskRecord.owner`. */
  readonly owner: string | null;
  readonly ttlMs: number;
  readonly pollIntervalMs: number;
  /**
   * How long the call runs in its request before it becomes a task. An answer
   * within that time (a result, or an `inputRequired` round) goes back inline;
   * 0 makes the task before the handler runs.
   */
  readonly detachAfterMs: number;
  /** The request's signal: it cancels the call only until the call detaches. */
  readonly requestSignal: AbortSignal;
  /** The request's own multi-round-trip answers and state (first round). */
  readonly inputResponses: Record<string, unknown> | undefined;
  readonly requestState: string | undefined;
  /** Progress while the call is still in its request goes to the request's client. */
  readonly inlineProgress?: (update: ProgressUpdate) => void;
  readonly run: RoundRunner;
  /** The tool is safe to run again from the start (see `TaskRecord.rerunnable`). */
  readonly rerunnable?: boolean;
}

/** The flat `CreateTaskResult` (SEP-2663): no nested `task`, no `result`, no `requestState`. */
export interface CreateTaskResult {
  resultType: 'task';
  taskId: string;
  status: TaskStatus;
  statusMessage?: string;
  createdAt: string;
  lastUpdatedAt: string;
  ttlMs: number;
  pollIntervalMs: number;
  [key: string]: unknown;
}

/** What `tasks/get` answers: the task, and its result, error or pending input inline. */
export type DetailedTask = Omit<CreateTaskResult, 'resultType'> & {
  result?: JsonObject;
  error?: TaskFailure;
  inputRequests?: JsonObject;
};

export type CallAnswer = { kind: 'inline'; outcome: RoundOutcome } | { kind: 'task'; result: CreateTaskResult };

/**
 * A task's status changed, as this process applied it: `status` is the new one,
 * or `discarded` (a call that answered inline after all, its task never shown)
 * or `expired` (purged when its TTL passed). `tool` is unknown for `expired`.
 */
export interface TaskChange {
  readonly taskId: string;
  readonly tool: string | undefined;
  readonly status: TaskStatus | 'discarded' | 'expired';
  /** The signal of the request whose serving made the change, when the runtime knows it (the call that created the task). */
  readonly cause?: AbortSignal;
}

export interface TaskRuntimeOptions {
  store: TaskStore;
  /**
   * Told of every status change this runtime applies (telemetry's live tasks
   * and state-change spans), synchronously, in the async context of whatever
   * caused it (the call, `tasks/cancel`, `tasks/update`). Must not throw.
   */
  onChange?: (change: TaskChange) => void;
  /** Tasks live (working or input_required) at once, over the whole store. */
  maxLiveTasks: number;
  logger: Logger;
  /** How often expired tasks are purged. Default 1 s. */
  sweepIntervalMs?: number;
  /** Minimum time between two status-message writes of one task. Default 200 ms. */
  statusWriteIntervalMs?: number;
  /**
   * Makes the runner of a task this process adopts (a `rerunnable` task whose
   * process vanished, handed over by a shared store); `undefined` when the task
   * cannot run here (its tool is unknown or no longer rerunnable).
   */
  rerun?: (task: TaskRecord) => RoundRunner | undefined;
}

/** A task this process runs (or parked, waiting for input). */
interface LocalRun {
  readonly controller: AbortController;
  readonly run: RoundRunner;
  ttlTimer: NodeJS.Timeout | undefined;
  pendingStatus: string | undefined;
  statusTimer: NodeJS.Timeout | undefined;
  lastStatusWrite: number;
}

/** A write the running process makes about its own run (see `TaskWrite.runner`). */
const RUNNER: TaskWrite = { runner: true };

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function asJson(value: unknown): Json {
  return JSON.parse(JSON.stringify(value ?? null)) as Json;
}

/** The task as the wire shows it; `detailed` adds what `tasks/get` inlines. */
export function taskView(task: TaskRecord): DetailedTask {
  return {
    taskId: task.id,
    status: task.status,
    ...(task.statusMessage !== null && { statusMessage: task.statusMessage }),
    createdAt: iso(task.createdAt),
    lastUpdatedAt: iso(task.lastUpdatedAt),
    ttlMs: task.ttlMs,
    pollIntervalMs: task.pollIntervalMs,
  };
}

export function detailedView(task: TaskRecord): DetailedTask {
  const view = taskView(task);
  if (task.status === 'completed' && task.result) view.result = task.result;
  if (task.status === 'failed' && task.error) view.error = task.error;
  if (task.status === 'input_required') view.inputRequests = task.inputRequests ?? {};
  return view;
}

/**
 * The life of tasks: decides when a call detaches, runs its rounds with a
 * signal of their own, records progress, parks it for input and resumes it,
 * cancels it (client, TTL, shutdown), and purges it when its TTL passes.
 *
 * The detach rule: a call runs in its request for `detachAfterMs`; if the
 * handler answers by then — a result, or `inputRequired(...)` — the answer goes
 * back inline (an ordinary multi-round-trip round: no task id). Otherwise the
 * task exists from then on and the handler keeps running (it is not restarted).
 * A task whose handler returns `inputRequired(...)` is parked in
 * `input_required`; once `tasks/update` has answered every request, the handler
 * is entered again with all the answers (and its `requestState`), exactly as a
 * multi-round-trip retry would enter it.
 */
export class TaskRuntime {
  readonly store: TaskStore;
  readonly #options: TaskRuntimeOptions;
  readonly #runs = new Map<string, LocalRun>();
  readonly #sweep: NodeJS.Timeout;
  readonly #unwatch: (() => void) | undefined;
  #closed = false;

  constructor(options: TaskRuntimeOptions) {
    this.#options = options;
    this.store = options.store;
    this.#unwatch = options.store.watch?.((signal) => void this.#signalled(signal));
    this.#sweep = setInterval(() => void this.#expire(), options.sweepIntervalMs ?? 1_000);
    this.#sweep.unref();
  }

  /** Tasks this process runs or holds parked. */
  get localTasks(): number {
    return this.#runs.size;
  }

  /**
   * Serves a call that may become a task. Throws `TaskLimitError` before
   * anything runs when the live-task cap is reached.
   */
  async call(call: TaskCall): Promise<CallAnswer> {
    if (this.#closed) throw new Error('the task runtime is shut down');
    const now = Date.now();
    const record: TaskRecord = {
      id: newTaskId(),
      owner: call.owner,
      tool: call.tool,
      arguments: call.arguments ? (asJson(call.arguments) as JsonObject) : null,
      status: 'working',
      statusMessage: null,
      createdAt: now,
      lastUpdatedAt: now,
      ttlMs: call.ttlMs,
      pollIntervalMs: call.pollIntervalMs,
      inputRequests: null,
      inputResponses: null,
      requestState: null,
      result: null,
      error: null,
      ...(call.rerunnable === true && { rerunnable: true }),
    };
    // The task is stored (and the cap checked) first: once it is announced, tasks/get must find it.
    await this.store.create(record, { liveLimit: this.#options.maxLiveTasks });
    this.#changed(record, call.requestSignal);
    const controller = new AbortController();
    const local: LocalRun = {
      controller,
      run: call.run,
      ttlTimer: undefined,
      pendingStatus: undefined,
      statusTimer: undefined,
      lastStatusWrite: 0,
    };
    let attached = true;
    const onRequestAbort = () => {
      if (attached) controller.abort(call.requestSignal.reason);
    };
    if (call.requestSignal.aborted) onRequestAbort();
    else call.requestSignal.addEventListener('abort', onRequestAbort, { once: true });

    let lastMessage: string | undefined;
    const progress = (update: ProgressUpdate) => {
      if (!attached) return this.#progress(record.id, local, update);
      lastMessage = statusMessageOf(update) ?? lastMessage;
      call.inlineProgress?.(update);
    };
    const round = this.#round(local, {
      inputResponses: call.inputResponses,
      requestState: call.requestState,
      signal: controller.signal,
      progress,
      attached: () => attached,
    });

    if (call.detachAfterMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      const settled = await Promise.race([
        round.then(() => true),
        new Promise<false>((resolve) => (timer = setTimeout(resolve, call.detachAfterMs, false))),
      ]);
      clearTimeout(timer);
      if (settled) {
        call.requestSignal.removeEventListener('abort', onRequestAbort);
        await this.store.discard(record.id);
        this.#report({ taskId: record.id, tool: record.tool, status: 'discarded' });
        return { kind: 'inline', outcome: await round };
      }
    }
    attached = false;
    call.requestSignal.removeEventListener('abort', onRequestAbort);
    this.#runs.set(record.id, local);
    local.ttlTimer = setTimeout(
      () => this.#abortLocal(record.id, 'the task passed its TTL'),
      Math.max(0, record.createdAt + record.ttlMs - Date.now()),
    );
    local.ttlTimer.unref();
    void round.then((outcome) => this.#settle(record.id, local, outcome));
    // What the handler reported while still in its request is where the task stands now.
    if (lastMessage !== undefined)
      await this.store.compareAndSet(record.id, ['working'], { statusMessage: lastMessage }, RUNNER);
    const current = (await this.store.get(record.id)) ?? record;
    return { kind: 'task', result: { resultType: 'task', ...taskView(current) } as CreateTaskResult };
  }

  /** A task as its owner may see it; another owner's task is unknown. */
  async get(id: string, owner: string | null): Promise<TaskRecord | undefined> {
    const task = await this.store.get(id);
    if (!task || (task.owner !== null && task.owner !== owner)) return undefined;
    return task;
  }

  /**
   * Cooperative cancel: the task is marked `cancelled` at once and its
   * handler's signal aborts. Idempotent: a finished task stays as it is.
   * Returns false when the task is unknown (to this owner).
   */
  async cancel(id: string, owner: string | null, reason = 'cancelled by the client'): Promise<boolean> {
    const task = await this.get(id, owner);
    if (!task) return false;
    if (!isTerminal(task.status)) {
      this.#changed(
        await this.store.compareAndSet(id, ['working', 'input_required'], {
          status: 'cancelled',
          statusMessage: reason,
          inputRequests: null,
        }),
      );
      this.#abortLocal(id, reason, false);
    }
    return true;
  }

  /**
   * Records answers from `tasks/update`; when every pending request is
   * answered the handler is entered again. Returns false for an unknown task.
   */
  async update(id: string, owner: string | null, responses: Record<string, unknown>): Promise<boolean> {
    const task = await this.get(id, owner);
    if (!task) return false;
    const applied = await this.store.applyInputResponses(id, asJson(responses) as JsonObject);
    if (!applied) return false;
    if (applied.resumed) {
      this.#changed(applied.task);
      this.#resume(applied.task);
    }
    return true;
  }

  /** Cancels every task of `owner` this process holds (a stdio connection that closed owns its tasks). */
  async cancelOwnedBy(owner: string, reason: string): Promise<void> {
    for (const id of [...this.#runs.keys()]) {
      const task = await this.store.get(id);
      if (task?.owner === owner) await this.cancel(id, owner, reason);
    }
  }

  /**
   * Shutdown: every task this process holds is cancelled with `reason` (which
   * `tasks/get` shows), its handler's signal aborted; the sweeper stops.
   */
  async shutdown(reason: string): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweep);
    this.#unwatch?.();
    await Promise.all(
      [...this.#runs.keys()].map(async (id) => {
        this.#changed(
          await this.store
            .compareAndSet(
              id,
              ['working', 'input_required'],
              { status: 'cancelled', statusMessage: reason, inputRequests: null },
              RUNNER,
            )
            .catch(() => undefined),
        );
        this.#abortLocal(id, reason, false);
      }),
    );
  }

  #round(local: LocalRun, round: DetachedRound): Promise<RoundOutcome> {
    return local.run(round).catch((error: unknown) => {
      this.#options.logger.error({ err: error }, 'a task round failed');
      return { kind: 'error', code: -32603, message: 'Internal error' } as RoundOutcome;
    });
  }

  #resume(task: TaskRecord): void {
    const local = this.#runs.get(task.id);
    // A shared store signals the process that runs the task, which enters its handler again.
    if (!local && this.store.watch) return;
    if (!local) {
      // Parked by another process (or before a restart): its handler cannot be entered here.
      void this.store
        .compareAndSet(task.id, ['working'], {
          status: 'failed',
          error: { code: -32603, message: 'the task cannot resume: the server that ran it is gone' },
        })
        .then((changed) => this.#changed(changed));
      return;
    }
    const round = this.#round(local, {
      inputResponses: task.inputResponses ?? {},
      requestState: task.requestState ?? undefined,
      signal: local.controller.signal,
      progress: (update) => this.#progress(task.id, local, update),
      attached: () => false,
    });
    void round.then((outcome) => this.#settle(task.id, local, outcome));
  }

  /** Another process ended or resumed a task this process runs, or this process adopted one (see `TaskStore.watch`). */
  async #signalled(signal: TaskSignal): Promise<void> {
    if (signal.kind !== 'adopted' && !this.#runs.has(signal.taskId)) return;
    try {
      const task = await this.store.get(signal.taskId);
      if (signal.kind === 'adopted') {
        if (task?.status === 'working') this.#adopt(task);
      } else if (signal.kind === 'resumed') {
        if (task?.status !== 'working') return;
        this.#changed(task); // this process's own view of its live tasks (the change was made elsewhere)
        this.#resume(task);
      } else {
        if (task && isTerminal(task.status)) this.#changed(task);
        // Ended elsewhere, or taken over by another process: either way the handler stops here, and this
        // process forgets the run (a parked one has no round that would; a running one's outcome is fenced off).
        const local = this.#runs.get(signal.taskId);
        this.#abortLocal(signal.taskId, task?.statusMessage ?? task?.error?.message ?? 'the task ended', false);
        if (local) this.#forget(signal.taskId, local);
      }
    } catch (error) {
      this.#options.logger.warn({ err: error, task: signal.taskId }, 'a task signal could not be applied');
    }
  }

  /** Runs, from the beginning, a task this process took over from a vanished one. */
  #adopt(task: TaskRecord): void {
    if (this.#closed || this.#runs.has(task.id)) return;
    const run = this.#options.rerun?.(task);
    if (!run) {
      void this.store
        .compareAndSet(
          task.id,
          ['working'],
          {
            status: 'failed',
            error: {
              code: -32603,
              message: `the task could not be restarted: tool "${task.tool}" is not rerunnable here`,
            },
          },
          RUNNER,
        )
        .then((changed) => this.#changed(changed))
        .catch(() => undefined);
      return;
    }
    this.#changed(task);
    const local: LocalRun = {
      controller: new AbortController(),
      run,
      ttlTimer: undefined,
      pendingStatus: undefined,
      statusTimer: undefined,
      lastStatusWrite: 0,
    };
    this.#runs.set(task.id, local);
    local.ttlTimer = setTimeout(
      () => this.#abortLocal(task.id, 'the task passed its TTL'),
      Math.max(0, task.createdAt + task.ttlMs - Date.now()),
    );
    local.ttlTimer.unref();
    const round = this.#round(local, {
      inputResponses: undefined,
      requestState: undefined,
      signal: local.controller.signal,
      progress: (update) => this.#progress(task.id, local, update),
      attached: () => false,
    });
    void round.then((outcome) => this.#settle(task.id, local, outcome));
  }

  async #settle(id: string, local: LocalRun, outcome: RoundOutcome): Promise<void> {
    try {
      await this.#flushStatus(id, local);
      if (local.controller.signal.aborted) {
        const reason = local.controller.signal.reason;
        this.#changed(
          await this.store.compareAndSet(
            id,
            ['working'],
            {
              status: 'cancelled',
              statusMessage: reason instanceof Error ? reason.message : String(reason ?? 'cancelled'),
            },
            RUNNER,
          ),
        );
      } else if (outcome.kind === 'result') {
        this.#changed(
          await this.store.compareAndSet(
            id,
            ['working'],
            { status: 'completed', result: asJson(outcome.result) as JsonObject },
            RUNNER,
          ),
        );
      } else if (outcome.kind === 'error') {
        const error: TaskFailure = {
          code: outcome.code,
          message: outcome.message,
          ...(outcome.data !== undefined && { data: asJson(outcome.data) }),
        };
        this.#changed(await this.store.compareAndSet(id, ['working'], { status: 'failed', error }, RUNNER));
      } else {
        this.#changed(
          await this.store.putInputRequests(
            id,
            asJson(outcome.inputRequests) as JsonObject,
            outcome.requestState ?? null,
          ),
        );
        return; // parked: the run stays, for tasks/update to resume
      }
    } catch (error) {
      this.#options.logger.error({ err: error, task: id }, 'recording a task outcome failed');
    }
    this.#forget(id, local);
  }

  #progress(id: string, local: LocalRun, update: ProgressUpdate): void {
    const message = statusMessageOf(update);
    if (message !== undefined) this.status(id, message, local);
  }

  /**
   * Sets a running task's status message. Writes are coalesced (at most one
   * per `statusWriteIntervalMs`, the last message always written), so a
   * chatty handler does not hammer a remote store.
   */
  status(id: string, message: string, local = this.#runs.get(id)): void {
    if (!local) return;
    local.pendingStatus = message;
    if (local.statusTimer) return;
    const wait = Math.max(0, local.lastStatusWrite + (this.#options.statusWriteIntervalMs ?? 200) - Date.now());
    local.statusTimer = setTimeout(() => void this.#flushStatus(id, local), wait);
    local.statusTimer.unref();
  }

  async #flushStatus(id: string, local: LocalRun): Promise<void> {
    clearTimeout(local.statusTimer);
    local.statusTimer = undefined;
    const message = local.pendingStatus;
    if (message === undefined) return;
    local.pendingStatus = undefined;
    local.lastStatusWrite = Date.now();
    await this.store
      .compareAndSet(id, ['working'], { statusMessage: message }, RUNNER)
      .catch((error: unknown) => this.#options.logger.warn({ err: error, task: id }, 'task status write failed'));
  }

  #abortLocal(id: string, reason: string, markCancelled = true): void {
    const local = this.#runs.get(id);
    if (!local) return;
    if (markCancelled) {
      void this.store
        .compareAndSet(
          id,
          ['working', 'input_required'],
          { status: 'cancelled', statusMessage: reason, inputRequests: null },
          RUNNER,
        )
        .then((changed) => this.#changed(changed))
        .catch(() => undefined);
    }
    local.controller.abort(new Error(reason));
    // A parked task has no round running that would clean up after itself.
    void this.store.get(id).then((task) => {
      if (!task || isTerminal(task.status)) {
        if (this.#runs.get(id) === local && !local.statusTimer) this.#forgetIfIdle(id, local);
      }
    });
  }

  /** Forgets a parked or finished run once its handler is no longer running. */
  #forgetIfIdle(id: string, local: LocalRun): void {
    // A running round forgets itself in #settle; a parked one has nothing running.
    if (local.controller.signal.aborted) this.#forget(id, local);
  }

  /** Reports the status a store change left the task in (nothing when the change did not apply). */
  #changed(task: TaskRecord | undefined, cause?: AbortSignal): void {
    if (task) this.#report({ taskId: task.id, tool: task.tool, status: task.status, ...(cause && { cause }) });
  }

  #report(change: TaskChange): void {
    const listener = this.#options.onChange;
    if (!listener) return;
    try {
      listener(change);
    } catch (error) {
      this.#options.logger.warn({ err: error, task: change.taskId }, 'a task change listener failed');
    }
  }

  #forget(id: string, local: LocalRun): void {
    clearTimeout(local.ttlTimer);
    clearTimeout(local.statusTimer);
    if (this.#runs.get(id) === local) this.#runs.delete(id);
  }

  async #expire(): Promise<void> {
    try {
      const gone = await this.store.expire(Date.now());
      for (const id of gone) {
        this.#report({ taskId: id, tool: undefined, status: 'expired' });
        this.#abortLocal(id, 'the task passed its TTL', false);
      }
    } catch (error) {
      this.#options.logger.warn({ err: error }, 'purging expired tasks failed');
    }
  }
}
