import {
  isInputRequiredResult,
  ProtocolError,
  type AuthInfo,
  type CallToolResult,
  type CreateMessageRequest,
  type CreateMessageResult,
  type ElicitRequestFormParams,
  type ElicitResult,
  type InputRequiredResult,
  type ServerContext,
} from '@modelcontextprotocol/server';
import {
  observeQueueWait,
  SemaphoreTimeoutError,
  withTraceContextOf,
  type CancelScope,
  type Semaphore,
} from '@trellis/concurrency';
import {
  busyResult,
  ToolCallScope,
  type ToolCallAnswer,
  type ToolCallOptions,
  type ToolCallResult,
  type ToolRegistry,
} from '@trellis/tools';
import type { PromptRegistry } from '@trellis/prompts';
import type { ResourceRegistry } from '@trellis/resources';
import type { ServerChange } from './changes.js';
import type { Connection, TransportKind } from './connection.js';
import type { ProtocolEra, RequestContext } from './context.js';
import { ErrorCodes } from './error-codes.js';
import type { Logger } from './logging.js';
import { runMiddleware, type Middleware, type Operation } from './middleware.js';
import { buildRequestContext, narrowContext } from './request-context.js';
import type { ServiceKey } from './services.js';

/**
 * The one request pipeline. Every operation the server answers — a
 * `tools/call` taken by a transport's fast path as much as anything the SDK
 * dispatches — enters here as a Trellis-owned request value and a reply
 * channel: in-flight tracking on its owner (`Connection`), the cancel scope,
 * the handler context, middleware, limits, the registry, and the observers.
 * The SDK's handlers and each fast path only translate into it and encode
 * from its outcome; nothing runs a handler a second time.
 */

/** A request as the pipeline sees it, whoever received it. */
export interface OperationRequest {
  /** The JSON-RPC id. */
  readonly id: string | number;
  readonly method: Operation;
  /** The tool or prompt name, or the resource URI, when the operation has one. */
  readonly target: string | undefined;
  readonly params: Readonly<Record<string, unknown>>;
  /** The request's `_meta` as handlers see it (the 2026-07-28 envelope keys lifted out). */
  readonly meta: Record<string, unknown> | undefined;
  /** The reserved `io.modelcontextprotocol/*` keys of a 2026-07-28 request. */
  readonly envelope: Record<string, unknown> | undefined;
  readonly era: ProtocolEra;
  /** What owns the call: its in-flight record, session and log level. */
  readonly connection: Connection;
  /** Validated authentication of the HTTP request. */
  readonly auth: AuthInfo | undefined;
  /**
   * Aborts when the call's owner gives it up: from `connection.track()` (client
   * cancel, disconnect, the session or connection closing), or a task's own
   * signal. Server shutdown always applies on top.
   */
  readonly signal: AbortSignal;
  /**
   * `signal` is the call's own (made for it, dropped with it) and already
   * aborts on server shutdown, with its reason (a fast-path call's tracked
   * signal, linked to shutdown): the call's scope uses it as is, with no
   * combined signal of its own.
   */
  readonly signalFollowsShutdown?: boolean;
  /** 2026-07-28 multi-round-trip answers. */
  readonly inputResponses?: Record<string, unknown>;
  /** The verified `requestState` of a multi-round-trip retry. */
  readonly requestState?: () => unknown;
  /** The SDK's own handler context, when the SDK dispatched the request (tools declared `interactive`, and every other operation). */
  readonly sdk?: ServerContext;
  /**
   * A task's round: the Tasks extension already holds a slot of the server-wide
   * call limit for it (a task's wait for one is bounded by its TTL, not the queue timeout).
   */
  readonly serverSlotHeld?: boolean;
}

/** A `tools/call` request. */
export interface ToolCallRequest extends OperationRequest {
  readonly method: 'tools/call';
  readonly target: string;
  readonly arguments: Record<string, unknown> | undefined;
}

/** What flows back to the client while a request runs. */
export interface ReplyChannel {
  /** A notification related to the request (progress, a log line), sent where the answer will go. */
  notify(notification: { method: string; params?: Record<string, unknown> }): Promise<void>;
  /**
   * Push-style server-to-client requests (older protocol). Present only where the
   * request's path can carry them: the SDK's, for tools declared `interactive`.
   */
  readonly ask?: {
    elicit(params: ElicitRequestFormParams, signal: AbortSignal): Promise<ElicitResult>;
    sample(params: CreateMessageRequest['params'], signal: AbortSignal): Promise<CreateMessageResult>;
  };
}

