import { context, metrics, SpanKind, SpanStatusCode, trace, type BatchObservableResult } from '@opentelemetry/api';
import { traceContextOf } from '@trellis/concurrency';

/**
 * A client span around one HTTP exchange (one hop: redirects and retries each
 * get their own), by the OpenTelemetry HTTP conventions: method, host, port
 * and status, never the path or query (they may carry tokens); a child of
 * the request `signal` belongs to (`traceContextOf`). Through
 * `@opentelemetry/api`, which does nothing unless an app set up telemetry.
 */
export async function traceExchange<T extends { statusCode: number }>(
  method: string,
  url: URL,
  signal: AbortSignal,
  send: () => Promise<T>,
): Promise<T> {
  const attributes = {
    'http.request.method': method,
    'server.address': url.hostname,
    'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    'url.scheme': url.protocol.slice(0, -1),
  };
  const parent = traceContextOf(signal);
  const span = trace.getTracer('@trellis/http').startSpan(method, { kind: SpanKind.CLIENT, attributes }, parent);
  try {
    const response = await context.with(trace.setSpan(parent, span), send);
    span.setAttribute('http.response.status_code', response.statusCode);
    if (response.statusCode >= 400) {
      span.setAttribute('error.type', String(response.statusCode));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    return response;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    span.setAttribute('error.type', typeof code === 'string' ? code : error instanceof Error ? error.name : '_OTHER');
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw error;
  } finally {
    span.end();
  }
}

/** What `observeConnections` reads: per-origin figures of an undici Agent (`agent.stats`). */
type OriginStats = Record<string, { connected?: number | boolean; free?: number; pending?: number; running?: number }>;

/**
 * `trellis.http.connections` (by state: connected, free) and `trellis.http.requests` (by state:
 * pending, running) over every origin of the plugin's agent, observed when telemetry collects.
 * Returns what stops observing (at close).
 */
export function observeConnections(stats: () => OriginStats): () => void {
  const meter = metrics.getMeter('@trellis/http');
  const connections = meter.createObservableGauge('trellis.http.connections', {
    description: 'Pooled connections of the http plugin, by state',
    unit: '{connection}',
  });
  const requests = meter.createObservableGauge('trellis.http.requests', {
    description: 'Requests of the http plugin being sent or queued for a connection',
    unit: '{request}',
  });
  const observe = (result: BatchObservableResult) => {
    const total = { connected: 0, free: 0, pending: 0, running: 0 };
    for (const origin of Object.values(stats())) {
      total.connected += Number(origin.connected ?? 0);
      total.free += origin.free ?? 0;
      total.pending += origin.pending ?? 0;
      total.running += origin.running ?? 0;
    }
    result.observe(connections, total.connected, { state: 'connected' });
    result.observe(connections, total.free, { state: 'free' });
    result.observe(requests, total.pending, { state: 'pending' });
    result.observe(requests, total.running, { state: 'running' });
  };
  meter.addBatchObservableCallback(observe, [connections, requests]);
  return () => meter.removeBatchObservableCallback(observe, [connections, requests]);
}
