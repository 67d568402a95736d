import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type DataPoint,
  type Histogram,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';

/** One attribute set's cumulative histogram. */
export class DurationSeries {
  readonly counts: number[];
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  constructor(
    readonly attributes: Attributes,
    private readonly boundaries: readonly number[],
  ) {
    this.counts = new Array<number>(boundaries.length + 1).fill(0);
  }

  /** Adds one value (seconds): a bucket increment and four numbers, no allocation. */
  record(value: number): void {
    const boundaries = this.boundaries;
    let bucket = 0;
    while (bucket < boundaries.length && value > boundaries[bucket]!) bucket++;
    this.counts[bucket]!++;
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }
}

function hrTime(epochMs: number): HrTime {
  const seconds = Math.floor(epochMs / 1000);
  return [seconds, Math.round((epochMs - seconds * 1000) * 1e6)];
}

/**
 * A histogram kept in plain JavaScript and handed to the metric readers (the
 * Prometheus one, the OTLP one) as a `MetricProducer` when they collect. It
 * holds `mcp.server.operation.duration`, recorded once per request: through
 * the SDK, every record hashes its attribute set once per reader (most of the
 * metrics' cost per call); here a request's series is found once per kind of
 * request and a record is a bucket increment. The data is cumulative (the
 * OTLP default); a delta temporality preference does not apply to it.
 */
export class DurationHistogram implements MetricProducer {
  readonly #series: DurationSeries[] = [];
  readonly #startTime = hrTime(Date.now());

  constructor(
    readonly name: string,
    readonly description: string,
    readonly boundaries: readonly number[],
    readonly scope: { name: string; version?: string },
  ) {}

  /** A new series for `attributes` (the caller keeps it: one per attribute set). */
  series(attributes: Attributes): DurationSeries {
    const series = new DurationSeries(attributes, this.boundaries);
    this.#series.push(series);
    return series;
  }

  async collect(): Promise<CollectionResult> {
    const endTime = hrTime(Date.now());
    const dataPoints: DataPoint<Histogram>[] = [];
    for (const series of this.#series) {
      if (series.count === 0) continue;
      dataPoints.push({
        startTime: this.#startTime,
        endTime,
        attributes: series.attributes,
        value: {
          buckets: { boundaries: [...this.boundaries], counts: [...series.counts] },
          count: series.count,
          sum: series.sum,
          min: series.min,
          max: series.max,
        },
      });
    }
    return {
      resourceMetrics: {
        // The reader keeps the SDK's own resource and takes only the scope metrics from here.
        resource: undefined as never,
        scopeMetrics: [
          {
            scope: this.scope,
            metrics: [
              {
                descriptor: { name: this.name, description: this.description, unit: 's', valueType: ValueType.DOUBLE },
                aggregationTemporality: AggregationTemporality.CUMULATIVE,
                dataPointType: DataPointType.HISTOGRAM,
                dataPoints,
              },
            ],
          },
        ],
      },
      errors: [],
    };
  }
}
