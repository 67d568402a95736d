import { context, metrics, SpanKind, SpanStatusCode, trace, type BatchObservableResult } from '@opentelemetry/api';
import { traceContextOf } from '@trellis/concurrency';

/**
 * A client span around one statement, by the OpenTelemetry database
 * conventions: the statement's kind and the rows returned, never its text or
 * parameters (they may carry personal data); a child of the request `signal`
 * belongs to (`traceContextOf`). Through `@opentelemetry/api`, which does
 * nothing unless an app set up telemetry.
 */
export async function traceStatement<T extends { rowCount: number }>(
  kind: string | undefined,
  signal: AbortSignal | undefined,
  run: () => Promise<T>,
): Promise<T> {
  const operation = kind?.toUpperCase() ?? 'QUERY';
  const attributes = { 'db.system.name': 'postgresql', 'db.operation.name': operation };
  const parent = traceContextOf(signal);
  const span = trace.getTracer('@trellis/postgres').startSpan(operation, { kind: SpanKind.CLIENT, attributes }, parent);
  try {
    const outcome = await context.with(trace.setSpan(parent, span), run);
    span.setAttribute('db.response.returned_rows', outcome.rowCount);
    return outcome;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    span.setAttribute('error.type', typeof code === 'string' ? code : '_OTHER');
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw error;
  } finally {
    span.end();
  }
}

/**
 * `trellis.postgres.pool.connections` (used, idle) and `trellis.postgres.pool.waiting`: the pool's
 * usage, observed when telemetry collects. Returns what stops observing (at close).
 */
export function observePool(service: {
  pool: { totalCount: number; idleCount: number };
  load: { waiting: number };
}): () => void {
  const meter = metrics.getMeter('@trellis/postgres');
  const connections = meter.createObservableGauge('trellis.postgres.pool.connections', {
    description: 'Connections of the postgres plugin’s pool, by state',
    unit: '{connection}',
  });
  const waiting = meter.createObservableGauge('trellis.postgres.pool.waiting', {
    description: 'Calls waiting for a pooled connection',
    unit: '{call}',
  });
  const observe = (result: BatchObservableResult) => {
    const { totalCount, idleCount } = service.pool;
    result.observe(connections, totalCount - idleCount, { state: 'used' });
    result.observe(connections, idleCount, { state: 'idle' });
    result.observe(waiting, service.load.waiting);
  };
  meter.addBatchObservableCallback(observe, [connections, waiting]);
  return () => meter.removeBatchObservableCallback(observe, [connections, waiting]);
}
