import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { OperationEnd, OperationObserver, OperationWatch, ServedOperation } from '@trellis/server';
import { failureKindOf } from '@trellis/tools';
import { ATTR, TOOL_ERROR } from './conventions.js';
import type { DurationHistogram, DurationSeries } from './durations.js';
import type { Instruments } from './instruments.js';

/**
 * The adapter between the server and OpenTelemetry: one server span per
 * request served, named and attributed as the MCP conventions say, its parent
 * taken from `params._meta` (`traceparent`, `tracestate`, `baggage`) and the
 * ambient context (the HTTP request's own trace context) kept as a link; the
 * request's duration, outcome and in-flight count as metrics.
 *
 * It is an operation observer (`server.observe`), which sees every request —
 * the pipeline's operations (fast path or SDK) and those the protocol answers
 * itself (`initialize`, `ping`, `server/discover`, `tasks/*`) — and whose
 * `run` puts the request's work (middleware, limits, handler) inside the
 * span's context, so spans that work opens (queue waits, queries, fetches,
 * task state changes) become its children.
 */

/**
 * The methods whose work can open spans of its own (queries, fetches, queue
 * waits, task changes): only these run inside the span's context. Entering a
 * context costs an AsyncLocalStorage switch per request; `initialize`, `ping`
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
/** At most this many series of `mcp.server.operation.duration` (the SDK's default cardinality limit is 2,000). */
const MAX_SERIES = 2_000;

export interface OperationTelemetryOptions {
  /** undefined: no tracing (metrics only). */
  tracer: Tracer | undefined;
  instruments: Instruments;
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
 * protocol version, how it failed), made once and kept: a request finds its
 * series by one string key instead of building an attribute set.
 */
class SeriesByKind {
  readonly #kept = new Map<string, DurationSeries>();
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
    const key = `${method}\u0000${name}\u0000${typeof version === 'string' ? version : ''}\u0000${ending.errorType ?? ''}\u0000${ending.statusCode ?? ''}`;
    const kept = this.#kept.get(key);
    if (kept) return kept;
    // Tool names a client made up must not grow the series without bound: past the limit they share one, as the SDK does.
    if (this.#kept.size >= MAX_SERIES)
      return (this.#overflow ??= this.#histogram.series({ 'otel.metric.overflow': true }));
    const attributes: Attributes = { [ATTR.method]: method, [ATTR.networkTransport]: this.#transport };
    if (tool !== undefined) attributes[ATTR.toolName] = tool;
    if (prompt !== undefined) attributes[ATTR.promptName] = prompt;
    if (typeof version === 'string') attributes[ATTR.protocolVersion] = version;
    if (ending.errorType !== undefined) attributes[ATTR.errorType] = ending.errorType;
    if (ending.statusCode !== undefined) attributes[ATTR.statusCode] = ending.statusCode;
    const series = this.#histogram.series(attributes);
    this.#kept.set(key, series);
    return series;
  }
}

/** The observer that measures every request. */
export function operationTelemetry(options: OperationTelemetryOptions): OperationObserver {
  const { tracer, instruments, networkTransport } = options;
  const series = new SeriesByKind(instruments.operationDuration, networkTransport);

  /** Starts the request's server span: its parent from `_meta`, the transport's context as a link. */
  function startSpan(
    op: ServedOperation,
    tool: string | undefined,
    prompt: string | undefined,
    version: string | undefined,
  ): { span: Span; active: Context | undefined } {
    const method = op.method;
    const meta = op.meta;
    const attributes: Attributes = {
      [ATTR.method]: method,
      [ATTR.networkTransport]: networkTransport,
      [ATTR.requestId]: String(op.requestId),
    };
    if (tool !== undefined) {
      attributes[ATTR.toolName] = tool;
      attributes[ATTR.operationName] = 'execute_tool';
    } else if (prompt !== undefined) attributes[ATTR.promptName] = prompt;
    else if (method === 'resources/read' && op.target !== undefined) attributes[ATTR.resourceUri] = op.target;
    else if (method === 'subscriptions/listen') addFilterAttributes(attributes, op.params?.notifications);
    if (version !== undefined) attributes[ATTR.protocolVersion] = version;
    if (op.sessionId !== undefined) attributes[ATTR.sessionId] = op.sessionId;
    const ambient = context.active();
    const parent =
      meta && typeof meta.traceparent === 'string' ? propagation.extract(ROOT_CONTEXT, meta, metaGetter) : undefined;
    const ambientSpan = parent ? trace.getSpanContext(ambient) : undefined;
    // The MCP parent wins; the transport's context (an HTTP request's) is a link, as the conventions say.
    const links: Link[] | undefined = ambientSpan
      ? [{ context: ambientSpan, attributes: { 'trellis.link': 'transport' } }]
      : undefined;
    const name = tool !== undefined ? `${method} ${tool}` : prompt !== undefined ? `${method} ${prompt}` : method;
    const span = tracer!.startSpan(
      name,
      { kind: SpanKind.SERVER, attributes, ...(links && { links }) },
      parent ?? ambient,
    );
    return { span, active: PARENTING_METHODS.has(method) ? trace.setSpan(parent ?? ambient, span) : undefined };
  }

  return function observeOperation(op: ServedOperation): OperationWatch {
    const method = op.method;
    const tool = method === 'tools/call' ? op.target : undefined;
    const prompt = method === 'prompts/get' ? op.target : undefined;
    const version = op.protocolVersion;
    // A task-augmented call's tool work is counted by its rounds (operations of their own).
    const counted = tool !== undefined && op.taskAugmented !== true;
    if (counted) instruments.callsInFlight.enter(tool);
    let span: Span | undefined;
    let active: Context | undefined;
    if (tracer) ({ span, active } = startSpan(op, tool, prompt, version));
    return {
      run: active ? (work) => context.with(active, work) : undefined,
      end(end) {
        const ending = endingOf(end);
        series.get(method, tool, prompt, version, ending).record(end.durationMs / 1000);
        if (counted) {
          instruments.callsInFlight.leave(tool);
          instruments.callOutcomes.add(tool, ending.outcome);
        }
        if (!span) return;
        if (ending.errorType !== undefined) {
          span.setAttribute(ATTR.errorType, ending.errorType);
          if (ending.statusCode !== undefined) span.setAttribute(ATTR.statusCode, ending.statusCode);
          span.setStatus({
            code: SpanStatusCode.ERROR,
            ...(ending.message !== undefined && { message: ending.message }),
          });
        }
        if (tool !== undefined && ending.outcome !== 'ok') span.setAttribute(ATTR.outcome, ending.outcome);
        if (op.taskAugmented) {
          const taskId = taskIdOf(end.result);
          if (taskId !== undefined) span.setAttribute(ATTR.taskId, taskId);
        }
        span.end();
      },
    };
  };
}
