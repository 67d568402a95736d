import { PassThrough } from 'node:stream';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import type { TaskEnabledSession } from '@modelcontextprotocol/ext-tasks/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioClientTransportV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION as LATEST_PROTOCOL_VERSION_V1 } from '@modelcontextprotocol/sdk/types.js';
import { sleep } from '@trellis/concurrency';
import { definePlugin, inputRequired } from '@trellis/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../../../tools/otlp-receiver.ts';
import { run } from '../src/index.js';
import { eventually } from './fixtures/http-harness.js';
import { alive, buildFixture } from './fixtures/stdio-harness.js';
import { taskRequester } from './fixtures/tasks-client.js';

/**
 * Telemetry sees every request a client makes, not only the pipeline's
 * operations: `initialize`, `ping`, `logging/setLevel`, `server/discover` and
 * `tasks/*` get server spans named and attributed like the others, and
 * `mcp.server.operation.duration`; tasks are counted live by status and their
 * state changes are spans under what caused them. Real clients over HTTP and
 * stdio, both protocol eras, against a local OTLP/HTTP receiver.
 */

const NAME = { type: 'object' as const, properties: { name: { type: 'string' as const } }, required: ['name'] };

const taskTools = definePlugin({
  name: 'task-tools',
  setup(scope) {
    scope.tools.add({ name: 'ok', description: 'Succeeds', handler: () => 'fine' });
    scope.tools.add({
      name: 'work',
      description: 'Runs as a task until cancelled',
      input: z.object({}),
      taskSupport: 'optional',
      task: { detachAfterMs: 0, pollIntervalMs: 50 },
      handler: async (_args, ctx) => {
        await sleep(60_000, { signal: ctx.signal });
        return 'never';
      },
    });
    scope.tools.add({
      name: 'ask',
      interactive: true,
      description: 'Waits for an answer, as a task',
      taskSupport: 'optional',
      task: { detachAfterMs: 0, pollIntervalMs: 50 },
      handler: () =>
        inputRequired({ inputRequests: { who: inputRequired.elicit({ message: 'who?', requestedSchema: NAME }) } }),
    });
  },
});

function spansNamed(receiver: OtlpReceiver, name: string, transport: 'tcp' | 'pipe'): ReceivedSpan[] {
  return receiver.spans.filter((s) => s.name === name && s.attributes['network.transport'] === transport);
}

/** `mcp_server_operation_duration_count` per `mcp.method.name`, from Prometheus text. */
function operationCounts(exposition: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const match of exposition.matchAll(/^mcp_server_operation_duration_count\{([^}]*)\} (\d+)$/gm)) {
    const method = /mcp_method_name="([^"]+)"/.exec(match[1]!)?.[1];
    if (method) counts[method] = (counts[method] ?? 0) + Number(match[2]);
  }
  return counts;
}

function liveTasks(exposition: string): Record<string, number> {
  const live: Record<string, number> = {};
  for (const match of exposition.matchAll(/^trellis_tasks_live\{trellis_task_status="(\w+)"\} (\d+)$/gm))
    live[match[1]!] = Number(match[2]);
  return live;
}

/** The count of `mcp.server.operation.duration` for `method` in the last OTLP metrics export (cumulative). */
function otlpDurationCount(receiver: OtlpReceiver, method: string): number | undefined {
  type Point = { count?: string | number; attributes?: { key: string; value: { stringValue?: string } }[] };
  type Body = {
    resourceMetrics?: { scopeMetrics?: { metrics?: { name: string; histogram?: { dataPoints: Point[] } }[] }[] }[];
  };
  let count: number | undefined;
  for (const body of receiver.metricBodies as Body[])
    for (const resource of body.resourceMetrics ?? [])
      for (const scope of resource.scopeMetrics ?? [])
        for (const metric of scope.metrics ?? []) {
          if (metric.name !== 'mcp.server.operation.duration') continue;
          const point = metric.histogram?.dataPoints.find((p) =>
            p.attributes?.some((a) => a.key === 'mcp.method.name' && a.value.stringValue === method),
          );
          if (point) count = Number(point.count);
        }
  return count;
}

