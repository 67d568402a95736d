import type { Histogram, Meter, UpDownCounter } from '@opentelemetry/api';
import { ATTR } from './conventions.js';
import { DurationHistogram } from './durations.js';
import {
  DURATION_BUCKETS_S,
  METRIC_CALL_OUTCOMES,
  METRIC_CALLS_IN_FLIGHT,
  METRIC_OPERATION_DURATION,
  METRIC_SESSION_DURATION,
  METRIC_SESSIONS_OPEN,
} from './conventions.js';

/** Calls in flight per tool, counted in plain JavaScript and read by the SDK only when it collects. */
export class InFlightCalls {
  readonly #byTool = new Map<string, number>();
  enter(tool: string): void {
    this.#byTool.set(tool, (this.#byTool.get(tool) ?? 0) + 1);
  }
  leave(tool: string): void {
    this.#byTool.set(tool, (this.#byTool.get(tool) ?? 1) - 1);
  }
  entries(): IterableIterator<[string, number]> {
    return this.#byTool.entries();
  }
}

/** Calls served per tool and outcome, counted in plain JavaScript and read by the SDK only when it collects. */
export class CallOutcomes {
  readonly #counts = new Map<string, { tool: string; outcome: string; count: number }>();
  add(tool: string, outcome: string): void {
    const key = `${tool}\u0000${outcome}`;
    const entry = this.#counts.get(key);
    if (entry) entry.count++;
    else this.#counts.set(key, { tool, outcome, count: 1 });
  }
  values(): IterableIterator<{ tool: string; outcome: string; count: number }> {
    return this.#counts.values();
  }
}

/** The instruments the telemetry plugin records into. */
export interface Instruments {
  /** Recorded once per request: kept in plain JavaScript and handed to the readers as a producer (see `DurationHistogram`). */
  operationDuration: DurationHistogram;
  sessionDuration: Histogram;
  callsInFlight: InFlightCalls;
  callOutcomes: CallOutcomes;
  sessionsOpen: UpDownCounter;
}

/** The histogram of `mcp.server.operation.duration`; give it to every metric reader as a producer. */
export function operationDurations(): DurationHistogram {
  return new DurationHistogram(
    METRIC_OPERATION_DURATION,
    'MCP request duration as observed on the server, from receipt until the result is ready',
    DURATION_BUCKETS_S,
    { name: '@trellis/telemetry' },
  );
}

export function createInstruments(meter: Meter, operationDuration: DurationHistogram): Instruments {
  // Observed at collection: the hot path only bumps numbers in maps (a record into the SDK costs far more).
  const inFlight = new InFlightCalls();
  meter
    .createObservableUpDownCounter(METRIC_CALLS_IN_FLIGHT, {
      description: 'tools/call requests being served now',
      unit: '{call}',
    })
    .addCallback((result) => {
      for (const [tool, count] of inFlight.entries()) result.observe(count, { [ATTR.toolName]: tool });
    });
  const outcomes = new CallOutcomes();
  meter
    .createObservableCounter(METRIC_CALL_OUTCOMES, {
      description:
        'tools/call requests served, by tool and outcome (ok, tool_error, timeout, busy, cancelled, invalid_arguments, internal, protocol_error)',
      unit: '{call}',
    })
    .addCallback((result) => {
      for (const { tool, outcome, count } of outcomes.values())
        result.observe(count, { [ATTR.toolName]: tool, [ATTR.outcome]: outcome });
    });
  return {
    operationDuration,
    sessionDuration: meter.createHistogram(METRIC_SESSION_DURATION, {
      description:
        'The duration of an MCP session (an older-protocol HTTP session or a stdio connection) as observed on the server',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS_S },
    }),
    callsInFlight: inFlight,
    callOutcomes: outcomes,
    sessionsOpen: meter.createUpDownCounter(METRIC_SESSIONS_OPEN, {
      description: 'Older-protocol HTTP sessions and stdio connections open now',
      unit: '{session}',
    }),
  };
}
