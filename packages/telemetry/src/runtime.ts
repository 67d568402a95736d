import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server as NodeHttpServer,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, metrics, propagation, trace, type ContextManager } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type IMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Logger, OperationObserver } from '@trellis/server';
import { otlpEndpoints, type TelemetryConfig } from './config.js';
import { SynchronousContextManager } from './context-manager.js';
import { createInstruments, operationDurations, type Instruments } from './instruments.js';
import { operationTelemetry } from './operations.js';
import { serveStatus } from './status/routes.js';
import { statusSnapshot } from './status/snapshot.js';
import { TaskTelemetry } from './tasks.js';

/** What the HTTP transport serves for telemetry, and how it hands over the HTTP request's own trace context. */
export interface TelemetryRoutes {
  /** Whether `/metrics` and `/status` are served beside `/mcp` (behind its auth); false when they have a port of their own or METRICS is off. */
  readonly besideMcp: boolean;
  /** Serves `path` if it is a telemetry route (`/metrics`, `/status`, `/status/...`); false otherwise. */
  handle(path: string, req: IncomingMessage, res: ServerResponse): boolean;
  /**
   * Runs `serve` with the HTTP request's `traceparent` (if any) as the active
   * context, linked from the MCP spans of the requests `serve` starts: call it
   * around the dispatch of a read body (with TELEMETRY_CONTEXT=request the
   * context is active while `serve` runs synchronously).
   */
  aroundRequest<T>(req: IncomingMessage, serve: () => T): T;
}

/** The running telemetry of one server. */
export interface TelemetryRuntime {
  /** Observes every request served (`server.observe`). */
  readonly observer: OperationObserver;
  /** Told of every task status change (`server.observeTasks`). */
  readonly tasks: TaskTelemetry;
  readonly instruments: Instruments;
  readonly routes: TelemetryRoutes;
  /** The own-port URL of /metrics, when METRICS_PORT is set. */
  readonly metricsUrl: string | undefined;
  /** Reports an MCP session (older-protocol HTTP session, stdio connection) opened; call the result when it closes. */
  sessionOpened(): () => void;
  /** Flushes what is buffered, then stops exporting and unregisters the global providers. */
  shutdown(): Promise<void>;
}

export interface TelemetryStartOptions {
  config: TelemetryConfig;
  serviceName: string;
  serviceVersion: string | undefined;
  networkTransport: 'pipe' | 'tcp';
  log: Logger;
}

export class TelemetryStartError extends Error {
  readonly code = 'TELEMETRY_ALREADY_SET_UP';
}

const headerGetter = {
  keys: (carrier: IncomingMessage['headers']) => Object.keys(carrier),
  get: (carrier: IncomingMessage['headers'], key: string) => carrier[key],
};

/**
 * Sets up the OpenTelemetry SDK as configured: OTLP/HTTP traces and metrics
 * when their endpoints are set, a Prometheus reader for `/metrics` and
 * `/status` when METRICS=on. The providers are registered globally (the
 * `@opentelemetry/api` way, so that packages which only depend on the API —
 * postgres, http, the worker pool — reach them); one telemetry per process.
 */
