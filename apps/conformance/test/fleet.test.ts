import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { httpConfigSchema } from '@trellis/transport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConformanceScenarios, runConformanceSuite } from '../../../tools/conformance.mjs';
import type { Fleet } from '../../../tools/fleet.mjs';
import { postJsonRpc } from '../../../tools/json-rpc-post.ts';
import { DEPLOY_CONFIG } from '../../../tools/nginx.mjs';
import { startFleetWithTools, stopAll, type ConformanceTools } from './fleet-setup.js';
import { TASKS_SCENARIOS } from './tasks-scenarios.js';

/**
 * Three instances of the built app on 127.0.0.1 behind nginx round-robin (the shipped
 * deploy/nginx/trellis-mcp.conf, see tools/fleet.mjs), sharing a throwaway PostgreSQL 15 through
 * FLEET_DATABASE_URL.
 */
let fleet: Fleet;
let tools: ConformanceTools;

beforeAll(async () => {
  // input_required round-trips carry request state that another instance must be able to open.
  ({ fleet, tools } = await startFleetWithTools({
    REQUEST_STATE_SECRET: randomBytes(32).toString('hex'),
    SHUTDOWN_GRACE_MS: '2000',
  }));
}, 600_000);

const closers: (() => Promise<unknown>)[] = [];

afterAll(() => stopAll(closers, fleet), 60_000);

const WATCHED = 'test://watched-resource';
const TASKS = 'io.modelcontextprotocol/tasks';

interface Listener {
  tools: number[];
  updated: number[];
  /** Resolves when the listen stream ends (it must not, while its instance lives). */
  closed: Promise<'local' | 'graceful' | 'remote'>;
  ended: () => boolean;
}

