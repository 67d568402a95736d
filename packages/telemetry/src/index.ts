export { otlpEndpoints, telemetryConfigSchema, telemetryWanted } from './config.js';
export type { TelemetryConfig } from './config.js';
export {
  ATTR,
  DURATION_BUCKETS_S,
  METRIC_CALL_OUTCOMES,
  METRIC_CALLS_IN_FLIGHT,
  METRIC_OPERATION_DURATION,
  METRIC_SESSION_DURATION,
  METRIC_SESSIONS_OPEN,
  METRIC_TASKS_LIVE,
  TOOL_ERROR,
} from './conventions.js';
export { telemetry } from './plugin.js';
export type { TelemetryPluginOptions } from './plugin.js';
export type { TelemetryRoutes, TelemetryRuntime } from './runtime.js';
export type { StatusSnapshot, ToolFigures } from './status/snapshot.js';
