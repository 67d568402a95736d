import {
  metrics,
  SpanStatusCode,
  trace,
  type BatchObservableResult,
  type Histogram,
  type MeterProvider,
} from '@opentelemetry/api';
import { SemaphoreTimeoutError } from './errors.js';
import { traceContextOf } from './trace-context.js';

/** Upper bounds (seconds) of `trellis.queue.wait`: waits run from a few milliseconds to a queue timeout. */
const QUEUE_WAIT_BUCKETS_S = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** `trellis.queue.wait`, made once per meter provider (the global one changes when an app sets telemetry up or stops it). */
let queueWaits: { provider: MeterProvider; histogram: Histogram } | undefined;

function queueWaitHistogram(): Histogram {
  const provider = metrics.getMeterProvider();
  if (queueWaits?.provider !== provider) {
    const histogram = provider.getMeter('@trellis/concurrency').createHistogram('trellis.queue.wait', {
      description: 'Time calls waited for a concurrency slot',
      unit: 's',
      advice: { explicitBucketBoundaries: QUEUE_WAIT_BUCKETS_S },
    });
    queueWaits = { provider, histogram };
  }
  return queueWaits.histogram;
}

/**
 * Runs `wait` (a limiter's `acquire`) as a queue wait: a span named
 * `queue wait` (a child of the request `signal` belongs to, see
 * `traceContextOf`) and a `trellis.queue.wait` histogram (seconds) labelled
 * with `queue` and how the wait ended (acquired, timeout, aborted). Through
 * `@opentelemetry/api`: nothing is recorded unless an app set up telemetry.
 * Call it only when the slot was not free at once, so the common path pays nothing.
 * @example
 * const release = limiter.tryAcquire() ?? (await observeQueueWait('server', () => limiter.acquire({ signal }), signal));
 */
export async function observeQueueWait<T>(queue: string, wait: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const startedAt = performance.now();
  const span = trace
    .getTracer('@trellis/concurrency')
    .startSpan('queue wait', { attributes: { 'trellis.queue': queue } }, traceContextOf(signal));
  let outcome = 'acquired';
  try {
    return await wait();
  } catch (error) {
    outcome = error instanceof SemaphoreTimeoutError ? 'timeout' : 'aborted';
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw error;
  } finally {
    span.setAttribute('trellis.queue.outcome', outcome);
    span.end();
    queueWaitHistogram().record((performance.now() - startedAt) / 1000, {
      'trellis.queue': queue,
      'trellis.queue.outcome': outcome,
    });
  }
}

/**
 * `trellis.worker_pool.threads` (by state: busy, idle) and `trellis.worker_pool.queued` for one
 * pool, labelled with its name, observed when telemetry collects. Returns what stops observing.
 */
export function observeWorkerPool(
  name: string,
  pool: { readonly size: number; readonly running: number; readonly queued: number },
): () => void {
  const meter = metrics.getMeter('@trellis/concurrency');
  const threads = meter.createObservableGauge('trellis.worker_pool.threads', {
    description: 'Worker threads of a pool, by state',
    unit: '{thread}',
  });
  const queued = meter.createObservableGauge('trellis.worker_pool.queued', {
    description: 'Jobs waiting for a worker thread',
    unit: '{job}',
  });
  const observe = (result: BatchObservableResult) => {
    const busy = Math.min(pool.size, pool.running);
    result.observe(threads, busy, { 'trellis.worker_pool.name': name, state: 'busy' });
    result.observe(threads, pool.size - busy, { 'trellis.worker_pool.name': name, state: 'idle' });
    result.observe(queued, pool.queued, { 'trellis.worker_pool.name': name });
  };
  meter.addBatchObservableCallback(observe, [threads, queued]);
  return () => meter.removeBatchObservableCallback(observe, [threads, queued]);
}