/** How a `tools/call` ended, for the caller to encode. Never thrown. */
export type ToolCallOutcome =
  | { kind: 'result'; result: CallToolResult }
  /** The call became a task (the Tasks extension, 2026-07-28): the flat `CreateTaskResult`, `resultType: "task"`. */
  | { kind: 'task'; result: Record<string, unknown> }
  | { kind: 'input_required'; result: InputRequiredResult }
  | { kind: 'error'; code: number; message: string; data?: unknown };

/**
 * Every request method observers are told of: the pipeline's operations, and
 * the requests the protocol layer answers itself (`initialize`, `ping`,
 * `logging/setLevel`, `server/discover`, `tasks/*`, and any method a plugin adds).
 */
export type ObservedMethod = Operation | (string & {});

/** An operation the server is serving, as observers see it. */
export interface ServedOperation {
  readonly method: ObservedMethod;
  readonly target: string | undefined;
  readonly requestId: string | number;
  readonly era: ProtocolEra;
  readonly sessionId: string | undefined;
  readonly transport: TransportKind;
  /**
   * The protocol revision the request was served on: a 2026-07-28 request's
   * envelope names it; an older-protocol connection's is the one `initialize`
   * negotiated. `undefined` before negotiation.
   */
  readonly protocolVersion: string | undefined;
  /**
   * Set on a `tools/call` the Tasks extension answers (the client asked for a
   * task): its rounds are served as operations of their own (transport `task`)
   * under its context, so an observer should not count the tool's work twice.
   */
  readonly taskAugmented?: true;
  /** The request's params (read only; for `subscriptions/listen`, its filter). */
  readonly params?: Readonly<Record<string, unknown>> | undefined;
  /** The request's whole `_meta`, envelope keys included (trace context: `traceparent`, `tracestate`). */
  readonly meta: Readonly<Record<string, unknown>> | undefined;
  /**
   * The request's signal, from which every signal of its work (the handler's
   * `ctx.signal`, what it passes to queries and fetches) is derived: telemetry
   * carries the request's trace context on it (`carryTraceContext` of
   * `@trellis/concurrency`).
   */
  readonly signal?: AbortSignal | undefined;
  /** `performance.now()` when the pipeline took the request. */
  readonly startedAt: number;
}

/** How an observed operation ended. */
export interface OperationEnd {
  /** `result`, `isError` (a tool result the model reads), `input_required`, or `error` (a JSON-RPC error; `code` says which). */
  readonly outcome: 'result' | 'isError' | 'input_required' | 'error';
  readonly code?: number;
  /** Time spent waiting for the server-wide call limit (tools/call), in ms. */
  readonly queuedMs: number;
  /** From `startedAt` until the answer was ready, in ms. */
  readonly durationMs: number;
  /** The error, for `error` outcomes and handler failures that became `isError`. */
  readonly error?: unknown;
  /** The result the operation answered (for `result`, `isError`, `input_required`): e.g. a tool result's failure kind. */
  readonly result?: unknown;
}

/**
 * What an observer keeps for one operation: `end` is told how it ended, and
 * `run`, when given, runs the operation's work — middleware, limits, the
 * handler — so that the observer can give it an ambient context (a span's:
 * active while the work runs synchronously, or throughout with an
 * `AsyncLocalStorage` context manager). Work done after an `await` finds the
 * request's context through the request's signal (`ServedOperation.signal`).
 * `run` must call `work` exactly once and return what it returns.
 */
export interface OperationWatch {
  run?<T>(work: () => Promise<T>): Promise<T>;
  end(end: OperationEnd): void;
}

/**
 * Told of every request the server serves — the pipeline's operations and the
 * protocol's own (`initialize`, `ping`, `tasks/get`, ...) — as it is taken;
 * returns what to tell when it ends (a function, or an `OperationWatch` that
 * can also wrap the work), or nothing. With no observer registered nothing is
 * measured.
 * @example
 * server.observe((op) => {
 *   const span = tracer.startSpan(op.method);
 *   const active = trace.setSpan(context.active(), span);
 *   return { run: (work) => context.with(active, work), end: () => span.end() };
 * });
 */
