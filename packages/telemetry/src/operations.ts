import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { carryTraceContext, releaseTraceContext } from '@trellis/concurrency';
import type { OperationEnd, OperationObserver, OperationWatch, ServedOperation } from '@trellis/server';
import { failureKindOf } from '@trellis/tools';
import { ATTR, TOOL_ERROR } from './conventions.js';
import type { DurationHistogram, DurationSeries } from './durations.js';
import type { Instruments } from './instruments.js';
import { withSpan } from './span-context.js';
import type { TaskTelemetry } from './tasks.js';

/**
 * The adapter between the server and OpenTelemetry: one server span per
 * request served, named and attributed as the MCP conventions say, its parent
 * taken from `params._meta` (`traceparent`, `tracestate`, `baggage`) and the
 * ambient context (the HTTP request's own trace context) kept as a link; the
 * request's duration, outcome and in-flight count as metrics.
 *
 * It is an operation observer (`server.observe`), which sees every request —
 * the pipeline's operations (fast path or SDK) and those the protocol answers
 * itself (`initialize`, `ping`, `server/discover`, `tasks/*`). The span's
 * context rides on the request's signal (`carryTraceContext`), from which the
 * signals of all its work derive, so spans that work opens (queue waits,
 * queries, fetches, worker jobs, task rounds) become its children; a
 * `tasks/*` request is the cause of the state changes of the task it names;
 * and `run` makes it the active context while the request's work runs
 * synchronously (the handler up to its first `await`).
 */

/**
 * The methods whose work can open spans of its own (queries, fetches, queue
 * waits, task changes): only these carry the span's context and run inside
 * it. Making that context costs an allocation per request (and, with
 * TELEMETRY_CONTEXT=async, an AsyncLocalStorage switch); `initialize`, `ping`
 * and the list calls have no children to parent.
 */
const PARENTING_METHODS: ReadonlySet<string> = new Set([
  'tools/call',
  'resources/read',
  'prompts/get',
  'completion/complete',
  'tasks/get',
  'tasks/update',
  'tasks/cancel',
]);
/** The options of every server span without a link (one object, not one per request). */
const SERVER_SPAN = Object.freeze({ kind: SpanKind.SERVER });
/** At most this many series of `mcp.server.operation.duration` (the SDK's default cardinality limit is 2,000). */
const MAX_SERIES = 2_000;

export interface OperationTelemetryOptions {
  /** undefined: no tracing (metrics only). */
  tracer: Tracer | undefined;
  instruments: Instruments;
  /** Told which task a `tasks/*` request is serving, so that the changes it makes are its children. */
  tasks?: TaskTelemetry;
  /** `network.transport`: `pipe` on stdio, `tcp` on HTTP. */
  networkTransport: 'pipe' | 'tcp';
}

const metaGetter = {
  keys: (carrier: Readonly<Record<string, unknown>>) => Object.keys(carrier),
  get: (carrier: Readonly<Record<string, unknown>>, key: string) => {
    const value = carrier[key];
    return typeof value === 'string' ? value : undefined;
  },
};

/** How an operation ended, in the conventions' terms plus Trellis's own outcome. */
interface Ending {
  /** `error.type`, when it failed. */
  errorType: string | undefined;
  /** `rpc.response.status_code`, for a JSON-RPC error. */
  statusCode: string | undefined;
  message: string | undefined;
  /** ok, tool_error, timeout, busy, cancelled, invalid_arguments, internal, or protocol_error. */
  outcome: string;
}

const OK: Ending = { errorType: undefined, statusCode: undefined, message: undefined, outcome: 'ok' };

function endingOf(end: OperationEnd): Ending {
  switch (end.outcome) {
    case 'result':
    case 'input_required':
      return OK;
    case 'isError':
      return {
        errorType: TOOL_ERROR,
        statusCode: undefined,
        message: undefined,
        outcome: failureKindOf(end.result) ?? TOOL_ERROR,
      };
    case 'error': {
      const error = end.error;
      const code = (error as { code?: unknown } | null | undefined)?.code;
      const message = error instanceof Error ? error.message : error === undefined ? undefined : String(error);
      // A protocol error carries its JSON-RPC code; anything else is a failure of the server's own.
      if (typeof code === 'number' || error === undefined)
        return {
          errorType: String(code ?? end.code),
          statusCode: String(code ?? end.code),
          message,
          outcome: 'protocol_error',
        };
      return { errorType: '_OTHER', statusCode: undefined, message, outcome: 'internal' };
    }
  }
}