/** A real SDK client pinned to 2026-07-28 on one instance, listening for tools list changes and updates of WATCHED. */
async function listenOn(url: string): Promise<Listener> {
  const client = new Client(
    { name: 'fleet-listener', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  const heard = { tools: [] as number[], updated: [] as number[] };
  client.setNotificationHandler('notifications/tools/list_changed', () => void heard.tools.push(Date.now()));
  client.setNotificationHandler('notifications/resources/updated', (n) => {
    if (n.params.uri === WATCHED) heard.updated.push(Date.now());
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  const subscription = await client.listen({ toolsListChanged: true, resourceSubscriptions: [WATCHED] });
  let ended = false;
  void subscription.closed.then(() => (ended = true));
  closers.push(async () => {
    await subscription.close();
    await client.close();
  });
  return { ...heard, closed: subscription.closed, ended: () => ended };
}

/**
 * An older-protocol SDK client (a session on one instance, its GET stream) subscribed to WATCHED: it hears
 * tools list changes and updates of WATCHED on that stream.
 */
async function legacyListenOn(url: string): Promise<Pick<Listener, 'tools' | 'updated'>> {
  const client = new V1Client({ name: 'fleet-legacy-listener', version: '1.0.0' });
  const heard = { tools: [] as number[], updated: [] as number[] };
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => void heard.tools.push(Date.now()));
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
    if (n.params.uri === WATCHED) heard.updated.push(Date.now());
  });
  await client.connect(new V1Transport(new URL(url)));
  await client.subscribeResource({ uri: WATCHED });
  closers.push(() => client.close());
  return heard;
}

/** A real SDK client pinned to 2026-07-28 on one instance, to make changes there. */
async function clientOn(url: string): Promise<Client> {
  const client = new Client(
    { name: 'fleet-changer', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  closers.push(() => client.close());
  return client;
}

let nextId = 1;
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'fleet-test', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': { extensions: { [TASKS]: {} } },
};

/** One 2026-07-28 request as a client of the Tasks extension sends it: the result, or the error. */
async function rpc(url: string, method: string, params: Record<string, unknown>) {
  return postJsonRpc(url, { id: nextId++, method, params: { ...params, _meta: ENVELOPE } });
}

/** Polls `check` until it holds; throws naming `what` after `limitMs` (generous: the machine is shared). */
async function eventually(check: () => Promise<boolean> | boolean, what: string, limitMs = 10_000): Promise<void> {
  const until = Date.now() + limitMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`gave up after ${limitMs} ms waiting for ${what}\n${fleet.output().slice(-4000)}`);
}

function failuresOf(run: Awaited<ReturnType<typeof runConformanceSuite>>) {
  return run.scenarios
    .filter((s) => s.scored && !s.ok)
    .map((s) => `${s.name}: ${s.failures.map((f) => `${f.id}: ${f.message}`).join('; ')}`);
}

describe('the shipped nginx configuration (deploy/nginx/trellis-mcp.conf)', () => {
  it('lets the instances’ largest body through and closes idle connections before the instances do', () => {
    const text = readFileSync(DEPLOY_CONFIG, 'utf8');
    const defaults = httpConfigSchema.parse({}) as { MAX_BODY_BYTES: number; KEEP_ALIVE_TIMEOUT_MS: number };
    const size = /^\s*client_max_body_size\s+(\d+)([kmg]?);/m.exec(text);
    const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[size![2] as '' | 'k' | 'm' | 'g'];
    expect(Number(size![1]) * unit).toBeGreaterThanOrEqual(defaults.MAX_BODY_BYTES);
    const keepalive = /^\s*keepalive_timeout\s+(\d+)s;/m.exec(text);
    expect(Number(keepalive![1]) * 1000).toBeLessThan(defaults.KEEP_ALIVE_TIMEOUT_MS);
    expect(text).not.toMatch(/^\s*(ip_hash|hash|sticky)\b/m);
  });
});

describe('three instances behind nginx round-robin', () => {
  it('the 0.2.0-alpha.12 --requirements 2026-07-28 suite passes, its requests spread over every instance', async () => {
    const before = fleet.upstreamCounts();
    const run = await runConformanceSuite(tools, {
      version: '0.2.0-alpha.12',
      url: fleet.url,
      args: ['--requirements', '2026-07-28'],
    });
    const context = `results in ${run.outDir}\n${run.output.slice(-3000)}\n${fleet.output().slice(-6000)}`;
    expect(failuresOf(run), context).toEqual([]);
    expect(run.scenarios.filter((s) => s.scored)).toHaveLength(37);
    const served = fleet.upstreamCounts().map((n, i) => n - before[i]!);
    const total = served.reduce((a, b) => a + b, 0);
    // Round-robin: each instance gets about a third; a third minus a wide margin for the retries
    // and the order in which parallel scenarios reach nginx.
    for (const n of served) expect(n, `requests per instance: ${served.join(', ')}`).toBeGreaterThan(total / 5);
  }, 240_000);

  it('the nine scored tasks-* scenarios pass, tasks/get and tasks/update landing on any instance', async () => {
    const before = fleet.upstreamCounts();
    const run = await runConformanceScenarios(tools, {
      version: '0.2.0-alpha.12',
      url: fleet.url,
      scenarios: TASKS_SCENARIOS,
    });
    const context = `results in ${run.outDir}\n${run.output.slice(-3000)}\n${fleet.output().slice(-6000)}`;
    expect(failuresOf(run), context).toEqual([]);
    expect(
      run.scenarios.filter((s) => s.scored),
      context,
    ).toHaveLength(9);
    const served = fleet.upstreamCounts().map((n, i) => n - before[i]!);
    for (const n of served) expect(n, `requests per instance: ${served.join(', ')}`).toBeGreaterThan(0);
  }, 240_000);

  it('a body over the instances’ MAX_BODY_BYTES reaches one and gets its JSON-RPC error, not nginx’s page', async () => {
    const res = await fetch(fleet.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(4 * 1024 * 1024) } }),
    });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(JSON.stringify(await res.json())).toMatch(/4194304|too large/i);
  });
});