export type OperationObserver = (operation: ServedOperation) => OperationWatch | ((end: OperationEnd) => void) | void;

/**
 * The narrow view of the server the pipeline and the handler context need
 * (implemented by `TrellisServer`; internal: not exported from the package).
 */
export interface PipelineHost {
  readonly tools: ToolRegistry<RequestContext>;
  readonly resources: ResourceRegistry<RequestContext>;
  readonly prompts: PromptRegistry<RequestContext>;
  readonly logger: Logger;
  readonly config: Readonly<Record<string, unknown>>;
  readonly shutdownSignal: AbortSignal;
  readonly callLimiter: Semaphore;
  readonly queueTimeoutMs: number;
  readonly observers: readonly OperationObserver[];
  middlewareFor(owner: string | undefined): readonly Middleware[];
  /** Counts a request for graceful shutdown; `leaveRequest()` exactly once when it ends. */
  enterRequest(): void;
  leaveRequest(): void;
  settings(): Record<string, unknown>;
  mintRequestState(payload: unknown): Promise<string>;
  /** A service, as the plugin `owner` may see it (its own, or a dependency's). */
  serviceFor<T>(owner: string | undefined, key: ServiceKey<T>): T;
  /** Listens for list changes and resource updates. */
  onChange(listener: (change: ServerChange) => void): () => void;
  /** The Tasks extension, loaded on first need (a tool that declares `taskSupport`). */
  taskCalls(): Promise<TaskCallServing>;
}

/** What the pipeline asks of the Tasks extension (`task-calls.ts`). */
export interface TaskCallServing {
  /** Answers a call of a tool that may run as a task, or `undefined` when it is an ordinary call (no extension declared). */
  call(
    request: ToolCallRequest,
    channel: ReplyChannel,
    options: NonNullable<ReturnType<ToolRegistry<RequestContext>['taskOptionsOf']>>,
  ): Promise<ToolCallOutcome | undefined>;
}

interface Measure {
  queuedMs: number;
}

/** The innermost step of an operation (the registry call), given everything it needs so that no closure is made per request. */
export type OperationStep<R> = (
  host: PipelineHost,
  request: OperationRequest,
  ctx: RequestContext,
  scope: CancelScope,
  measure: Measure | undefined,
) => Promise<R>;

/**
 * Serves one operation in `scope` (its signal follows `request.signal` and
 * shutdown): builds its context, runs middleware around `step`, and tells
 * observers. `measure` exists only when an observer listens.
 */
export function serveOperation<R>(
  host: PipelineHost,
  request: OperationRequest,
  channel: ReplyChannel,
  owner: string | undefined,
  scope: CancelScope,
  step: OperationStep<R>,
  classify: (result: R) => Pick<OperationEnd, 'outcome' | 'code' | 'error'> = classifyAsResult,
): Promise<R> {
  if (host.observers.length !== 0) return serveWatchedOperation(host, request, channel, owner, scope, step, classify);
  host.enterRequest();
  return runOperation(host, request, channel, owner, scope, undefined, step).then(
    (result) => {
      host.leaveRequest();
      return result;
    },
    (error: unknown) => {
      host.leaveRequest();
      throw error;
    },
  );
}

function classifyAsResult(): Pick<OperationEnd, 'outcome'> {
  return { outcome: 'result' };
}

/** The operation's work in its scope, without observers or the request count (the caller's). */
function runOperation<R>(
  host: PipelineHost,
  request: OperationRequest,
  channel: ReplyChannel,
  owner: string | undefined,
  scope: CancelScope,
  measure: Measure | undefined,
  step: OperationStep<R>,
): Promise<R> {
  let work: Promise<R>;
  try {
    const ctx = buildRequestContext(host, request, channel, scope, owner);
    work = runStep(host, request, ctx, scope, measure, host.middlewareFor(owner), step);
  } catch (error) {
    work = Promise.reject(error);
  }
  return scope.finish(work);
}