/**
 * A `subscriptions/listen` filter as attributes: the change kinds asked for
 * (`toolsListChanged`, ...) and how many resources it watches (never their
 * URIs: they can be many and private).
 */
function addFilterAttributes(attributes: Attributes, filter: unknown): void {
  if (typeof filter !== 'object' || filter === null) return;
  const kinds: string[] = [];
  for (const [kind, wanted] of Object.entries(filter)) {
    if (kind === 'resourceSubscriptions') continue;
    if (wanted === true) kinds.push(kind);
  }
  const resources = (filter as { resourceSubscriptions?: unknown }).resourceSubscriptions;
  if (Array.isArray(resources)) {
    kinds.push('resourceSubscriptions');
    attributes[ATTR.subscribedResources] = resources.length;
  }
  attributes[ATTR.subscriptionFilter] = kinds.sort();
}

/** The id of the task a task-augmented call created (its `CreateTaskResult`, flat or with `task`). */
function taskIdOf(result: unknown): string | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  const flat = (result as { taskId?: unknown }).taskId;
  if (typeof flat === 'string') return flat;
  const nested = (result as { task?: { taskId?: unknown } }).task?.taskId;
  return typeof nested === 'string' ? nested : undefined;
}

/**
 * The duration series of each kind of request (method, tool or prompt,
 * protocol version, how it failed), made once and kept. A request that
 * succeeded finds its series through three map lookups on strings it already
 * has (no key or attribute set is built per request); a failure, rarer, by a
 * composed key.
 */
class SeriesByKind {
  /** Succeeded requests: method → tool or prompt name ('' for none) → protocol version ('' for none). */
  readonly #ok = new Map<string, Map<string, Map<string, DurationSeries>>>();
  readonly #failed = new Map<string, DurationSeries>();
  #count = 0;
  #overflow: DurationSeries | undefined;
  readonly #histogram: DurationHistogram;
  readonly #transport: string;

  constructor(histogram: DurationHistogram, transport: string) {
    this.#histogram = histogram;
    this.#transport = transport;
  }

