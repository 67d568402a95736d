import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import { httpClient, HttpClientKey } from '@trellis/http';
import { postgres, PostgresServiceKey } from '@trellis/postgres';
import { createServer, definePlugin, type TrellisServer } from '@trellis/server';
import { connectInProcess, textOf } from '@trellis/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { telemetry } from '@trellis/telemetry';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../../../tools/otlp-receiver.ts';
import { startTestPostgres, type TestPostgres } from './test-postgres.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN_ID = '00f067aa0ba902b7';

/** A tool that does what a real one does on a model's behalf: a query and a fetch. */
const report = () =>
  definePlugin({
    name: 'report',
    dependsOn: ['postgres', 'http'],
    setup(scope) {
      const db = scope.service(PostgresServiceKey);
      const http = scope.service(HttpClientKey);
      scope.tools.add({
        name: 'report',
        description: 'Counts rows and fetches a page',
        input: z.object({ url: z.string(), secret: z.string() }),
        handler: async ({ url, secret }, ctx) => {
          const { rows } = await db.query('SELECT count(*)::int AS n FROM generate_series(1, $1::int) AS g', [3], {
            signal: ctx.signal,
          });
          const page = await http.request(`${url}?token=${secret}`, { signal: ctx.signal });
          return `rows=${(rows[0] as { n: number }).n} status=${page.status}`;
        },
      });
      // What the app's own instrumentation sees: the active span as the handler starts, and after an await.
      scope.tools.add({
        name: 'active',
        description: 'Reports the active span id before and after an await',
        input: z.object({}),
        handler: async () => {
          const first = trace.getActiveSpan()?.spanContext().spanId ?? null;
          await new Promise((resolve) => setImmediate(resolve));
          const later = trace.getActiveSpan()?.spanContext().spanId ?? null;
          return JSON.stringify([first, later]);
        },
      });
    },
  });