/** `serveOperation` with observers registered: they are told of it, and their `run` wraps its work. */
async function serveWatchedOperation<R>(
  host: PipelineHost,
  request: OperationRequest,
  channel: ReplyChannel,
  owner: string | undefined,
  scope: CancelScope,
  step: OperationStep<R>,
  classify: (result: R) => Pick<OperationEnd, 'outcome' | 'code' | 'error'>,
): Promise<R> {
  host.enterRequest();
  const watch = observe(host, operationOf(request));
  try {
    const result = await (watch?.wraps
      ? watch.run(() => runOperation(host, request, channel, owner, scope, watch, step))
      : runOperation(host, request, channel, owner, scope, watch, step));
    if (watch) {
      const { outcome, code, error } = classify(result);
      watch.end({ outcome, code, error, result });
    }
    return result;
  } catch (error) {
    if (watch) watch.end(thrownEnding(error));
    throw error;
  } finally {
    host.leaveRequest();
  }
}

/** Middleware around `step`, or `step` alone. */
function runStep<R>(
  host: PipelineHost,
  request: OperationRequest,
  ctx: RequestContext,
  scope: CancelScope,
  measure: Measure | undefined,
  middlewares: readonly Middleware[],
  step: OperationStep<R>,
): Promise<R> {
  if (middlewares.length === 0) return step(host, request, ctx, scope, measure);
  return runMiddleware(
    middlewares,
    { operation: request.method, target: request.target, params: request.params, request: ctx },
    () => step(host, request, ctx, scope, measure),
  ) as Promise<R>;
}

/**
 * Serves one `tools/call` and says how it ended: middleware, the server-wide
 * limit, the tool registry. A protocol error is an outcome, never thrown; an
 * `input_required` answer is only allowed from tools declared `interactive`.
 * This is also how a task runs a call detached from its request: pass a
 * connection of its own, the task's signal as `request.signal`, and a channel
 * whose `notify` records progress as the task's status.
 */
export function serveToolCall(
  host: PipelineHost,
  request: ToolCallRequest,
  channel: ReplyChannel,
): Promise<ToolCallOutcome> {
  // A tool that may run as a task is answered by the Tasks extension; its rounds come back here on a task's connection.
  const taskOptions = request.connection.transport === 'task' ? undefined : host.tools.taskOptionsOf(request.target);
  if (taskOptions) return serveTaskToolCall(host, request, channel, taskOptions);
  // Without a sink the outcome is always returned.
  return runToolCall(host, request, channel)!;
}

async function serveTaskToolCall(
  host: PipelineHost,
  request: ToolCallRequest,
  channel: ReplyChannel,
  taskOptions: Parameters<TaskCallServing['call']>[2],
): Promise<ToolCallOutcome> {
  const answer = await (await host.taskCalls()).call(request, channel, taskOptions);
  return answer ?? runToolCall(host, request, channel)!;
}

/**
 * Where a call's outcome goes for a caller that wants no promise of its own
 * (a fast path: one object per call, told once). `outcome` must not throw.
 */
export interface OutcomeSink {
  outcome(outcome: ToolCallOutcome): void;
}

/**
 * `serveToolCall` with the outcome told to `sink` instead of returned: on the
 * common path (no observer, no task) a call in flight then holds no promise
 * link of its caller's.
 */
export function serveToolCallInto(
  host: PipelineHost,
  request: ToolCallRequest,
  channel: ReplyChannel,
  sink: OutcomeSink,
): void {
  const taskOptions = request.connection.transport === 'task' ? undefined : host.tools.taskOptionsOf(request.target);
  if (!taskOptions) {
    void runToolCall(host, request, channel, sink);
    return;
  }
  serveTaskToolCall(host, request, channel, taskOptions).then(
    (outcome) => sink.outcome(outcome),
    (error: unknown) => sink.outcome(toolCallFailure(host, request.target, error)),
  );
}

/**
 * The call through the operation's steps, its end turned into an outcome
 * (and told to `sink`, when given). Observed or not, a call takes this one
 * path: the observers' watch is told by the `ToolCall` when its outcome is
 * known. Not an async function, and the scope's settling and the request
 * count are left in the same promise link that makes the outcome: a call in
 * flight holds one link here, not suspended frames.
 */