export async function startTelemetry(options: TelemetryStartOptions): Promise<TelemetryRuntime> {
  const { config, log } = options;
  const otlp = otlpEndpoints(config);
  const resource = defaultResource().merge(
    resourceFromAttributes({
      'service.name': config.OTEL_SERVICE_NAME ?? options.serviceName,
      ...(options.serviceVersion !== undefined && { 'service.version': options.serviceVersion }),
    }),
  );

  let tracerProvider: BasicTracerProvider | undefined;
  let contextManager: ContextManager | undefined;
  if (otlp.traces) {
    // Protobuf unless http/json is asked for: it encodes in less CPU and sends ~2.5× fewer bytes than OTLP/JSON.
    // The sampler (OTEL_TRACES_SAMPLER, _ARG) and batching (OTEL_BSP_*) come from the standard variables, read by the SDK.
    const { OTLPTraceExporter } =
      (config.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? config.OTEL_EXPORTER_OTLP_PROTOCOL) === 'http/json'
        ? await import('@opentelemetry/exporter-trace-otlp-http')
        : await import('@opentelemetry/exporter-trace-otlp-proto');
    tracerProvider = new BasicTracerProvider({
      resource,
      spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: otlp.traces }))],
    });
    // A request's context travels with the request (see SynchronousContextManager) unless the app asks for
    // AsyncLocalStorage, which on Node 20 makes every promise of the process pay an async hook.
    contextManager =
      config.TELEMETRY_CONTEXT === 'async'
        ? new AsyncLocalStorageContextManager().enable()
        : new SynchronousContextManager().enable();
    if (!trace.setGlobalTracerProvider(tracerProvider) || !context.setGlobalContextManager(contextManager)) {
      await tracerProvider.shutdown();
      contextManager.disable();
      trace.disable();
      context.disable();
      throw new TelemetryStartError(
        'OpenTelemetry tracing is already set up in this process (one telemetry plugin per process)',
      );
    }
    propagation.setGlobalPropagator(
      new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
    );
  }

  const readers: IMetricReader[] = [];
  let prometheus: PrometheusExporter | undefined;
  const durations = operationDurations();
  if (config.METRICS === 'on') {
    prometheus = new PrometheusExporter({
      preventServerStart: true,
      withoutScopeInfo: true,
      metricProducers: [durations],
    });
    readers.push(prometheus);
  }
  if (otlp.metrics) {
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: otlp.metrics }),
        exportIntervalMillis: config.OTEL_METRIC_EXPORT_INTERVAL,
        metricProducers: [durations],
      }),
    );
  }
  const meterProvider = new MeterProvider({ resource, readers });
  if (!metrics.setGlobalMeterProvider(meterProvider)) {
    await meterProvider.shutdown();
    await tracerProvider?.shutdown();
    disableGlobals(contextManager);
    throw new TelemetryStartError(
      'OpenTelemetry metrics are already set up in this process (one telemetry plugin per process)',
    );
  }
  const meter = meterProvider.getMeter('@trellis/telemetry');
  const instruments = createInstruments(meter, durations);
  const tracer = tracerProvider?.getTracer('@trellis/telemetry');
  const tasks = new TaskTelemetry(meter, tracer);
  const observer = operationTelemetry({ tracer, instruments, tasks, networkTransport: options.networkTransport });

  const startedAt = Date.now();
  const handleTelemetryPath = (path: string, req: IncomingMessage, res: ServerResponse): boolean => {
    if (!prometheus) return false;
    if (path === '/metrics') {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res
          .writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' })
          .end('{"error":"method_not_allowed"}');
        return true;
      }
      prometheus.getMetricsRequestHandler(req, res);
      return true;
    }
    const reader = prometheus;
    return serveStatus(path, req, res, {
      title: options.serviceName,
      snapshot: async () => statusSnapshot(await reader.collect(), startedAt),
      onError: (error) => log.error({ err: error }, 'status request failed'),
    });
  };

  let portServer: NodeHttpServer | undefined;
  let metricsUrl: string | undefined;
  if (prometheus && config.METRICS_PORT !== undefined) {
    const server = createHttpServer((req, res) => {
      const path = pathOf(req.url);
      if (!handleTelemetryPath(path, req, res))
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.METRICS_PORT, config.METRICS_HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
    portServer = server;
    const port = (server.address() as AddressInfo).port;
    const host = config.METRICS_HOST.includes(':') ? `[${config.METRICS_HOST}]` : config.METRICS_HOST;
    metricsUrl = `http://${host}:${port}/metrics`;
    log.info({ url: metricsUrl }, 'metrics and status page listening');
  }

  const routes: TelemetryRoutes = {
    besideMcp: prometheus !== undefined && portServer === undefined,
    handle: (path, req, res) => (portServer ? false : handleTelemetryPath(path, req, res)),
    aroundRequest: (req, serve) => {
      if (!tracerProvider || req.headers.traceparent === undefined) return serve();
      return context.with(propagation.extract(context.active(), req.headers, headerGetter), serve);
    },
  };

  let closed: Promise<void> | undefined;
  return {
    observer,
    tasks,
    instruments,
    routes,
    metricsUrl,
    sessionOpened() {
      instruments.sessionsOpen.add(1);
      const opened = performance.now();
      let done = false;
      return () => {
        if (done) return;
        done = true;
        instruments.sessionsOpen.add(-1);
        instruments.sessionDuration.record((performance.now() - opened) / 1000, {
          'network.transport': options.networkTransport,
        });
      };
    },
    shutdown() {
      closed ??= (async () => {
        if (portServer) {
          const server = portServer;
          await new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          });
        }
        // Flushes buffered spans and a last metrics export; a collector that is down must not hold shutdown.
        const results = await Promise.allSettled([tracerProvider?.shutdown(), meterProvider.shutdown()]);
        for (const result of results)
          if (result.status === 'rejected') log.warn({ err: result.reason }, 'telemetry did not flush at shutdown');
        disableGlobals(contextManager);
      })();
      return closed;
    },
  };
}

function disableGlobals(contextManager: ContextManager | undefined): void {
  trace.disable();
  metrics.disable();
  propagation.disable();
  if (contextManager) {
    contextManager.disable();
    context.disable();
  }
}

function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
