import { definePlugin, type Plugin } from '@trellis/server';
import { telemetryConfigSchema, telemetryWanted, type TelemetryConfig } from './config.js';
import type { TelemetryRuntime } from './runtime.js';

/** Options of {@link telemetry}; everything else comes from configuration (`METRICS`, `OTEL_*`). */
export interface TelemetryPluginOptions {
  /** `service.name` when OTEL_SERVICE_NAME is not set (run() passes the app name). Default `trellis`. */
  serviceName?: string;
  serviceVersion?: string;
  /** Where the server is served: `pipe` (stdio) or `tcp` (HTTP) for `network.transport`. Default: from TRELLIS_TRANSPORT. */
  networkTransport?: 'pipe' | 'tcp';
  /** Told once telemetry runs (never when it is off): the HTTP routes and session reporting, for a transport. */
  onStart?(runtime: TelemetryRuntime): void;
}

/**
 * OpenTelemetry traces and metrics by the MCP semantic conventions, Prometheus
 * text at `/metrics` and the live `/status` page. Off unless `METRICS=on` or an
 * `OTEL_EXPORTER_OTLP_*ENDPOINT` is set; when off, the OpenTelemetry SDK is
 * never even loaded (a dynamic import) and nothing is measured. Every app gets
 * it through the shared command line (`run()`); list it first, so that plugins
 * which register instruments in their setup find the providers in place.
 * @example
 * // METRICS=on OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318
 * createServer({ name: 'weather', version: '1.0.0', plugins: [telemetry({ serviceName: 'weather' }), forecast()] });
 */
export function telemetry(options: TelemetryPluginOptions = {}): Plugin<typeof telemetryConfigSchema> {
  return definePlugin({
    name: 'telemetry',
    config: telemetryConfigSchema,
    async setup(scope) {
      const config = scope.config as TelemetryConfig;
      if (!telemetryWanted(config)) return;
      const { startTelemetry } = await import('./runtime.js');
      const transport = (scope.config as Readonly<Record<string, unknown>>).TRELLIS_TRANSPORT;
      const runtime = await startTelemetry({
        config,
        serviceName: options.serviceName ?? 'trellis',
        serviceVersion: options.serviceVersion,
        networkTransport: options.networkTransport ?? (transport === 'http' ? 'tcp' : 'pipe'),
        log: scope.log,
      });
      scope.onClose(() => runtime.shutdown());
      scope.observe(runtime.observer);
      scope.observeTasks(runtime.tasks.changed);
      options.onStart?.(runtime);
    },
  });
}
