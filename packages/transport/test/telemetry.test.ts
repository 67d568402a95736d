import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { definePlugin, ToolError } from '@trellis/server';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, type RunningApp } from '../src/index.js';
import { modernCall } from './fixtures/http-harness.js';

const TOKEN = 'telemetry-test-token-0123456789';

/** Tools whose outcomes are known: success, isError, timeout; `hold` keeps the server's only slot busy. */
function mixPlugin() {
  let release!: () => void;
  let markHeld!: () => void;
  const held = new Promise<void>((resolve) => (markHeld = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  const plugin = definePlugin({
    name: 'mix',
    setup(scope) {
      scope.tools.add({ name: 'ok', description: 'Succeeds', handler: () => 'fine' });
      scope.tools.add({
        name: 'fails',
        description: 'Fails the way a model should read',
        handler: () => {
          throw new ToolError('no such city');
        },
      });
      scope.tools.add({
        name: 'slow',
        description: 'Outlives its timeout',
        timeoutMs: 50,
        handler: async (_args, ctx) => {
          await new Promise((resolve, reject) => {
            const timer = setTimeout(resolve, 5_000);
            ctx.signal.addEventListener('abort', () => (clearTimeout(timer), reject(ctx.signal.reason)), {
              once: true,
            });
          });
          return 'late';
        },
      });
      scope.tools.add({
        name: 'hold',
        description: 'Holds the only call slot until released',
        handler: async () => {
          markHeld();
          await released;
          return 'held';
        },
      });
    },
  });
  return { plugin, held, release: () => release() };
}

async function startApp(
  env: Record<string, string>,
): Promise<{ app: RunningApp; url: string; mix: ReturnType<typeof mixPlugin> }> {
  const mix = mixPlugin();
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const app = await run(
    {
      name: 'metered',
      version: '0.0.1',
      plugins: [mix.plugin],
      limits: { maxConcurrentCalls: 1, queueTimeoutMs: 150 },
    },
    {
      argv: [],
      env: { TRELLIS_TRANSPORT: 'http', PORT: '0', LOG_LEVEL: 'silent', ...env },
      envFiles: [],
      stderr,
      stdout: new PassThrough(),
      exit: () => undefined,
      signals: false,
    },
  );
  const url = /serving MCP on (http:\/\/\S+)/.exec(err)?.[1];
  if (!url) throw new Error(`the app did not start: ${err}`);
  return { app, url, mix };
}

async function connect(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client(
    { name: 'metrics-test', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

describe('Prometheus /metrics on the HTTP transport', () => {
  let started: Awaited<ReturnType<typeof startApp>>;
  let base: string;

  beforeAll(async () => {
    started = await startApp({ METRICS: 'on', AUTH_TOKEN: TOKEN });
    base = new URL(started.url).origin;
  });
  afterAll(async () => {
    started?.mix.release();
    await started?.app.shutdown();
  });

  it('sits behind the same auth as /mcp', async () => {
    const refused = await fetch(`${base}/metrics`);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await fetch(`${base}/status`)).status).toBe(401);
    const allowed = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('content-type')).toContain('text/plain');
  });

  it('counts exactly the calls made, by tool and outcome, with a latency histogram per tool, in valid exposition format', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const client = await connect(started.url, auth);
    try {
      for (let i = 0; i < 3; i++) expect((await client.callTool({ name: 'ok' })).isError).toBeFalsy();
      for (let i = 0; i < 2; i++) expect((await client.callTool({ name: 'fails' })).isError).toBe(true);
      const timedOut = await client.callTool({ name: 'slow' });
      expect(timedOut.isError).toBe(true);
      expect(JSON.stringify(timedOut.content)).toContain('timed out');
      // The only slot is held: the next call waits 150 ms in the queue, then is refused as busy.
      const holding = client.callTool({ name: 'hold' });
      await started.mix.held;
      const refused = await client.callTool({ name: 'ok' });
      expect(refused.isError).toBe(true);
      expect(JSON.stringify(refused.content)).toContain('Server busy');
      started.mix.release();
      expect((await holding).isError).toBeFalsy();
    } finally {
      await client.close();
    }

    const text = await (await fetch(`${base}/metrics`, { headers: auth })).text();
    const families = parsePrometheusTextFormat(text);
    const family = (name: string) => {
      const found = families.find((f) => f.name === name);
      if (!found) throw new Error(`no ${name} in:\n${text}`);
      return found;
    };

    const outcomes = family('trellis_calls_total');
    expect(outcomes.type).toBe('COUNTER');
    const counted = Object.fromEntries(
      outcomes.metrics.map((m) => [`${m.labels!.gen_ai_tool_name}/${m.labels!.trellis_outcome}`, Number(m.value)]),
    );
    expect(counted).toEqual({ 'ok/ok': 3, 'ok/busy': 1, 'fails/tool_error': 2, 'slow/timeout': 1, 'hold/ok': 1 });

    const durations = family('mcp_server_operation_duration');
    expect(durations.type).toBe('HISTOGRAM');
    // This parser folds a histogram's labelled series into one; read the series as plain samples (TYPE lines left out).
    const samples = parsePrometheusTextFormat(text.replace(/^# TYPE .*$/gm, ''));
    const series = (name: string) => samples.filter((f) => f.name === name).flatMap((f) => f.metrics);
    const key = (labels: Record<string, string>) =>
      JSON.stringify(
        Object.entries(labels)
          .filter(([k]) => k !== 'le')
          .sort(),
      );
    const calls = series('mcp_server_operation_duration_count').filter(
      (m) => m.labels!.mcp_method_name === 'tools/call',
    );
    const perTool: Record<string, number> = {};
    for (const m of calls) {
      const tool = m.labels!.gen_ai_tool_name!;
      perTool[tool] = (perTool[tool] ?? 0) + Number(m.value);
      expect(m.labels!.network_transport).toBe('tcp');
      // The conventions' bucket boundaries, cumulative up to +Inf = count.
      const buckets = series('mcp_server_operation_duration_bucket').filter((b) => key(b.labels!) === key(m.labels!));
      expect(buckets.map((b) => b.labels!.le)).toEqual([
        '0.01',
        '0.02',
        '0.05',
        '0.1',
        '0.2',
        '0.5',
        '1',
        '2',
        '5',
        '10',
        '30',
        '60',
        '120',
        '300',
        '+Inf',
      ]);
      expect(Number(buckets.at(-1)!.value)).toBe(Number(m.value));
    }
    expect(perTool).toEqual({ ok: 4, fails: 2, slow: 1, hold: 1 });
    const errorTypes = calls
      .filter((m) => m.labels!.error_type === 'tool_error')
      .reduce((n, m) => n + Number(m.value), 0);
    expect(errorTypes).toBe(4); // two failures, a timeout, a busy refusal
    // The busy call waited in the server's queue for about its 150 ms timeout.
    expect(family('trellis_queue_wait').type).toBe('HISTOGRAM');
    const waits = series('trellis_queue_wait_sum').filter((m) => m.labels!.trellis_queue === 'server');
    expect(waits.map((m) => m.labels!.trellis_queue_outcome)).toEqual(['timeout']);
    expect(Number(waits[0]!.value)).toBeGreaterThanOrEqual(0.1);
    // Every family the exporter wrote is typed (a sample outside its declared family would parse as UNTYPED).
    expect(families.filter((f) => f.type === 'UNTYPED')).toEqual([]);
    expect(family('trellis_calls_in_flight').metrics.every((m) => Number(m.value) === 0)).toBe(true);
  });
});

describe('telemetry off', () => {
  it('serves no /metrics or /status and adds nothing to the process', async () => {
    const { app, url } = await startApp({});
    try {
      const base = new URL(url).origin;
      expect((await fetch(`${base}/metrics`)).status).toBe(404);
      expect((await fetch(`${base}/status`)).status).toBe(404);
      const client = await connect(url);
      expect((await client.callTool({ name: 'ok' })).isError).toBeFalsy();
      await client.close();
    } finally {
      await app.shutdown();
    }
  });
});

describe('trace context over HTTP', () => {
  it('parents the MCP span on _meta and links the HTTP request’s own traceparent; a call without _meta context is parented on the HTTP one', async () => {
    // A minimal OTLP/HTTP receiver (JSON bodies): the spans' names, parents and links.
    const spans: {
      name: string;
      traceId: string;
      parentSpanId?: string;
      links?: { traceId: string; spanId: string }[];
    }[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (req.url === '/v1/traces') {
          for (const r of JSON.parse(body).resourceSpans ?? [])
            for (const s of r.scopeSpans ?? []) spans.push(...(s.spans ?? []));
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const { app, url } = await startApp({
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
    });
    const mcpParent = { trace: '11111111111111111111111111111111', span: '2222222222222222' };
    const httpParent = { trace: '33333333333333333333333333333333', span: '4444444444444444' };
    try {
      const withMeta = modernCall('ok', 1);
      const body = JSON.parse(withMeta.body);
      body.params._meta.traceparent = `00-${mcpParent.trace}-${mcpParent.span}-01`;
      const headers = { ...withMeta.headers, traceparent: `00-${httpParent.trace}-${httpParent.span}-01` };
      expect((await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) })).status).toBe(200);
      const plain = modernCall('ok', 2);
      expect(
        (
          await fetch(url, {
            method: 'POST',
            headers: { ...plain.headers, traceparent: headers.traceparent },
            body: plain.body,
          })
        ).status,
      ).toBe(200);
    } finally {
      await app.shutdown(); // flushes the spans
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
    const calls = spans.filter((s) => s.name === 'tools/call ok');
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatchObject({
      traceId: mcpParent.trace,
      parentSpanId: mcpParent.span,
      links: [{ traceId: httpParent.trace, spanId: httpParent.span }],
    });
    expect(calls[1]).toMatchObject({ traceId: httpParent.trace, parentSpanId: httpParent.span });
    expect(calls[1]!.links ?? []).toEqual([]);
  });
});
