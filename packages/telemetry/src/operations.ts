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
  type Tracer,
} from '@opentelemetry/api';
import type { Middleware, OperationContext } from '@trellis/server';
import { failureKindOf } from '@trellis/tools';
import { ATTR, TOOL_ERROR } from './conventions.js';
import type { Instruments } from './instruments.js';

/**
 * The adapter between the server's pipeline and OpenTelemetry: one server span
 * per operation, named and attributed as the MCP conventions say, its parent
 * taken from `params._meta` (`traceparent`, `tracestate`, `baggage`) and the
 * ambient context (the HTTP request's own trace context) kept as a link;
 * the operation's duration, outcome and in-flight count as metrics. The
 * handler runs with the span active, so spans its work opens (queue waits,
 * queries, fetches) become its children.
 *
 * It attaches as a server-wide middleware, which runs around every operation
 * in the pipeline (fast path or SDK). The pipeline's operation observers
 * (`serveOperation`) are not used: an observer cannot run the handler inside
 * the span's context, so queries and fetches would lose their parent, and its
 * end report does not carry the result that says why a call failed (timeout,
 * busy). This is the one file to change if the observer hook grows both.
 */

const PROTOCOL_VERSION_KEY = 'io.modelcontextprotocol/protocolVersion';

export interface OperationTelemetryOptions {
  /** undefined: no tracing (metrics only). */
  tracer: Tracer | undefined;
  instruments: Instruments;
  /** `network.transport`: `pipe` on stdio, `tcp` on HTTP. */
  networkTransport: 'pipe' | 'tcp';
}

const metaGetter = {
  keys: (carrier: Record<string, unknown>) => Object.keys(carrier),
  get: (carrier: Record<string, unknown>, key: string) => {
    const value = carrier[key];
    return typeof value === 'string' ? value : undefined;
  },
};

/** How an operation ended, in the conventions' terms plus Trellis's own outcome. */
interface Ending {
  /** `error.type`, when it failed. */
  errorType?: string;
  /** `rpc.response.status_code`, for a JSON-RPC error. */
  statusCode?: string;
  message?: string;
  /** ok, tool_error, timeout, busy, cancelled, invalid_arguments, internal, or protocol_error. */
  outcome: string;
}

function endingOf(result: unknown): Ending {
  const kind = failureKindOf(result);
  if (kind) return { errorType: TOOL_ERROR, outcome: kind };
  if (typeof result === 'object' && result !== null && (result as { isError?: unknown }).isError === true)
    return { errorType: TOOL_ERROR, outcome: TOOL_ERROR };
  return { outcome: 'ok' };
}

function failureOf(error: unknown): Ending {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'number')
    return {
      errorType: String(code),
      statusCode: String(code),
      message: (error as Error).message,
      outcome: 'protocol_error',
    };
  return { errorType: '_OTHER', message: error instanceof Error ? error.message : String(error), outcome: 'internal' };
}

/** The middleware that measures every operation. */
export function operationTelemetry(options: OperationTelemetryOptions): Middleware {
  const { tracer, instruments, networkTransport } = options;
  return async function telemetry(op: OperationContext, next: () => Promise<unknown>): Promise<unknown> {
    const request = op.request;
    const method = op.operation;
    const meta = op.params._meta as Record<string, unknown> | undefined;
    const base: Attributes = { [ATTR.method]: method, [ATTR.networkTransport]: networkTransport };
    // 2026-07-28 requests carry it in their envelope (which the SDK lifts out of `_meta`; the fast path leaves it in).
    const envelope = request.sdk?.mcpReq.envelope as Record<string, unknown> | undefined;
    const protocolVersion = envelope?.[PROTOCOL_VERSION_KEY] ?? meta?.[PROTOCOL_VERSION_KEY];
    if (typeof protocolVersion === 'string') base[ATTR.protocolVersion] = protocolVersion;
    let spanName: string = method;
    if (op.target !== undefined) {
      if (method === 'tools/call') {
        base[ATTR.toolName] = op.target;
        base[ATTR.operationName] = 'execute_tool';
        spanName = `${method} ${op.target}`;
      } else if (method === 'prompts/get') {
        base[ATTR.promptName] = op.target;
        spanName = `${method} ${op.target}`;
      }
    }
    const tool = method === 'tools/call' ? op.target : undefined;
    if (tool !== undefined) instruments.callsInFlight.enter(tool);
    const startedAt = performance.now();

    let span: ReturnType<Tracer['startSpan']> | undefined;
    let active: Context | undefined;
    if (tracer) {
      const ambient = context.active();
      const parent =
        meta && typeof meta.traceparent === 'string' ? propagation.extract(ROOT_CONTEXT, meta, metaGetter) : undefined;
      const ambientSpan = trace.getSpanContext(ambient);
      // The MCP parent wins; the transport's context (an HTTP request's) is a link, as the conventions say.
      const links: Link[] | undefined =
        parent && ambientSpan ? [{ context: ambientSpan, attributes: { 'trellis.link': 'transport' } }] : undefined;
      const attributes: Attributes = { ...base, [ATTR.requestId]: String(request.requestId) };
      if (request.sessionId !== undefined) attributes[ATTR.sessionId] = request.sessionId;
      if (method === 'resources/read' && op.target !== undefined) attributes[ATTR.resourceUri] = op.target;
      span = tracer.startSpan(
        spanName,
        { kind: SpanKind.SERVER, attributes, ...(links && { links }) },
        parent ?? ambient,
      );
      active = trace.setSpan(parent ?? ambient, span);
    }

    let ending: Ending;
    try {
      const result = active ? await context.with(active, next) : await next();
      ending = endingOf(result);
      return result;
    } catch (error) {
      ending = failureOf(error);
      throw error;
    } finally {
      const seconds = (performance.now() - startedAt) / 1000;
      const attributes: Attributes =
        ending!.errorType === undefined ? base : { ...base, [ATTR.errorType]: ending!.errorType };
      if (ending!.statusCode !== undefined) attributes[ATTR.statusCode] = ending!.statusCode;
      instruments.operationDuration.record(seconds, attributes);
      if (tool !== undefined) {
        instruments.callsInFlight.leave(tool);
        instruments.callOutcomes.add(tool, ending!.outcome);
      }
      if (span) {
        if (ending!.errorType !== undefined) {
          span.setAttribute(ATTR.errorType, ending!.errorType);
          if (ending!.statusCode !== undefined) span.setAttribute(ATTR.statusCode, ending!.statusCode);
          span.setStatus({
            code: SpanStatusCode.ERROR,
            ...(ending!.message !== undefined && { message: ending!.message }),
          });
        }
        if (tool !== undefined && ending!.outcome !== 'ok') span.setAttribute(ATTR.outcome, ending!.outcome);
        span.end();
      }
    }
  };
}