describe('change notifications across instances (the fleet plugin on PostgreSQL)', () => {
  it('listeners on instance A hear, within a second, a resource update and a tools list change made on B', async () => {
    const [a, b] = fleet.instances;
    const listener = await listenOn(a!.url);
    const legacy = await legacyListenOn(a!.url);
    const changer = await clientOn(b!.url);
    // Each delay counts from the moment the change's call is sent to B.
    const updateSent = Date.now();
    await changer.callTool({ name: 'test_trigger_resource_update', arguments: {} });
    const toolChangeSent = Date.now();
    await changer.callTool({ name: 'test_trigger_tool_change', arguments: {} });
    await eventually(() => listener.updated.length > 0 && listener.tools.length > 0, 'both notifications on A');
    expect(listener.updated[0]! - updateSent, 'resources/updated delay (ms)').toBeLessThanOrEqual(1_000);
    expect(listener.tools[0]! - toolChangeSent, 'tools/list_changed delay (ms)').toBeLessThanOrEqual(1_000);
    // The older protocol's GET stream on A hears them too (its session lives on A, the change on B).
    await eventually(() => legacy.updated.length > 0 && legacy.tools.length > 0, 'both on the GET stream on A');
    expect(legacy.updated[0]! - updateSent, 'older protocol: resources/updated delay (ms)').toBeLessThanOrEqual(1_000);
    expect(legacy.tools[0]! - toolChangeSent, 'older protocol: tools/list_changed delay (ms)').toBeLessThanOrEqual(
      1_000,
    );
  });
});

describe('PostgreSQL restarted under load', () => {
  it('every instance recovers without a restart; the changes made meanwhile reach the listeners once it is back', async () => {
    const [a, b, c] = fleet.instances;
    const pids = fleet.instances.map((instance) => instance.pid);
    const listener = await listenOn(a!.url);
    const onB = await clientOn(b!.url);
    const onC = await clientOn(c!.url);
    // Load: calls through nginx, back to back, for the whole test (bounded by the flag below).
    let loading = true;
    const load = { ok: 0, failed: 0 };
    const loader = (async () => {
      while (loading) {
        const answer = await rpc(fleet.url, 'tools/call', { name: 'test_simple_text', arguments: {} }).catch(
          () => ({}),
        );
        if ('result' in answer && answer.result) load.ok += 1;
        else load.failed += 1;
      }
    })();
    try {
      const before = listener.updated.length;
      await eventually(() => load.ok > 0, 'the load to run');
      await fleet.postgres!.stop();
      const okBeforeOutage = load.ok;
      // Changes while the database is away: each instance queues its notification until it can commit it.
      for (let i = 0; i < 3; i += 1) await onB.callTool({ name: 'test_trigger_resource_update', arguments: {} });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const okDuringOutage = load.ok - okBeforeOutage;
      await fleet.postgres!.start();
      for (let i = 0; i < 2; i += 1) await onC.callTool({ name: 'test_trigger_resource_update', arguments: {} });
      await eventually(
        () => listener.updated.length >= before + 5,
        'the 5 updates made on B (database away) and C (database back) on the listener on A',
        20_000,
      );
      expect(listener.ended(), 'the listen stream on A stayed open').toBe(false);
      expect(okDuringOutage, 'calls that need no database kept working').toBeGreaterThan(0);
      // Every instance serves again, as the same process.
      for (const instance of fleet.instances) {
        await eventually(async () => (await fetch(`${instance.base}/readyz`)).ok, `${instance.url} ready`, 20_000);
        const answer = await rpc(instance.url, 'tools/call', { name: 'test_simple_text', arguments: {} });
        expect(answer.result, JSON.stringify(answer)).toBeDefined();
      }
      expect(fleet.instances.map((instance) => instance.pid)).toEqual(pids);
      // And a task started now is shared again: started on B, seen on C.
      const created = await rpc(b!.url, 'tools/call', { name: 'slow_compute', arguments: { seconds: 2 } });
      expect(
        (await rpc(c!.url, 'tasks/get', { taskId: created.result?.taskId })).result,
        JSON.stringify(created),
      ).toMatchObject({
        taskId: created.result?.taskId,
      });
    } finally {
      loading = false;
      await loader;
    }
    expect(load.ok).toBeGreaterThan(0);
  }, 90_000);
});