function runToolCall(
  host: PipelineHost,
  request: ToolCallRequest,
  channel: ReplyChannel,
  sink?: OutcomeSink,
): Promise<ToolCallOutcome> | undefined {
  let call: ToolCall;
  try {
    call = new ToolCall(host, request, sink);
  } catch (error) {
    const outcome = toolCallFailure(host, request.target, error);
    sink?.outcome(outcome);
    return Promise.resolve(outcome);
  }
  host.enterRequest();
  const watch = host.observers.length === 0 ? undefined : observe(host, operationOf(request));
  let work: Promise<ToolCallResult> | undefined;
  try {
    if (watch) call.watch = watch;
    work = watch?.wraps
      ? watch.run(() => startToolCall(host, request, channel, call) ?? TOLD_DIRECTLY)
      : startToolCall(host, request, channel, call);
  } catch (error) {
    // An observer's `run` that threw after the registry took the call: the registry still tells the call.
    if (call.direct) return undefined;
    work = Promise.reject(error);
  }
  if (call.direct) {
    // An observer's `run` must not change the answer, nor leave a rejection unhandled.
    if (work !== undefined && work !== TOLD_DIRECTLY) work.then(undefined, ignore);
    return undefined;
  }
  return work!.then(
    (result) => call.resolved(result),
    (error: unknown) => call.rejected(error),
  );
}

/** What the work inside an observer's `run` returns when the registry tells the call its answer directly. */
const TOLD_DIRECTLY: Promise<never> = new Promise<never>(() => undefined);

function ignore(): void {}

/**
 * Starts the call's steps: middleware, the server-wide limit, the registry.
 * Returns the step's promise, or `undefined` when nothing stands between the
 * call and the registry and a slot was free: the registry then tells the call
 * its answer (`callInto`), and the call its sink — the handler's promise is
 * the only link a call in flight holds.
 */
function startToolCall(
  host: PipelineHost,
  request: ToolCallRequest,
  channel: ReplyChannel,
  call: ToolCall,
): Promise<ToolCallResult> | undefined {
  const name = request.target;
  const owner = host.tools.ownerOf(name);
  const ctx = buildRequestContext(host, request, channel, call, owner);
  const middlewares = host.middlewareFor(owner);
  if (call.hasSink && middlewares.length === 0 && call.takeSlot()) {
    call.ctx = ctx;
    call.direct = true;
    try {
      host.tools.callInto(name, request.arguments, call);
    } catch (error) {
      call.direct = false;
      call.end();
      throw error;
    }
    return undefined;
  }
  // Only an observed call measures its wait in the queue (its watch keeps it).
  return runStep(host, request, ctx, call, call.watch, middlewares, callTool as OperationStep<ToolCallResult>);
}

function toolCallOutcome(result: ToolCallResult): ToolCallOutcome {
  if (isInputRequiredResult(result)) return { kind: 'input_required', result };
  return { kind: 'result', result: result as CallToolResult };
}

/** A protocol error is an outcome, never thrown; anything else is logged and answered as an internal error. */
function toolCallFailure(host: PipelineHost, name: string, error: unknown): ToolCallOutcome {
  if (error instanceof ProtocolError)
    return {
      kind: 'error',
      code: error.code,
      message: error.message,
      ...(error.data !== undefined && { data: error.data }),
    };
  host.logger.error({ err: error, tool: name }, 'tools/call failed');
  return { kind: 'error', code: ErrorCodes.InternalError, message: 'Internal error' };
}

function logFailure(host: PipelineHost, request: OperationRequest, error: unknown): void {
  host.logger.error({ err: error, tool: request.target, reqId: request.id }, 'tool call failed');
}

/** How a tool's answer ended, for the observers (a task's `CreateTaskResult` is a `result`). */
function toolOutcomeOf(result: ToolCallResult | Record<string, unknown>): OperationEnd['outcome'] {
  if (isInputRequiredResult(result)) return 'input_required';
  return (result as CallToolResult).isError ? 'isError' : 'result';
}

/** How an operation that threw ended, for the observers: a protocol error's code, any other error an internal one. */
function thrownEnding(error: unknown): Ending {
  return { outcome: 'error', code: error instanceof ProtocolError ? error.code : ErrorCodes.InternalError, error };
}

/**
 * The innermost step of a `tools/call`: a slot of the server-wide limit (at
 * once when one is free, else a wait in the queue), then the registry. Not an
 * async function: with a free slot, the registry's own promise is the step's
 * and frees the slot through `ToolCall.end()`.
 */
function callTool(
  host: PipelineHost,
  request: ToolCallRequest,
  ctx: RequestContext,
  call: ToolCall,
  measure: Measure | undefined,
): Promise<ToolCallResult> {
  call.ctx = ctx;
  if (!call.takeSlot()) return callToolQueued(host, request, call, measure);
  return host.tools.call(request.target, request.arguments, call);
}

