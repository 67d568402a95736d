import { CLIENT_CAPABILITIES_META_KEY, type AuthInfo, type Server } from '@modelcontextprotocol/server';
import { withTraceContextOf } from '@trellis/concurrency';
import type * as Tasks from '@trellis/tasks';
import type {
  DetachedRound,
  ProgressUpdate,
  RoundOutcome,
  RoundRunner,
  TaskRecord,
  TaskRuntime,
  TaskStore,
} from '@trellis/tasks';
import { Connection } from './connection.js';
import { ErrorCodes } from './error-codes.js';
import { principalOf } from './principal.js';
import {
  serveTaskAugmented,
  serveToolCall,
  type ReplyChannel,
  type TaskCallServing,
  type ToolCallOutcome,
  type ToolCallRequest,
} from './pipeline.js';
import type { TrellisServer } from './server.js';

/**
 * The Tasks extension's side of the pipeline (`@trellis/tasks`, loaded only
 * when a tool declares task support). `serveToolCall` hands it every call of
 * such a tool; it decides whether the call becomes a task, and runs each of
 * the task's rounds through `serveToolCall` again, as a request of its own:
 * on a connection of kind `task`, with the task's signal (`tasks/cancel`, the
 * TTL, shutdown), a reply channel that turns progress into the status message,
 * and the answers of `tasks/update` as `inputResponses`.
 */

type TasksModule = typeof Tasks;
type TaskToolOptions = Parameters<TaskCallServing['call']>[2];

export interface TaskOptions {
  /** Where task state lives; in memory (bounded, lost on restart) by default. */
  store?: TaskStore;
  /** Live tasks at once (default `MAX_LIVE_TASKS`, 1,000). */
  maxLiveTasks?: number;
}

const DEFAULT_TTL_MS = 15 * 60_000;
const DEFAULT_POLL_MS = 1_000;
const DEFAULT_DETACH_MS = 200;
/** The progress token a task round's requests carry, so that `ctx.progress()` always reports. */
const TASK_PROGRESS_TOKEN = 'dev.trellis/task';

/** The client capability each kind of input request needs. */
const CAPABILITY_FOR: Record<string, string> = {
  'elicitation/create': 'elicitation',
  'sampling/createMessage': 'sampling',
  'roots/list': 'roots',
};

export class TaskCalls implements TaskCallServing {
  readonly runtime: TaskRuntime;
  readonly #module: TasksModule;
  readonly #core: TrellisServer;
  /** The connection every task round runs on (kind `task`: the pipeline does not make it a task again). */
  readonly #connection = new Connection({ transport: 'task', era: 'modern' });
  /** Connections that own tasks (stdio, in-process): an id of their own, never shown to clients. */
  readonly #connectionIds = new WeakMap<Connection, string>();
  #nextConnection = 0;

  private constructor(module: TasksModule, core: TrellisServer, runtime: TaskRuntime) {
    this.#module = module;
    this.#core = core;
    this.runtime = runtime;
  }

  /** Loads `@trellis/tasks` (servers without task tools never do). */
  static async load(core: TrellisServer, options: TaskOptions, maxLiveTasks: number): Promise<TaskCalls> {
    const module = await import('@trellis/tasks');
    const runtime: TaskRuntime = new module.TaskRuntime({
      store: options.store ?? new module.MemoryTaskStore(),
      maxLiveTasks: options.maxLiveTasks ?? maxLiveTasks,
      logger: core.logger.child({ component: 'tasks' }),
      onChange: (change) => core.taskChanged(change),
      // Called only once a shared store hands this process a task, long after `calls` exists.
      rerun: (task) => calls.rerun(task),
    });
    const calls = new TaskCalls(module, core, runtime);
    return calls;
  }

  /** Serves `tasks/get`, `tasks/update`, `tasks/cancel` on a protocol object and advertises the extension. */
  install(protocol: Server, connection: Connection): void {
    this.#module.installTaskMethods(protocol, this.runtime, (ctx) => this.#ownerOf(connection, ctx.http?.authInfo));
  }

  /** A stdio (or in-process) connection closed: its tasks have nobody left to poll them. */
  connectionClosed(connection: Connection): void {
    const id = this.#connectionIds.get(connection);
    if (id) void this.runtime.cancelOwnedBy(id, 'the connection that owned the task closed');
  }

