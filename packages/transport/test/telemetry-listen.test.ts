import { PassThrough } from 'node:stream';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { definePlugin } from '@trellis/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpReceiver } from '../../../tools/otlp-receiver.ts';
import { run } from '../src/index.js';
import { eventually } from './fixtures/http-harness.js';
import { alive, buildFixture } from './fixtures/stdio-harness.js';

/**
 * What the SDK's serving entry answers before any handler — a 2026-07-28
 * `subscriptions/listen` stream — is still observed: one server span from
 * the stream's opening to its closing, with the filter it asked for, over HTTP
 * and stdio. And the
 * traces go out as OTLP protobuf unless http/json is asked for.
 */

const tools = definePlugin({
  name: 'plain',
  setup(scope) {
    scope.tools.add({ name: 'ok', description: 'Succeeds', handler: () => 'fine' });
  },
});

async function startHttp(receiver: OtlpReceiver, env: Record<string, string>) {
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const app = await run(
    { name: 'listened', version: '0.0.1', plugins: [tools] },
    {
      argv: [],
      env: {
        TRELLIS_TRANSPORT: 'http',
        PORT: '0',
        LOG_LEVEL: 'silent',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        ...env,
      },
      envFiles: [],
      stderr,
      stdout: new PassThrough(),
      exit: () => undefined,
      signals: false,
    },
  );
  const url = /serving MCP on (http:\/\/\S+)/.exec(err)?.[1];
  if (!url) {
    await app.shutdown();
    throw new Error(`the app did not start: ${err}`);
  }
  return { app, url };
}

/** The stdio fixture as a child process that exports its spans to `receiver` over OTLP/HTTP JSON. */
function stdioExportingTo(
  receiver: OtlpReceiver,
  fixture: string,
  env: Record<string, string> = {},
): StdioClientTransport {
  return new StdioClientTransport({
    command: process.execPath,
    args: [fixture],
    env: {
      PATH: process.env.PATH ?? '',
      LOG_LEVEL: 'warn',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      ...env,
    },
    stderr: 'pipe',
  });
}

async function modernClient(url: string): Promise<Client> {
  const client = new Client(
    { name: 'modern', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

describe('telemetry of what the SDK entry serves itself', () => {
  let receiver: OtlpReceiver;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it('a subscriptions/listen stream is one server span, from its opening to its closing, with its filter', async () => {
    const { app, url } = await startHttp(receiver, { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
    const client = await modernClient(url);
    let openedFor = 0;
    try {
      const subscription = await client.listen({ toolsListChanged: true, promptsListChanged: false });
      const opened = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 150));
      await subscription.close();
      openedFor = performance.now() - opened;
      // A refused listen (no filter) is observed as the JSON-RPC error it answered.
      const refused = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2026-07-28',
          'mcp-method': 'subscriptions/listen',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 'bad-listen',
          method: 'subscriptions/listen',
          params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } },
        }),
      });
      await refused.text();
    } finally {
      await client.close().catch(() => undefined);
      await app.shutdown(); // flushes the spans
    }
    await eventually(() => receiver.spans.some((s) => s.attributes['jsonrpc.request.id'] === 'bad-listen'));
    const listens = receiver.spans.filter((s) => s.name === 'subscriptions/listen');
    const open = listens.find((s) => s.attributes['jsonrpc.request.id'] !== 'bad-listen');
    expect(open).toMatchObject({ kind: 2 });
    expect(open!.attributes).toMatchObject({
      'mcp.method.name': 'subscriptions/listen',
      'mcp.protocol.version': '2026-07-28',
      'network.transport': 'tcp',
      'trellis.subscription.filter': ['toolsListChanged'],
    });
    expect(open!.attributes['error.type']).toBeUndefined();
    // The span covers the stream's life, not only its opening.
    expect(open!.durationMs).toBeGreaterThanOrEqual(Math.min(100, openedFor));
    const bad = listens.find((s) => s.attributes['jsonrpc.request.id'] === 'bad-listen');
    expect(bad!.attributes['error.type']).toBe('-32602');
    expect(bad!.status.code).toBe(2);
    expect(receiver.rejected).toEqual([]);
  }, 20_000);

  it('over stdio: a listen stream is one span (network.transport=pipe), ended by the client closing it', async () => {
    const fixture = await buildFixture();
    const before = new Set(receiver.spans);
    const transport = stdioExportingTo(receiver, fixture);
    const client = new Client(
      { name: 'modern', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await client.connect(transport);
    const pid = transport.pid!;
    const closedLater = await client.listen({ toolsListChanged: true });
    const closedByClient = await client.listen({ resourceSubscriptions: ['test://a', 'test://b'] });
    await closedByClient.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    void closedLater; // left open: it ends with the connection
    await client.close();
    // The server flushes its spans as it shuts down on its input closing.
    await eventually(() => !alive(pid), 15_000);
    const listens = receiver.spans.filter(
      (s) => !before.has(s) && s.name === 'subscriptions/listen' && s.attributes['network.transport'] === 'pipe',
    );
    expect(listens).toHaveLength(2);
    const byFilter = Object.fromEntries(listens.map((s) => [String(s.attributes['trellis.subscription.filter']), s]));
    expect(byFilter['toolsListChanged']!.attributes).toMatchObject({
      'mcp.method.name': 'subscriptions/listen',
      'mcp.protocol.version': '2026-07-28',
    });
    expect(byFilter['resourceSubscriptions']!.attributes['trellis.subscription.resource_count']).toBe(2);
    // The one left open lasted until the connection closed, beyond the one the client closed.
    expect(byFilter['toolsListChanged']!.durationMs).toBeGreaterThan(byFilter['resourceSubscriptions']!.durationMs);
    for (const span of listens) expect(span.attributes['error.type']).toBeUndefined();
  }, 20_000);

  it('honours the standard sampler variables: ratio 0 records no trace a request starts, parent-based keeps a sampled caller', async () => {
    const fixture = await buildFixture();
    const before = new Set(receiver.spans);
    const transport = stdioExportingTo(receiver, fixture, {
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0',
    });
    const client = new Client({ name: 'sampled', version: '1.0.0' });
    await client.connect(transport);
    const pid = transport.pid!;
    const traceId = '5bf92f3577b34da6a3ce929d0e0e4737';
    for (let i = 0; i < 3; i++) await client.callTool({ name: 'echo', arguments: { text: 'unsampled' } });
    await client.callTool({
      name: 'echo',
      arguments: { text: 'sampled' },
      _meta: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    await client.close();
    await eventually(() => !alive(pid), 15_000);
    const calls = receiver.spans.filter((s) => !before.has(s) && s.name === 'tools/call echo');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.traceId).toBe(traceId);
  }, 20_000);

  it('sends traces as OTLP protobuf by default (the standard OTEL_EXPORTER_OTLP_PROTOCOL default)', async () => {
    const before = receiver.protobufTraceBodies.length;
    const { app, url } = await startHttp(receiver, {});
    try {
      const client = await modernClient(url);
      await client.callTool({ name: 'ok', arguments: {} });
      await client.close();
    } finally {
      await app.shutdown();
    }
    const bodies = receiver.protobufTraceBodies.slice(before);
    expect(bodies.length).toBeGreaterThanOrEqual(1);
    // Protobuf carries strings as they are: the span's name and its method attribute are in the body.
    const all = Buffer.concat(bodies);
    expect(all.includes('tools/call ok')).toBe(true);
    expect(all.includes('mcp.method.name')).toBe(true);
    expect(receiver.rejected).toEqual([]);
  }, 20_000);
});