/** No free slot of the server-wide limit: wait in its queue (bounded), then call. */
async function callToolQueued(
  host: PipelineHost,
  request: ToolCallRequest,
  call: ToolCall,
  measure: Measure | undefined,
): Promise<ToolCallResult> {
  const limiter = host.callLimiter;
  // Only a wait in the queue needs the request's signal (and a clock).
  const queuedAt = performance.now();
  try {
    const signal = call.signal;
    call.release = await observeQueueWait(
      'server',
      () => limiter.acquire({ signal, timeoutMs: host.queueTimeoutMs }),
      signal,
    );
  } catch (error) {
    if (error instanceof SemaphoreTimeoutError)
      return busyResult('the server', limiter.active, limiter.pending, host.queueTimeoutMs);
    throw error;
  } finally {
    if (measure) measure.queuedMs = performance.now() - queuedAt;
  }
  return host.tools.call(request.target, request.arguments, call);
}

/**
 * One `tools/call`: its scope (a `ToolCallScope`: signal, task group), and
 * what the registry needs of it — the handler's context, where failures are
 * logged, the slot of the server-wide limit to free when it ends. One object
 * with methods, so that a call in flight holds no closures for them.
 */
class ToolCall extends ToolCallScope<ToolCallResult> implements ToolCallOptions<RequestContext>, ToolCallAnswer {
  /** Set by `callTool` before the registry runs. */
  ctx: RequestContext | undefined;
  /** Holds a slot of the server-wide limit taken at once (`tryAcquirePermit`): no release function per call. */
  holdsPermit = false;
  /** The slot of the server-wide limit, once granted after a wait in its queue. */
  release: (() => void) | undefined;
  /** The observers' watch of the call, told how it ended before the sink is. */
  watch: Watches | undefined;
  /** Whether the registry tells the call its answer (`callInto`) rather than a promise of the caller's. */
  direct = false;

  constructor(
    private readonly host: PipelineHost,
    private readonly request: ToolCallRequest,
    /** Told the outcome, when the caller wants no promise of its own. */
    private readonly sink: OutcomeSink | undefined,
  ) {
    super(request.signalFollowsShutdown ? request.signal : [request.signal, host.shutdownSignal]);
  }

  get hasSink(): boolean {
    return this.sink !== undefined;
  }

  /**
   * Whether the call may run now: a task round holds its slot of the
   * server-wide limit already (the Tasks extension releases it); otherwise
   * one is taken if free, else the call must wait in the queue.
   */
  takeSlot(): boolean {
    if (this.request.serverSlotHeld) return true;
    if (!this.host.callLimiter.tryAcquirePermit()) return false;
    this.holdsPermit = true;
    return true;
  }

  /** The registry's view: the call is its own scope. */
  get scope(): CancelScope {
    return this;
  }

  /** The handler starts with the request's trace context active (when telemetry carries one on its signal). */
  aroundHandler<A, C, R>(handler: (args: A, ctx: C) => R, args: A, ctx: C): R {
    return withTraceContextOf(this.request.signal, handler, args, ctx);
  }

  context(callScope: CancelScope): RequestContext {
    return callScope === this ? this.ctx! : narrowContext(this.ctx!, callScope);
  }

  onError(error: unknown, tool: string, expected?: boolean): void {
    if (expected) this.ctx!.log.warn({ tool, reason: (error as Error).message }, 'tool call timed out');
    else this.ctx!.log.error({ err: error, tool }, 'tool call failed');
  }

  /** The step succeeded: settle the scope, count the request out, and say the outcome. */
  resolved(result: ToolCallResult): ToolCallOutcome | Promise<ToolCallOutcome> {
    const settled = this.completed(result);
    if (settled instanceof Promise)
      return settled.then(
        (answer) => this.#outcome(answer),
        (error: unknown) => this.#failure(error),
      );
    return this.#outcome(settled);
  }

  /** The step failed: settle the scope (its children aborted with the error), count the request out, and say the outcome. */
  rejected(error: unknown): ToolCallOutcome | Promise<ToolCallOutcome> {
    const waiting = this.failedWith(error);
    if (waiting) return waiting.then(() => this.#failure(error));
    return this.#failure(error);
  }

  #outcome(result: ToolCallResult): ToolCallOutcome {
    this.watch?.end({ outcome: toolOutcomeOf(result), result });
    this.host.leaveRequest();
    return this.#told(toolCallOutcome(result));
  }