  get(
    method: string,
    tool: string | undefined,
    prompt: string | undefined,
    version: unknown,
    ending: Ending,
  ): DurationSeries {
    const name = tool ?? prompt ?? '';
    const stated = typeof version === 'string' ? version : '';
    if (ending.errorType === undefined && ending.statusCode === undefined) {
      const kept = this.#ok.get(method)?.get(name)?.get(stated);
      if (kept) return kept;
      const series = this.#make(method, tool, prompt, version, ending);
      if (series === this.#overflow) return series;
      let byName = this.#ok.get(method);
      if (!byName) this.#ok.set(method, (byName = new Map()));
      let byVersion = byName.get(name);
      if (!byVersion) byName.set(name, (byVersion = new Map()));
      byVersion.set(stated, series);
      return series;
    }
    const key = `${method}\u0000${name}\u0000${stated}\u0000${ending.errorType ?? ''}\u0000${ending.statusCode ?? ''}`;
    const kept = this.#failed.get(key);
    if (kept) return kept;
    const series = this.#make(method, tool, prompt, version, ending);
    if (series !== this.#overflow) this.#failed.set(key, series);
    return series;
  }

  #make(
    method: string,
    tool: string | undefined,
    prompt: string | undefined,
    version: unknown,
    ending: Ending,
  ): DurationSeries {
    // Tool names a client made up must not grow the series without bound: past the limit they share one, as the SDK does.
    if (this.#count >= MAX_SERIES) return (this.#overflow ??= this.#histogram.series({ 'otel.metric.overflow': true }));
    this.#count++;
    const attributes: Attributes = { [ATTR.method]: method, [ATTR.networkTransport]: this.#transport };
    if (tool !== undefined) attributes[ATTR.toolName] = tool;
    if (prompt !== undefined) attributes[ATTR.promptName] = prompt;
    if (typeof version === 'string') attributes[ATTR.protocolVersion] = version;
    if (ending.errorType !== undefined) attributes[ATTR.errorType] = ending.errorType;
    if (ending.statusCode !== undefined) attributes[ATTR.statusCode] = ending.statusCode;
    return this.#histogram.series(attributes);
  }
}

/** Span names (`tools/call echo`), made once per method and target instead of per request. */
class SpanNames {
  readonly #byMethod = new Map<string, Map<string, string>>();
  #count = 0;

  of(method: string, target: string | undefined): string {
    if (target === undefined) return method;
    let byTarget = this.#byMethod.get(method);
    if (!byTarget) this.#byMethod.set(method, (byTarget = new Map()));
    let name = byTarget.get(target);
    if (name === undefined) {
      name = `${method} ${target}`;
      // Names a client made up are not kept past the limit (they are made per request then).
      if (this.#count < MAX_SERIES) {
        this.#count++;
        byTarget.set(target, name);
      }
    }
    return name;
  }
}

/** What every request's watch needs of its observer. */
interface Measuring {
  readonly series: SeriesByKind;
  readonly instruments: Instruments;
}

/** The tool a request calls (`tools/call`). */
function toolOf(op: ServedOperation): string | undefined {
  return op.method === 'tools/call' ? op.target : undefined;
}

/** The prompt a request gets (`prompts/get`). */
function promptOf(op: ServedOperation): string | undefined {
  return op.method === 'prompts/get' ? op.target : undefined;
}

/**
 * Whether a request counts in calls in flight and call outcomes: a tool call,
 * but not a task-augmented one (its rounds are counted, operations of their own).
 */
function isCountedCall(op: ServedOperation): boolean {
  return op.method === 'tools/call' && op.target !== undefined && op.taskAugmented !== true;
}

/**
 * One request's watch: its duration and outcome as metrics. A class, so that
 * a request costs one object, not a closure per method and captured variable;
 * what it needs to know of the request it reads from `op` when it ends.
 */
class MeteredRequest implements OperationWatch {
  constructor(
    protected readonly measuring: Measuring,
    protected readonly op: ServedOperation,
  ) {}

  end(end: OperationEnd): void {
    this.ended(end);
  }

  protected ended(end: OperationEnd): Ending {
    const { measuring, op } = this;
    const ending = endingOf(end);
    measuring.series.get(op.method, toolOf(op), promptOf(op), op.protocolVersion, ending).record(end.durationMs / 1000);
    if (isCountedCall(op)) {
      measuring.instruments.callsInFlight.leave(op.target!);
      measuring.instruments.callOutcomes.add(op.target!, ending.outcome);
    }
    return ending;
  }
}

/** A request's watch with its server span (a sampled or unsampled one). */
class TracedRequest extends MeteredRequest {
  constructor(
    measuring: Measuring,
    op: ServedOperation,
    private readonly span: Span,
  ) {
    super(measuring, op);
  }

  override end(end: OperationEnd): void {
    const ending = this.ended(end);
    this.endSpan(end, ending);
  }

  protected endSpan(end: OperationEnd, ending: Ending): void {
    const { span } = this;
    if (ending.errorType !== undefined) {
      span.setAttribute(ATTR.errorType, ending.errorType);
      if (ending.statusCode !== undefined) span.setAttribute(ATTR.statusCode, ending.statusCode);
      span.setStatus({
        code: SpanStatusCode.ERROR,
        ...(ending.message !== undefined && { message: ending.message }),
      });
    }
    if (this.op.method === 'tools/call' && ending.outcome !== 'ok') span.setAttribute(ATTR.outcome, ending.outcome);
    if (this.op.taskAugmented) {
      const taskId = taskIdOf(end.result);
      if (taskId !== undefined) span.setAttribute(ATTR.taskId, taskId);
    }
    span.end();
  }
}

/**
 * A request's watch whose span parents the spans of its work: its context is
 * carried on the request's signal while it is served, and `run` makes it the
 * active context while the work runs synchronously.
 */
class ParentingRequest extends TracedRequest {
  constructor(
    measuring: Measuring,
    op: ServedOperation,
    span: Span,
    private readonly active: Context,
    /** The request's signal, carrying `active` until the request ends. */
    private readonly carrier: AbortSignal | undefined,
    /** Ends the `tasks/*` request's claim on the task it serves. */
    private readonly servingTask: (() => void) | undefined,
  ) {
    super(measuring, op, span);
  }

  run<T>(work: () => Promise<T>): Promise<T> {
    return context.with(this.active, work);
  }

  override end(end: OperationEnd): void {
    if (this.carrier) releaseTraceContext(this.carrier);
    this.servingTask?.();
    super.end(end);
  }
}

/** The observer that measures every request. */
export function operationTelemetry(options: OperationTelemetryOptions): OperationObserver {
  const { tracer, instruments, networkTransport, tasks } = options;
  const measuring: Measuring = {
    series: new SeriesByKind(instruments.operationDuration, networkTransport),
    instruments,
  };
  const names = new SpanNames();

  /** Starts the request's server span: its parent from `_meta`, the transport's context as a link. */
  function startSpan(op: ServedOperation): { span: Span; parent: Context } {
    const { method, protocolVersion: version } = op;
    const tool = toolOf(op);
    const prompt = promptOf(op);
    const meta = op.meta;
    const ambient = context.active();
    const parent =
      meta && typeof meta.traceparent === 'string' ? propagation.extract(ROOT_CONTEXT, meta, metaGetter) : undefined;
    const ambientSpan = parent ? trace.getSpanContext(ambient) : undefined;
    // The MCP parent wins; the transport's context (an HTTP request's) is a link, as the conventions say.
    const span = tracer!.startSpan(
      names.of(method, tool ?? prompt),
      ambientSpan
        ? { kind: SpanKind.SERVER, links: [{ context: ambientSpan, attributes: { 'trellis.link': 'transport' } }] }
        : SERVER_SPAN,
      parent ?? ambient,
    );
    // Set on the span rather than passed to startSpan, which copies an attribute set twice before the span
    // copies it again; only a sampler could tell, and the samplers OTEL_TRACES_SAMPLER names read no attributes.
    if (span.isRecording()) {
      span.setAttribute(ATTR.method, method);
      span.setAttribute(ATTR.networkTransport, networkTransport);
      span.setAttribute(ATTR.requestId, String(op.requestId));
      if (tool !== undefined) {
        span.setAttribute(ATTR.toolName, tool);
        span.setAttribute(ATTR.operationName, 'execute_tool');
      } else if (prompt !== undefined) span.setAttribute(ATTR.promptName, prompt);
      else if (method === 'resources/read' && op.target !== undefined) span.setAttribute(ATTR.resourceUri, op.target);
      else if (method === 'subscriptions/listen') {
        const filter: Attributes = {};
        addFilterAttributes(filter, op.params?.notifications);
        span.setAttributes(filter);
      }
      if (version !== undefined) span.setAttribute(ATTR.protocolVersion, version);
      if (op.sessionId !== undefined) span.setAttribute(ATTR.sessionId, op.sessionId);
    }
    return { span, parent: parent ?? ambient };
  }

  return function observeOperation(op: ServedOperation): OperationWatch {
    const method = op.method;
    if (isCountedCall(op)) instruments.callsInFlight.enter(op.target!);
    if (!tracer) return new MeteredRequest(measuring, op);
    const { span, parent } = startSpan(op);
    if (!PARENTING_METHODS.has(method)) return new TracedRequest(measuring, op, span);
    // The request's context: what its work's spans take as parent (carried on its signal) and what `run` makes active.
    const active = withSpan(parent, span);
    const carrier = op.signal;
    if (carrier) carryTraceContext(carrier, active);
    const taskId = op.params?.taskId;
    const servingTask =
      tasks && typeof taskId === 'string' && method.startsWith('tasks/') ? tasks.serving(taskId, active) : undefined;
    return new ParentingRequest(measuring, op, span, active, carrier, servingTask);
  };
}