describe('telemetry of every request', () => {
  let receiver: OtlpReceiver;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it('over HTTP, both eras: protocol requests and tasks/* get spans and durations; live tasks are counted by status and charted; state changes are spans under their cause', async () => {
    const stderr = new PassThrough();
    let err = '';
    stderr.on('data', (c: Buffer) => (err += c.toString()));
    const app = await run(
      { name: 'observed', version: '0.0.1', plugins: [taskTools] },
      {
        argv: [],
        env: {
          TRELLIS_TRANSPORT: 'http',
          PORT: '0',
          LOG_LEVEL: 'silent',
          METRICS: 'on',
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        },
        envFiles: [],
        stderr,
        stdout: new PassThrough(),
        exit: () => undefined,
        signals: false,
      },
    );
    let session: TaskEnabledSession | undefined;
    // The ids of the tasks created, for the spans checked after shutdown.
    let workingId = '';
    let askingId = '';
    const closers: (() => Promise<void>)[] = [];
    try {
      const url = /serving MCP on (http:\/\/\S+)/.exec(err)?.[1];
      if (!url) throw new Error(`the app did not start: ${err}`);
      const origin = new URL(url).origin;
      const metrics = async () => (await fetch(`${origin}/metrics`)).text();

      const legacy = new ClientV1({ name: 'legacy', version: '1.0.0' });
      await legacy.connect(new TransportV1(new URL(url)));
      await legacy.ping();
      await legacy.setLoggingLevel('warning');
      await legacy.listTools();
      await legacy.close();

      const modern = new Client(
        { name: 'modern', version: '1.0.0' },
        { versionNegotiation: { mode: { pin: '2026-07-28' } } },
      );
      await modern.connect(new StreamableHTTPClientTransport(new URL(url)));
      closers.push(() => modern.close());

      const requester = await taskRequester(url);
      closers.push(requester.close);
      session = requester.session;
      const started = async (tool: string) => {
        const execution = await session!.callTool(tool, {});
        if (execution.kind !== 'task') throw new Error(`${tool} answered inline`);
        await execution.handoff(() => undefined);
        return execution.handle.taskId;
      };
      const working = await started('work');
      const asking = await started('ask');
      workingId = String(working);
      askingId = String(asking);
      await eventually(async () => (await session!.task(asking).snapshot()).status === 'input_required');
      expect(liveTasks(await metrics())).toEqual({ working: 1, input_required: 1 });
      // The status page's live-tasks chart is fed from the same figures.
      const status = (await (await fetch(`${origin}/status/data`)).json()) as { tasks: Record<string, number> };
      expect(status.tasks).toEqual({ working: 1, input_required: 1 });

      await session.task(working).cancel();
      await session.task(asking).cancel();
      expect(liveTasks(await metrics())).toEqual({ working: 0, input_required: 0 });

      const counts = operationCounts(await metrics());
      expect(counts).toMatchObject({
        initialize: 1,
        ping: 1,
        'logging/setLevel': 1,
        'server/discover': 2,
        'tasks/cancel': 2,
      });
      expect(counts['tasks/get']).toBeGreaterThanOrEqual(1);
    } finally {
      for (const close of closers) await close().catch(() => undefined);
      await app.shutdown(); // flushes the spans
    }

    const [initialize] = spansNamed(receiver, 'initialize', 'tcp');
    expect(initialize).toMatchObject({ kind: 2 });
    expect(initialize!.attributes).toMatchObject({ 'mcp.method.name': 'initialize' });
    expect(typeof initialize!.attributes['jsonrpc.request.id']).toBe('string');
    expect(typeof initialize!.attributes['mcp.session.id']).toBe('string');
    const setLevel = spansNamed(receiver, 'logging/setLevel', 'tcp');
    expect(setLevel).toHaveLength(1);
    expect(setLevel[0]!.attributes['mcp.session.id']).toBe(initialize!.attributes['mcp.session.id']);
    const [ping] = spansNamed(receiver, 'ping', 'tcp');
    // An older-protocol session's spans carry the version its initialize negotiated.
    expect(ping!.attributes['mcp.protocol.version']).toBe(LATEST_PROTOCOL_VERSION_V1);
    expect(setLevel[0]!.attributes['mcp.protocol.version']).toBe(LATEST_PROTOCOL_VERSION_V1);
    const [legacyList] = spansNamed(receiver, 'tools/list', 'tcp');
    expect(legacyList!.attributes['mcp.protocol.version']).toBe(LATEST_PROTOCOL_VERSION_V1);
    const discovers = spansNamed(receiver, 'server/discover', 'tcp');
    expect(discovers).toHaveLength(2);
    expect(discovers[0]!.attributes['mcp.protocol.version']).toBe('2026-07-28');
    expect(spansNamed(receiver, 'tasks/get', 'tcp').length).toBeGreaterThanOrEqual(1);

    // A task's state changes are spans under what caused them: the call that created it, the tasks/cancel that ended it.
    const cancels = spansNamed(receiver, 'tasks/cancel', 'tcp');
    expect(cancels).toHaveLength(2);
    const cancelled = receiver.spans.filter((s) => s.name === 'task cancelled');
    expect(cancelled).toHaveLength(2);
    expect(cancelled.map((s) => s.parentSpanId).sort()).toEqual(cancels.map((s) => s.spanId).sort());
    expect(cancelled.map((s) => s.attributes['gen_ai.tool.name']).sort()).toEqual(['ask', 'work']);
    // A task-augmented call is a `tools/call <tool>` span of its own, naming the task it created; the task's
    // first round (served as an operation of its own) is its child.
    const calls = spansNamed(receiver, 'tools/call work', 'tcp');
    const augmented = calls.find((s) => s.attributes['trellis.task.id'] === workingId);
    expect(augmented).toMatchObject({ kind: 2 });
    expect(augmented!.attributes).toMatchObject({ 'gen_ai.tool.name': 'work', 'mcp.protocol.version': '2026-07-28' });
    expect(calls.filter((s) => s.parentSpanId === augmented!.spanId)).toHaveLength(1);
    const askCall = spansNamed(receiver, 'tools/call ask', 'tcp').find(
      (s) => s.attributes['trellis.task.id'] === askingId,
    );
    expect(askCall).toBeDefined();
    const created = receiver.spans.filter((s) => s.name === 'task working');
    expect(created.map((s) => s.attributes['gen_ai.tool.name'])).toContain('work');
    expect(receiver.spans.filter((s) => s.name === 'task input_required')).toHaveLength(1);
    // The same durations reach the collector over OTLP (exported at shutdown).
    expect(otlpDurationCount(receiver, 'ping')).toBe(1);
    expect(otlpDurationCount(receiver, 'tasks/cancel')).toBe(2);
    expect(receiver.rejected).toEqual([]);
  }, 30_000);

  it('over stdio, both eras: initialize, ping and logging/setLevel (older era), server/discover (2026-07-28) get spans with network.transport=pipe', async () => {
    const fixture = await buildFixture();
    const env = {
      PATH: process.env.PATH ?? '',
      LOG_LEVEL: 'warn',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    };
    const before = new Set(receiver.spans);

    const legacyTransport = new StdioClientTransportV1({
      command: process.execPath,
      args: [fixture],
      env,
      stderr: 'pipe',
    });
    const legacy = new ClientV1({ name: 'legacy', version: '1.0.0' });
    await legacy.connect(legacyTransport);
    await legacy.ping();
    await legacy.setLoggingLevel('error');
    const legacyPid = legacyTransport.pid!;
    await legacy.close();

    const modernTransport = new StdioClientTransport({
      command: process.execPath,
      args: [fixture],
      env,
      stderr: 'pipe',
    });
    const modern = new Client(
      { name: 'modern', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await modern.connect(modernTransport);
    const modernPid = modernTransport.pid!;
    await modern.close();

    // Each server flushes its spans as it shuts down on its input closing.
    await eventually(() => !alive(legacyPid) && !alive(modernPid), 15_000);
    const fresh = (name: string) => spansNamed(receiver, name, 'pipe').filter((s) => !before.has(s));
    expect(fresh('initialize')).toHaveLength(1);
    expect(fresh('logging/setLevel')).toHaveLength(1);
    expect(fresh('ping')).toHaveLength(1);
    expect(fresh('ping')[0]!.attributes['mcp.protocol.version']).toBe(LATEST_PROTOCOL_VERSION_V1);
    const [discover] = fresh('server/discover');
    expect(discover).toMatchObject({ kind: 2 });
    expect(discover!.attributes).toMatchObject({
      'mcp.method.name': 'server/discover',
      'mcp.protocol.version': '2026-07-28',
    });
    for (const span of [...fresh('initialize'), ...fresh('ping'), discover!])
      expect(typeof span.attributes['jsonrpc.request.id']).toBe('string');
  }, 30_000);
});
