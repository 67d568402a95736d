import type { Counter, Histogram, Meter, UpDownCounter } from '@opentelemetry/api';
import { DURATION_BUCKETS_S, METRIC_CALL_OUTCOMES, METRIC_CALLS_IN_FLIGHT, METRIC_OPERATION_DURATION, METRIC_SESSION_DURATION, METRIC_SESSIONS_OPEN } from './conventions.js';

/** The instruments the telemetry plugin records into. */
export interface Instruments {
  operationDuration: Histogram;
  sessionDuration: Histogram;
  callsInFlight: UpDownCounter;
  callOutcomes: Counter;
  sessionsOpen: UpDownCounter;
}

export function createInstruments(meter: Meter): Instruments {
  return {
    operationDuration: meter.createHistogram(METRIC_OPERATION_DURATION, {
      description: 'MCP request duration as observed on the server, from receipt until the result is ready',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS_S },
    }),
    sessionDuration: meter.createHistogram(METRIC_SESSION_DURATION, {
      description: 'The duration of an MCP session (an older-protocol HTTP session or a stdio connection) as observed on the server',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS_S },
    }),
    callsInFlight: meter.createUpDownCounter(METRIC_CALLS_IN_FLIGHT, { description: 'tools/call requests being served now', unit: '{call}' }),
    callOutcomes: meter.createCounter(METRIC_CALL_OUTCOMES, {
      description: 'tools/call requests served, by tool and outcome (ok, tool_error, timeout, busy, cancelled, invalid_arguments, internal, protocol_error)',
      unit: '{call}',
    }),
    sessionsOpen: meter.createUpDownCounter(METRIC_SESSIONS_OPEN, { description: 'Older-protocol HTTP sessions and stdio connections open now', unit: '{session}' }),
  };
}
