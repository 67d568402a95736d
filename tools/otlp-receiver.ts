// A receiver of OTLP/HTTP JSON exports on 127.0.0.1 for tests: the spans a server sent, decoded, and its raw metric bodies.
// Shared by the telemetry end-to-end suite and the transport's telemetry tests.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An attribute value as OTLP/JSON encodes it. */
interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpValue[] };
}

/** An attribute as OTLP/JSON encodes it. */
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}

function scalarOf(value: OtlpValue): string | number | boolean | undefined {
  return (
    value.stringValue ??
    (value.intValue !== undefined ? Number(value.intValue) : undefined) ??
    value.doubleValue ??
    value.boolValue
  );
}

/** One span as the OTLP/JSON exporter sends it (ids in hex). */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean | (string | number | boolean | undefined)[] | undefined>;
  /** From its start to its end. */
  durationMs: number;
  links: { traceId: string; spanId: string }[];
  status: { code?: number; message?: string };
}

/**
 * A local OTLP/HTTP receiver (no collector can be installed here): takes the
 * JSON bodies the `@opentelemetry/exporter-*-otlp-http` exporters POST to
 * `/v1/traces` and `/v1/metrics`, and decodes spans.
 */
export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>`: what OTEL_EXPORTER_OTLP_ENDPOINT is set to. */
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** Raw metric export bodies. */
  readonly metricBodies: unknown[];
  /** Trace exports in OTLP protobuf (the default encoding; tests that decode spans ask for http/json). */
  readonly protobufTraceBodies: Buffer[];
  /** Requests that were neither OTLP/JSON nor protobuf traces (should stay empty). */
  readonly rejected: string[];
  close(): Promise<void>;
}

function attributesOf(list: OtlpAttribute[] | undefined): ReceivedSpan['attributes'] {
  const out: ReceivedSpan['attributes'] = {};
  for (const { key, value } of list ?? []) {
    out[key] = value.arrayValue ? (value.arrayValue.values ?? []).map(scalarOf) : scalarOf(value);
  }
  return out;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const metricBodies: unknown[] = [];
  const rejected: string[] = [];
  const protobufTraceBodies: Buffer[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const type = req.headers['content-type'] ?? '';
      if (req.method === 'POST' && req.url === '/v1/traces' && type.includes('application/x-protobuf')) {
        protobufTraceBodies.push(Buffer.concat(chunks));
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        return;
      }
      if (req.method !== 'POST' || !type.includes('application/json')) {
        rejected.push(`${req.method} ${req.url} ${type}`);
        res.writeHead(415).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      if (req.url === '/v1/traces') {
        for (const resource of (body.resourceSpans ?? []) as {
          scopeSpans?: { spans?: Record<string, unknown>[] }[];
        }[]) {
          for (const scope of resource.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) {
              spans.push({
                traceId: span.traceId as string,
                spanId: span.spanId as string,
                ...(typeof span.parentSpanId === 'string' &&
                  span.parentSpanId !== '' && { parentSpanId: span.parentSpanId }),
                name: span.name as string,
                kind: span.kind as number,
                durationMs: (Number(span.endTimeUnixNano) - Number(span.startTimeUnixNano)) / 1e6,
                attributes: attributesOf(span.attributes as OtlpAttribute[]),
                links: ((span.links ?? []) as { traceId: string; spanId: string }[]).map((l) => ({
                  traceId: l.traceId,
                  spanId: l.spanId,
                })),
                status: (span.status ?? {}) as ReceivedSpan['status'],
              });
            }
          }
        }
      } else if (req.url === '/v1/metrics') {
        metricBodies.push(body);
      } else {
        rejected.push(`${req.method} ${req.url}`);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    protobufTraceBodies,
    metricBodies,
    rejected,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