  #failure(error: unknown): ToolCallOutcome {
    this.watch?.end(thrownEnding(error));
    this.host.leaveRequest();
    return this.#told(toolCallFailure(this.host, this.request.target, error));
  }

  #told(outcome: ToolCallOutcome): ToolCallOutcome {
    this.sink?.outcome(outcome);
    return outcome;
  }

  end(): void {
    if (this.holdsPermit) {
      this.holdsPermit = false;
      this.host.callLimiter.releasePermit();
    }
    const release = this.release;
    this.release = undefined;
    release?.();
  }

  /** Children of the handler's task group failed and the handler never looked: the call's answer. */
  protected override unobserved(failures: unknown[]): ToolCallResult {
    const { host, request } = this;
    return host.tools.unobservedChildResult(request.target, failures, (error) => logFailure(host, request, error));
  }
}

/** The request as observers see it. */
function operationOf(request: OperationRequest): ServedOperation {
  return {
    method: request.method,
    target: request.target,
    requestId: request.id,
    era: request.era,
    sessionId: request.connection.sessionId ?? request.sdk?.sessionId,
    transport: request.connection.transport,
    protocolVersion: protocolVersionOf(request.envelope, request.connection),
    meta: request.envelope ? { ...request.meta, ...request.envelope } : request.meta,
    signal: request.signal,
    startedAt: performance.now(),
  };
}

const PROTOCOL_VERSION_KEY = 'io.modelcontextprotocol/protocolVersion';

/** The envelope's revision (2026-07-28), else the one the connection's `initialize` negotiated. */
function protocolVersionOf(
  envelope: Readonly<Record<string, unknown>> | undefined,
  connection: Connection,
): string | undefined {
  const stated = envelope?.[PROTOCOL_VERSION_KEY];
  if (typeof stated === 'string') return stated;
  // Deprecated for 2026-07-28 requests (whose envelope is read above); on an older-protocol connection it is the negotiated version.
  return connection.protocol?.getNegotiatedProtocolVersion();
}

/**
 * Serves a task-augmented `tools/call` (the Tasks extension's `answer`) under
 * the observers, as the operation it is: its rounds, started inside `answer`,
 * run in the observers' context (`run`), so their spans are its children. How
 * it ended: a task created (`result`, the `CreateTaskResult`), or what the
 * call answered inline.
 */
export async function serveTaskAugmented(
  host: PipelineHost,
  request: ToolCallRequest,
  answer: () => Promise<ToolCallOutcome>,
): Promise<ToolCallOutcome> {
  const watch =
    host.observers.length === 0 ? undefined : observe(host, { ...operationOf(request), taskAugmented: true });
  if (!watch) return answer();
  try {
    const outcome = await (watch.wraps ? watch.run(answer) : answer());
    watch.end(
      outcome.kind === 'error'
        ? { outcome: 'error', code: outcome.code, error: new ProtocolError(outcome.code, outcome.message) }
        : { outcome: toolOutcomeOf(outcome.result), result: outcome.result },
    );
    return outcome;
  } catch (error) {
    watch.end({ outcome: 'error', code: ErrorCodes.InternalError, error });
    throw error;
  }
}

/** What a watched operation's steps measure for its observers. */
type Ending = Omit<OperationEnd, 'durationMs' | 'queuedMs'>;

/**
 * The observers' watches of one operation, as one: their `run`s nested (the
 * first registered outermost), every `end` told. It is also where the steps
 * measure the operation (`Measure`): an unobserved one measures nothing.
 */
class Watches implements Measure {
  /** Whether some watch wraps the work. */
  readonly wraps: boolean;
  queuedMs = 0;

  constructor(
    private readonly list: readonly (OperationWatch | ((end: OperationEnd) => void))[],
    private readonly startedAt: number,
  ) {
    this.wraps = list.some((watch) => typeof watch !== 'function' && watch.run !== undefined);
  }

  run<T>(work: () => Promise<T>, from = 0): Promise<T> {
    const list = this.list;
    for (let i = from; i < list.length; i++) {
      const watch = list[i]!;
      if (typeof watch === 'function' || !watch.run) continue;
      return i === list.length - 1 ? watch.run(work) : watch.run(() => this.run(work, i + 1));
    }
    return work();
  }

