import { defineConfig, env } from '@trellis/config';

/**
 * Telemetry settings. Off unless asked for: `METRICS=on` serves Prometheus text
 * and the status page, and the standard `OTEL_EXPORTER_OTLP_*ENDPOINT`
 * variables send traces and metrics over OTLP/HTTP. The exporter reads the
 * other standard `OTEL_*` variables (headers, timeouts) itself.
 */
export const telemetryConfigSchema = defineConfig({
  METRICS: env
    .enum(['on', 'off'])
    .default('off')
    .describe(
      'on: Prometheus text at /metrics and a live status page at /status (HTTP transport, behind the same auth as /mcp, or on METRICS_PORT)',
    ),
  METRICS_PORT: env
    .port()
    .optional()
    .describe(
      'Serve /metrics and /status on a port of their own (no auth; bound to METRICS_HOST) instead of beside /mcp',
    ),
  METRICS_HOST: env.string().default('127.0.0.1').describe('Address METRICS_PORT binds'),
  OTEL_EXPORTER_OTLP_ENDPOINT: env
    .url({ protocols: ['http', 'https'] })
    .optional()
    .describe(
      'OTLP/HTTP collector base URL (e.g. http://127.0.0.1:4318); traces go to /v1/traces, metrics to /v1/metrics',
    ),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: env
    .url({ protocols: ['http', 'https'] })
    .optional()
    .describe('Full OTLP/HTTP URL for traces (overrides OTEL_EXPORTER_OTLP_ENDPOINT)'),
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: env
    .url({ protocols: ['http', 'https'] })
    .optional()
    .describe('Full OTLP/HTTP URL for metrics (overrides OTEL_EXPORTER_OTLP_ENDPOINT)'),
  OTEL_EXPORTER_OTLP_PROTOCOL: env
    .enum(['http/protobuf', 'http/json'])
    .default('http/protobuf')
    .describe(
      'Encoding of exported traces (the standard default, protobuf, is the cheaper to encode and send); metrics go as OTLP/JSON',
    ),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: env
    .enum(['http/protobuf', 'http/json'])
    .optional()
    .describe('Encoding of exported traces (overrides OTEL_EXPORTER_OTLP_PROTOCOL)'),
  OTEL_METRIC_EXPORT_INTERVAL: env.duration().default(60_000).describe('How often metrics are pushed over OTLP'),
  OTEL_SERVICE_NAME: env.string().optional().describe('service.name of the exported telemetry; default: the app name'),
  OTEL_SDK_DISABLED: env.boolean().default(false).describe('true: no telemetry at all, whatever else is set'),
  TELEMETRY_CONTEXT: env
    .enum(['request', 'async'])
    .default('request')
    .describe(
      "How a request's trace context reaches the spans opened for it. request: carried by the request itself (cheap; your own code sees the active span only before a handler's first await). async: OpenTelemetry's AsyncLocalStorage context manager (the active span everywhere; on Node 20 every promise pays an async hook)",
    ),
});

/** The loaded values of `telemetryConfigSchema`. */
export interface TelemetryConfig {
  METRICS: 'on' | 'off';
  METRICS_PORT?: number | undefined;
  METRICS_HOST: string;
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string | undefined;
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT?: string | undefined;
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' | 'http/json';
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?: 'http/protobuf' | 'http/json' | undefined;
  OTEL_METRIC_EXPORT_INTERVAL: number;
  OTEL_SERVICE_NAME?: string | undefined;
  OTEL_SDK_DISABLED: boolean;
  TELEMETRY_CONTEXT: 'request' | 'async';
}

/** Where OTLP traces and metrics go, or undefined for each that is not configured. */
export function otlpEndpoints(config: TelemetryConfig): { traces: string | undefined; metrics: string | undefined } {
  const base = config.OTEL_EXPORTER_OTLP_ENDPOINT?.replace(/\/+$/, '');
  return {
    traces: config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base && `${base}/v1/traces`),
    metrics: config.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT ?? (base && `${base}/v1/metrics`),
  };
}

/** Whether any telemetry is asked for; when not, the OpenTelemetry SDK is never loaded. */
export function telemetryWanted(config: TelemetryConfig): boolean {
  if (config.OTEL_SDK_DISABLED) return false;
  const otlp = otlpEndpoints(config);
  return config.METRICS === 'on' || otlp.traces !== undefined || otlp.metrics !== undefined;
}