describe('traces over OTLP/HTTP', () => {
  let pg: TestPostgres;
  let receiver: OtlpReceiver;
  let target: Server;
  let targetOrigin: string;

  beforeAll(async () => {
    [pg, receiver] = await Promise.all([startTestPostgres(), startOtlpReceiver()]);
    target = createHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('hello'));
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    targetOrigin = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    await new Promise<void>((resolve) => target?.close(() => resolve()));
    await receiver?.close();
    await pg?.destroy();
  });

  let metricsUrl: string | undefined;

  async function startServer(env: Record<string, string>): Promise<TrellisServer> {
    const server = createServer({
      name: 'traced',
      version: '1.2.3',
      plugins: [
        telemetry({
          serviceName: 'traced',
          serviceVersion: '1.2.3',
          onStart: (runtime) => (metricsUrl = runtime.metricsUrl),
        }),
        postgres(),
        httpClient(),
        report(),
      ],
      configSources: {
        argv: [],
        envFiles: [],
        // The throwaway cluster's only role is a superuser; this test is about spans, not least privilege.
        env: {
          DATABASE_URL: pg.url,
          POSTGRES_DANGEROUSLY_ALLOW_PRIVILEGED_ROLE: 'true',
          HTTP_ALLOW_HOSTS: new URL(targetOrigin).host,
          LOG_LEVEL: 'silent',
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          ...env,
        },
      },
    });
    await server.start();
    return server;
  }

  it('exports a server span under the traceparent of _meta, named and attributed by the MCP conventions, with query and fetch children', async () => {
    const server = await startServer({ METRICS: 'on', METRICS_PORT: '0' });
    let exposition = '';
    const { client, close } = await connectInProcess(server, { era: 'modern' });
    try {
      const result = await client.callTool({
        name: 'report',
        arguments: { url: `${targetOrigin}/page`, secret: 's3cr3t-value' },
        _meta: { traceparent: `00-${TRACE_ID}-${PARENT_SPAN_ID}-01`, tracestate: 'rojo=00f067aa0ba902b7' },
      });
      expect(textOf(result)).toBe('rows=3 status=200');
      const failed = await client.callTool({
        name: 'report',
        arguments: { url: 42 } as never,
        _meta: { traceparent: `00-${TRACE_ID}-${PARENT_SPAN_ID}-01` },
      });
      expect(failed.isError).toBe(true);
      exposition = await (await fetch(metricsUrl!)).text();
    } finally {
      await close();
      await server.close({ graceMs: 1_000 }); // flushes the batch of spans
    }

    const calls = receiver.spans.filter((s) => s.name === 'tools/call report');
    expect(calls).toHaveLength(2);
    const [ok, bad] = calls as [ReceivedSpan, ReceivedSpan];
    expect(ok.traceId).toBe(TRACE_ID);
    expect(ok.parentSpanId).toBe(PARENT_SPAN_ID);
    expect(ok.kind).toBe(2); // SPAN_KIND_SERVER
    expect(ok.attributes).toMatchObject({
      'mcp.method.name': 'tools/call',
      'gen_ai.tool.name': 'report',
      'gen_ai.operation.name': 'execute_tool',
      'mcp.protocol.version': '2026-07-28',
      'network.transport': 'pipe',
    });
    expect(typeof ok.attributes['jsonrpc.request.id']).toBe('string');
    expect(ok.attributes['error.type']).toBeUndefined();
    expect(ok.status.code ?? 0).toBe(0);

    expect(bad.attributes['error.type']).toBe('tool_error');
    expect(bad.attributes['trellis.outcome']).toBe('invalid_arguments');
    expect(bad.status.code).toBe(2); // STATUS_CODE_ERROR

    const children = receiver.spans.filter((s) => s.parentSpanId === ok.spanId);
    const query = children.find((s) => s.attributes['db.system.name'] === 'postgresql');
    expect(query).toMatchObject({ name: 'SELECT', traceId: TRACE_ID, kind: 3 });
    expect(query!.attributes['db.operation.name']).toBe('SELECT');
    expect(query!.attributes['db.response.returned_rows']).toBe(1);
    const exchange = children.find((s) => s.attributes['http.request.method'] === 'GET');
    expect(exchange).toMatchObject({ name: 'GET', traceId: TRACE_ID, kind: 3 });
    expect(exchange!.attributes).toMatchObject({ 'server.address': '127.0.0.1', 'http.response.status_code': 200 });
    // Neither statement text, parameters nor URLs with their query reach the telemetry.
    const everything = JSON.stringify(receiver.spans);
    expect(everything).not.toContain('s3cr3t-value');
    expect(everything).not.toContain('generate_series');
    expect(receiver.rejected).toEqual([]);

    // The plugins' pools, observed when metrics are collected.
    expect(exposition).toMatch(/^trellis_postgres_pool_connections\{state="idle"\} \d+$/m);
    expect(exposition).toMatch(/^trellis_postgres_pool_waiting 0$/m);
    expect(exposition).toMatch(/^trellis_http_connections\{state="connected"\} \d+$/m);
    expect(exposition).toMatch(
      /^trellis_calls_total\{gen_ai_tool_name="report",trellis_outcome="invalid_arguments"\} 1$/m,
    );
  }, 60_000);

  it('starts a new trace when _meta carries none, and sets nothing up when telemetry is off', async () => {
    const before = receiver.spans.length;
    const server = await startServer({});
    try {
      const { client, close } = await connectInProcess(server, { era: 'legacy' });
      await client.listTools();
      await close();
    } finally {
      await server.close({ graceMs: 1_000 });
    }
    const listed = receiver.spans.slice(before).find((s) => s.name === 'tools/list');
    expect(listed).toBeDefined();
    expect(listed!.parentSpanId).toBeUndefined();
    expect(listed!.attributes['mcp.method.name']).toBe('tools/list');

    const quiet = await startServer({ OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_SDK_DISABLED: 'true' });
    const count = receiver.spans.length;
    try {
      const { client, close } = await connectInProcess(quiet, { era: 'modern' });
      expect(
        textOf(await client.callTool({ name: 'report', arguments: { url: `${targetOrigin}/page`, secret: 'x' } })),
      ).toBe('rows=3 status=200');
      await close();
    } finally {
      await quiet.close({ graceMs: 1_000 });
    }
    expect(receiver.spans.length).toBe(count);
  }, 60_000);

  it('carries each request’s span to its own query and fetch when calls overlap; the active span is the request’s as a handler starts (after awaits too with TELEMETRY_CONTEXT=async)', async () => {
    for (const mode of ['request', 'async'] as const) {
      const before = receiver.spans.length;
      const server = await startServer({ TELEMETRY_CONTEXT: mode });
      let seen: [string | null, string | null];
      try {
        const { client, close } = await connectInProcess(server, { era: 'modern' });
        const call = (secret: string) =>
          client.callTool({ name: 'report', arguments: { url: `${targetOrigin}/page`, secret } });
        const [a, b, active] = await Promise.all([
          call('a'),
          call('b'),
          client.callTool({ name: 'active', arguments: {} }),
        ]);
        expect([textOf(a), textOf(b)]).toEqual(['rows=3 status=200', 'rows=3 status=200']);
        seen = JSON.parse(textOf(active)) as [string | null, string | null];
        await close();
      } finally {
        await server.close({ graceMs: 1_000 });
      }
      const spans = receiver.spans.slice(before);
      const calls = spans.filter((s) => s.name === 'tools/call report');
      expect(calls, mode).toHaveLength(2);
      for (const parent of calls) {
        const children = spans.filter((s) => s.parentSpanId === parent.spanId).map((s) => s.name);
        expect(children.sort(), mode).toEqual(['GET', 'SELECT']);
      }
      const activeCall = spans.find((s) => s.name === 'tools/call active');
      expect(seen[0], mode).toBe(activeCall!.spanId);
      expect(seen[1], mode).toBe(mode === 'async' ? activeCall!.spanId : null);
    }
  }, 60_000);
});