  /**
   * Who may see a task: the authenticated principal (the rule of sessions);
   * else a stdio or in-process connection; else (HTTP without auth, where
   * every poll may come on a new connection) anyone holding the id.
   */
  #ownerOf(connection: Connection, auth: AuthInfo | undefined): string | null {
    if (auth) return `principal:${principalOf(auth)}`;
    if (connection.transport === 'stdio' || connection.transport === 'in-process') {
      let id = this.#connectionIds.get(connection);
      if (!id) this.#connectionIds.set(connection, (id = `connection:${(this.#nextConnection += 1)}`));
      return id;
    }
    return null;
  }

  async call(
    request: ToolCallRequest,
    channel: ReplyChannel,
    options: TaskToolOptions,
  ): Promise<ToolCallOutcome | undefined> {
    const declared = request.era === 'modern' && this.#module.declaresTasks(request.envelope);
    if (!declared) {
      if (options.support !== 'required') return undefined;
      const error = this.#module.missingTasksCapability(`tool "${request.target}"`);
      return { kind: 'error', code: error.code, message: error.message, data: error.data };
    }
    return serveTaskAugmented(this.#core, request, () => this.#answer(request, channel, options));
  }

  /** Creates the task and runs its first round; the task, or what the call answered before it detached. */
  async #answer(request: ToolCallRequest, channel: ReplyChannel, options: TaskToolOptions): Promise<ToolCallOutcome> {
    let round = 0;
    const progressToken = request.meta?.progressToken;
    let answer;
    try {
      answer = await this.runtime.call({
        tool: request.target,
        arguments: request.arguments,
        owner: this.#ownerOf(request.connection, request.auth),
        ttlMs: options.ttlMs ?? DEFAULT_TTL_MS,
        pollIntervalMs: options.pollIntervalMs ?? DEFAULT_POLL_MS,
        detachAfterMs: options.detachAfterMs ?? DEFAULT_DETACH_MS,
        requestSignal: request.signal,
        inputResponses: request.inputResponses,
        requestState: undefined,
        inlineProgress: (update) => {
          if (progressToken === undefined) return;
          void channel
            .notify({
              method: 'notifications/progress',
              params: { progressToken, progress: update.progress ?? 0, ...update },
            })
            .catch(() => undefined);
        },
        // The first round is the request's own (its verified requestState); later ones re-enter with the task's answers.
        run: (detached) => this.#round(request, channel, detached, round++ === 0),
        ...(options.rerunnable === true && { rerunnable: true }),
      });
    } catch (error) {
      if (error instanceof this.#module.TaskLimitError) {
        return {
          kind: 'result',
          result: { content: [{ type: 'text', text: `Server busy: ${error.message}.` }], isError: true },
        };
      }
      throw error;
    }
    if (answer.kind === 'task') return { kind: 'task', result: answer.result };
    const outcome = answer.outcome;
    switch (outcome.kind) {
      case 'result':
        return { kind: 'result', result: outcome.result as never };
      case 'input_required':
        return {
          kind: 'input_required',
          result: {
            resultType: 'input_required',
            inputRequests: outcome.inputRequests,
            ...(outcome.requestState !== undefined && { requestState: outcome.requestState }),
          } as never,
        };
      case 'error':
        return {
          kind: 'error',
          code: outcome.code,
          message: outcome.message,
          ...(outcome.data !== undefined && { data: outcome.data }),
        };
    }
  }

  /**
   * The runner of a task this process takes over from a vanished one (a shared
   * store's adoption): the same pipeline, entered with what the task recorded —
   * its tool, arguments and owner. Nothing of the original request survives
   * (its envelope, auth, progress token), which is why only a tool that
   * declares `task.rerunnable` is run again; `undefined` when this server has
   * no such tool.
   */
  rerun(task: TaskRecord): RoundRunner | undefined {
    if (this.#core.tools.taskOptionsOf(task.tool)?.rerunnable !== true) return undefined;
    const request: ToolCallRequest = {
      id: `rerun:${task.id}`,
      method: 'tools/call',
      target: task.tool,
      params: { name: task.tool, arguments: task.arguments ?? {} },
      arguments: task.arguments ?? undefined,
      meta: undefined,
      envelope: undefined,
      era: 'modern',
      connection: this.#connection,
      auth: undefined,
      signal: new AbortController().signal,
    };
    const silent: ReplyChannel = { notify: async () => undefined };
    return (round) => this.#round(request, silent, round, false);
  }

  /** One round of a task: the same pipeline, as a request of the task's own. */
  async #round(
    request: ToolCallRequest,
    channel: ReplyChannel,
    round: DetachedRound,
    first: boolean,
  ): Promise<RoundOutcome> {
    const core = this.#core;
    core.enterRequest();
    let release: (() => void) | undefined;
    try {
      // A task holds a slot of the server-wide limit like any call; its wait is bounded by its own
      // signal (TTL, cancel), not the call queue timeout, and shows as its status.
      release = core.callLimiter.tryAcquire();
      if (!release) {
        round.progress({
          message: `queued: waiting for a free slot (${core.callLimiter.active} running, ${core.callLimiter.pending} ahead)`,
        });
        release = await core.callLimiter.acquire({ signal: round.signal });
        round.progress({ message: 'running' });
      }
      const requestState = first ? request.requestState : await this.#decodedState(round.requestState);
      const taskRequest: ToolCallRequest = {
        ...request,
        meta: { ...request.meta, progressToken: TASK_PROGRESS_TOKEN },
        connection: this.#connection,
        signal: round.signal,
        // The round's signal is the task's, not one the call owns: its scope links it with shutdown.
        signalFollowsShutdown: false,
        ...(round.inputResponses !== undefined
          ? { inputResponses: round.inputResponses }
          : { inputResponses: undefined }),
        ...(requestState !== undefined && { requestState }),
        sdk: undefined,
        serverSlotHeld: true,
      };
      // The round's span is a child of the call that made the task (its trace context rides on the call's signal).
      const outcome = await withTraceContextOf(request.signal, () =>
        serveToolCall(core, taskRequest, taskChannel(channel, round)),
      );
      if (outcome.kind === 'error') return outcome;
      if (outcome.kind !== 'input_required')
        return { kind: 'result', result: { ...outcome.result, resultType: 'complete' } };
      const inputRequests = (outcome.result.inputRequests ?? {}) as Record<string, unknown>;
      // A task must not wait for an answer the client declared it cannot give (it would wait until its TTL).
      const missing = missingCapabilities(inputRequests, request.envelope);
      if (missing) {
        return {
          kind: 'error',
          code: ErrorCodes.MissingRequiredClientCapability,
          message: `the tool asked for input the client cannot give: it did not declare ${Object.keys(missing).join(', ')}`,
          data: { requiredCapabilities: missing },
        };
      }
      return {
        kind: 'input_required',
        inputRequests,
        ...(outcome.result.requestState !== undefined && { requestState: outcome.result.requestState }),
      };
    } catch (error) {
      if (round.signal.aborted) return { kind: 'error', code: ErrorCodes.InternalError, message: 'cancelled' };
      core.logger.error({ err: error, tool: request.target }, 'a task round failed');
      return { kind: 'error', code: ErrorCodes.InternalError, message: 'Internal error' };
    } finally {
      release?.();
      core.leaveRequest();
    }
  }

  async #decodedState(state: string | undefined): Promise<(() => unknown) | undefined> {
    if (state === undefined) return undefined;
    const decoded = await this.#core.verifyRequestState(state);
    return () => decoded;
  }
}

/** What flows back from a task round: progress becomes the status; anything else reaches the client only while the call is inline. */
function taskChannel(channel: ReplyChannel, round: DetachedRound): ReplyChannel {
  return {
    async notify(notification) {
      if (notification.method === 'notifications/progress') round.progress(notification.params as ProgressUpdate);
      else if (round.attached()) await channel.notify(notification);
    },
  };
}

/** The capabilities `inputRequests` need that the request's envelope does not declare, or `undefined`. */
function missingCapabilities(
  inputRequests: Record<string, unknown>,
  envelope: Record<string, unknown> | undefined,
): Record<string, object> | undefined {
  const declared = (envelope?.[CLIENT_CAPABILITIES_META_KEY] ?? {}) as Record<string, unknown>;
  const missing: Record<string, object> = {};
  for (const request of Object.values(inputRequests)) {
    const needed = CAPABILITY_FOR[(request as { method?: string } | undefined)?.method ?? ''];
    if (needed && declared[needed] === undefined) missing[needed] = {};
  }
  return Object.keys(missing).length > 0 ? missing : undefined;
}
