import type { CollectionResult, DataPoint, Histogram } from '@opentelemetry/sdk-metrics';
import {
  ATTR,
  DURATION_BUCKETS_S,
  METRIC_CALL_OUTCOMES,
  METRIC_CALLS_IN_FLIGHT,
  METRIC_OPERATION_DURATION,
  METRIC_SESSIONS_OPEN,
  METRIC_TASKS_LIVE,
} from '../conventions.js';

/** Queue waits are recorded by `@trellis/server` through the OpenTelemetry API. */
const METRIC_QUEUE_WAIT = 'trellis.queue.wait';

/** One tool's cumulative figures. */
export interface ToolFigures {
  calls: number;
  errors: number;
  /** Calls per latency bucket of `bounds` (not cumulative; the last bucket is above the last bound). */
  buckets: number[];
}

/** What the status page polls: cumulative counters and current gauges; the page turns them into rates and quantiles. */
export interface StatusSnapshot {
  /** Milliseconds since the epoch, when collected. */
  time: number;
  uptimeS: number;
  /** The upper bounds (seconds) of the latency buckets. */
  bounds: number[];
  tools: Record<string, ToolFigures>;
  /** Every operation served (all methods), and those that failed. */
  operations: number;
  failures: number;
  outcomes: Record<string, number>;
  inFlight: number;
  queueWait: { count: number; sumS: number };
  sessions: number;
  tasks: Record<string, number>;
}

/** Reads a collection of the server's metrics into the page's shape. */
export function statusSnapshot(collection: CollectionResult, startedAt: number): StatusSnapshot {
  const snapshot: StatusSnapshot = {
    time: Date.now(),
    uptimeS: Math.round((Date.now() - startedAt) / 1000),
    bounds: DURATION_BUCKETS_S,
    tools: {},
    operations: 0,
    failures: 0,
    outcomes: {},
    inFlight: 0,
    queueWait: { count: 0, sumS: 0 },
    sessions: 0,
    tasks: {},
  };
  for (const scope of collection.resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      const name = metric.descriptor.name;
      for (const point of metric.dataPoints as DataPoint<unknown>[]) {
        const attributes = point.attributes;
        if (name === METRIC_OPERATION_DURATION) {
          const histogram = point.value as Histogram;
          const count = histogram.count;
          const failed = attributes[ATTR.errorType] !== undefined;
          snapshot.operations += count;
          if (failed) snapshot.failures += count;
          const tool = attributes[ATTR.toolName];
          if (attributes[ATTR.method] === 'tools/call' && typeof tool === 'string') {
            const figures = (snapshot.tools[tool] ??= {
              calls: 0,
              errors: 0,
              buckets: new Array<number>(DURATION_BUCKETS_S.length + 1).fill(0),
            });
            figures.calls += count;
            if (failed) figures.errors += count;
            histogram.buckets.counts.forEach((n, i) => (figures.buckets[i] = (figures.buckets[i] ?? 0) + n));
          }
        } else if (name === METRIC_CALL_OUTCOMES) {
          const outcome = String(attributes[ATTR.outcome]);
          snapshot.outcomes[outcome] = (snapshot.outcomes[outcome] ?? 0) + (point.value as number);
        } else if (name === METRIC_CALLS_IN_FLIGHT) {
          snapshot.inFlight += point.value as number;
        } else if (name === METRIC_SESSIONS_OPEN) {
          snapshot.sessions += point.value as number;
        } else if (name === METRIC_QUEUE_WAIT) {
          const histogram = point.value as Histogram;
          snapshot.queueWait.count += histogram.count;
          snapshot.queueWait.sumS += histogram.sum ?? 0;
        } else if (name === METRIC_TASKS_LIVE) {
          const status = String(attributes[ATTR.taskStatus]);
          snapshot.tasks[status] = (snapshot.tasks[status] ?? 0) + (point.value as number);
        }
      }
    }
  }
  return snapshot;
}