  end(info: Ending): void {
    // One literal of one shape for every end (spreading the caller's object and adding a property to it
    // was a measurable share of an observed call's cost).
    const end: OperationEnd = {
      outcome: info.outcome,
      code: info.code,
      queuedMs: this.queuedMs,
      durationMs: performance.now() - this.startedAt,
      error: info.error,
      result: info.result,
    };
    for (const watch of this.list) {
      try {
        if (typeof watch === 'function') watch(end);
        else watch.end(end);
      } catch {
        // An observer must not change the answer.
      }
    }
  }
}

function observe(host: PipelineHost, operation: ServedOperation): Watches | undefined {
  let list: (OperationWatch | ((end: OperationEnd) => void))[] | undefined;
  for (const observer of host.observers) {
    try {
      const watch = observer(operation);
      if (watch) (list ??= []).push(watch);
    } catch (error) {
      host.logger.warn({ err: error }, 'an operation observer failed');
    }
  }
  return list && new Watches(list, operation.startedAt);
}

/**
 * Serves a request the protocol layer answers without the pipeline
 * (`initialize`, `ping`, `logging/setLevel`, `server/discover`, `tasks/*`, a
 * plugin's own methods) under the observers, like any operation: they are
 * told of it and of its end, and `handler` runs inside their `run`. Called by
 * the protocol object for every method `isPipelineOperation` says no to; with
 * no observer registered it costs one length check.
 */
export async function serveObserved<R>(
  host: PipelineHost,
  connection: Connection,
  method: string,
  ctx: ServerContext,
  handler: () => Promise<R>,
  params?: Readonly<Record<string, unknown>>,
): Promise<R> {
  if (host.observers.length === 0) return handler();
  const req = ctx.mcpReq;
  const meta = req._meta as Record<string, unknown> | undefined;
  const envelope = req.envelope as Record<string, unknown> | undefined;
  const watch = observe(host, {
    method,
    target: undefined,
    requestId: req.id,
    era: connection.era ?? 'legacy',
    sessionId: connection.sessionId ?? ctx.sessionId,
    transport: connection.transport,
    protocolVersion: protocolVersionOf(envelope, connection),
    meta: envelope ? { ...meta, ...envelope } : meta,
    params,
    signal: req.signal,
    startedAt: performance.now(),
  });
  if (!watch) return handler();
  try {
    const result = await (watch.wraps ? watch.run(handler) : handler());
    watch.end({ outcome: 'result', result });
    return result;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    watch.end({
      outcome: 'error',
      code: Number.isSafeInteger(code) ? (code as number) : ErrorCodes.InternalError,
      error,
    });
    throw error;
  }
}

/** A request a transport serves itself, under the observers: `run` its work, then `end` it once. */
export interface RequestObservation {
  run<T>(work: () => Promise<T>): Promise<T>;
  end(end: Omit<OperationEnd, 'durationMs' | 'queuedMs'>): void;
}

/**
 * Observes a request that neither the pipeline nor an SDK handler serves —
 * the SDK's serving entry answers `subscriptions/listen` itself, so the
 * transport that hands it over reports it here: taken now, ended when the
 * transport says (a listen stream: when it closes). `undefined` with no
 * observer registered.
 */
export function observeRequest(
  host: PipelineHost,
  operation: Omit<ServedOperation, 'startedAt'>,
): RequestObservation | undefined {
  if (host.observers.length === 0) return undefined;
  const watch = observe(host, { ...operation, startedAt: performance.now() });
  if (!watch) return undefined;
  let ended = false;
  return {
    run: (work) => (watch.wraps ? watch.run(work) : work()),
    end(end) {
      if (ended) return;
      ended = true;
      watch.end(end);
    },
  };
}

/** Whether `serveOperation` observes `method` itself (its handler needs no wrapping). */
export function isPipelineOperation(method: string): boolean {
  return PIPELINE_OPERATIONS.has(method);
}

/** The operations `serveOperation` observes itself. */
const PIPELINE_OPERATIONS: ReadonlySet<string> = new Set<Operation>([
  'tools/list',
  'tools/call',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'prompts/list',
  'prompts/get',
  'completion/complete',
]);