describe('an instance killed with SIGKILL', () => {
  it('leaves the survivors’ listeners streaming; its running task ends failed, saying why, within 20 s (+2 s for load), or, declared safe to re-run, is run again by a survivor', async () => {
    const [a, b, c] = fleet.instances;
    const onA = await listenOn(a!.url);
    const onC = await listenOn(c!.url);
    // A task that runs for a minute on B (the call answers with the task once it outlives its moment).
    const created = await rpc(b!.url, 'tools/call', {
      name: 'slow_compute',
      arguments: { seconds: 60, label: 'doomed' },
    });
    const taskId = created.result?.taskId;
    expect(typeof taskId, JSON.stringify(created)).toBe('string');
    expect((await rpc(a!.url, 'tasks/get', { taskId })).result).toMatchObject({ status: 'working' });
    // And one of a tool that declares itself safe to re-run: a survivor takes it over and runs it again.
    const rerunnable = await rpc(b!.url, 'tools/call', { name: 'test_rerunnable_compute', arguments: { seconds: 3 } });
    const rerunId = rerunnable.result?.taskId;
    expect(typeof rerunId, JSON.stringify(rerunnable)).toBe('string');

    await b!.kill('SIGKILL');
    const killed = Date.now();
    let task: Record<string, unknown> | undefined;
    await eventually(
      async () => {
        task = (await rpc(c!.url, 'tasks/get', { taskId })).result;
        return task?.status === 'failed';
      },
      `task ${String(taskId)} of the killed instance to end failed`,
      30_000,
    );
    // 20 s by design with the default heartbeats (3 missed 5 s beats, then at most one interval until a
    // survivor's reaper runs), plus 2 s for the timers and queries of a loaded machine.
    expect(Date.now() - killed, 'from SIGKILL to failed (ms)').toBeLessThanOrEqual(22_000);
    expect(String(task!.statusMessage)).toMatch(/instance running this task stopped/);
    // Every survivor agrees.
    expect((await rpc(a!.url, 'tasks/get', { taskId })).result).toMatchObject({ status: 'failed' });

    // The survivors' listeners kept their streams, and still hear every change, from either survivor.
    expect(onA.ended() || onC.ended()).toBe(false);
    const heardA = onA.updated.length;
    const heardC = onC.updated.length;
    await (await clientOn(c!.url)).callTool({ name: 'test_trigger_resource_update', arguments: {} });
    await (await clientOn(a!.url)).callTool({ name: 'test_trigger_resource_update', arguments: {} });
    await eventually(
      () => onA.updated.length >= heardA + 2 && onC.updated.length >= heardC + 2,
      'both updates on both survivors',
    );
    // Through nginx, the dead instance is skipped: calls keep working.
    for (let i = 0; i < 6; i += 1) {
      const answer = await rpc(fleet.url, 'tools/call', { name: 'test_simple_text', arguments: {} });
      expect(answer.result, JSON.stringify(answer)).toBeDefined();
    }
    // The re-runnable task completed on a survivor, not on the killed instance (whose pid it would name).
    let rerun: Record<string, unknown> | undefined;
    await eventually(
      async () => {
        rerun = (await rpc(fleet.url, 'tasks/get', { taskId: rerunId })).result;
        return rerun?.status === 'completed';
      },
      `the re-runnable task ${String(rerunId)} to complete on a survivor`,
      30_000,
    );
    const by = /Computed by process (\d+)/.exec(JSON.stringify(rerun))?.[1];
    expect([a!.pid, c!.pid], JSON.stringify(rerun)).toContain(Number(by));
  }, 90_000);
});
