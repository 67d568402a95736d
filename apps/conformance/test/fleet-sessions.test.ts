import { randomBytes } from 'node:crypto';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  ElicitRequestSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConformanceSuite } from '../../../tools/conformance.mjs';
import type { Fleet } from '../../../tools/fleet.mjs';
import { startFleetWithTools, stopAll, type ConformanceTools } from './fleet-setup.js';

/**
 * Older-protocol sessions across a fleet: three instances of the built app behind nginx round-robin (no
 * stickiness) on a throwaway PostgreSQL (tools/fleet.mjs). A session opened on one instance is served by
 * every one, from the fleet's `sessions` table.
 */
let fleet: Fleet;
let tools: ConformanceTools;

beforeAll(async () => {
  ({ fleet, tools } = await startFleetWithTools({
    REQUEST_STATE_SECRET: randomBytes(32).toString('hex'),
    SHUTDOWN_GRACE_MS: '2000',
    // Short, so that fleet-wide idle expiry is seen within the test.
    SESSION_IDLE_TIMEOUT_MS: '4000',
  }));
}, 600_000);

const closers: (() => Promise<unknown>)[] = [];

afterAll(() => stopAll(closers, fleet), 60_000);

async function legacyClient(url: string): Promise<{ client: V1Client; transport: V1Transport }> {
  const client = new V1Client({ name: 'fleet-session-test', version: '1.0.0' });
  const transport = new V1Transport(new URL(url));
  await client.connect(transport);
  closers.push(() => client.close());
  return { client, transport };
}

/** A `ping` on the session, sent to one instance directly: the HTTP status. */
async function pingOn(instanceUrl: string, sessionId: string, protocolVersion: string): Promise<number> {
  const response = await fetch(instanceUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': sessionId,
      'mcp-protocol-version': protocolVersion,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
  });
  await response.text();
  return response.status;
}

async function eventually(check: () => Promise<boolean>, what: string, limitMs = 20_000): Promise<void> {
  const until = Date.now() + limitMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`gave up after ${limitMs} ms waiting for ${what}\n${fleet.output().slice(-4000)}`);
}

describe('older-protocol sessions over three instances behind nginx round-robin', () => {
  it('a session opened on one instance is served by every instance, and a DELETE ends it on all of them', async () => {
    const before = fleet.upstreamCounts();
    const { client, transport } = await legacyClient(fleet.url);
    const sessionId = transport.sessionId!;
    const version = transport.protocolVersion!;
    expect(sessionId).toBeTruthy();
    await client.setLoggingLevel('warning');
    for (let i = 0; i < 6; i += 1) {
      const listed = await client.listTools();
      expect(listed.tools.map((t) => t.name)).toContain('test_simple_text');
      const called = await client.callTool({ name: 'test_simple_text', arguments: {} });
      expect(called.isError).toBeFalsy();
    }
    const served = fleet.upstreamCounts().map((n, i) => n - before[i]!);
    // Round-robin: every instance served some of this one session's requests.
    for (const n of served) expect(n, `requests per instance: ${served.join(', ')}`).toBeGreaterThan(0);
    for (const instance of fleet.instances) expect(await pingOn(instance.url, sessionId, version)).toBe(200);

    await transport.terminateSession();
    // Every instance drops its copy when the removal reaches it through the fleet's outbox (milliseconds).
    await eventually(
      async () => {
        const statuses = await Promise.all(fleet.instances.map((i) => pingOn(i.url, sessionId, version)));
        return statuses.every((s) => s === 404);
      },
      'the deleted session to be gone from every instance',
      5_000,
    );
  }, 60_000);

  it('a session nobody uses expires on every instance; one in use does not', async () => {
    // Opened by hand: the SDK client's GET stream would keep it in use.
    const version = '2025-06-18';
    const opened = await fetch(fleet.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'idle', version: '1.0.0' } },
      }),
    });
    await opened.text();
    const idleId = opened.headers.get('mcp-session-id')!;
    expect(idleId).toBeTruthy();
    const busy = await legacyClient(fleet.url);
    // Seen on every instance, so that each holds a local copy that must go too.
    for (const instance of fleet.instances) expect(await pingOn(instance.url, idleId, version)).toBe(200);
    // Idle 4 s, swept every second: well gone after 10 s untouched (a request to it would keep it alive).
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      await busy.client.ping();
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const statuses = await Promise.all(fleet.instances.map((i) => pingOn(i.url, idleId, version)));
    expect(statuses, fleet.output().slice(-3000)).toEqual([404, 404, 404]);
    // The busy one, used through nginx all along, is still served everywhere.
    const busyId = busy.transport.sessionId!;
    for (const instance of fleet.instances) expect(await pingOn(instance.url, busyId, version)).toBe(200);
  }, 60_000);

  it('an elicitation from a tool on B is answered through C', async () => {
    const [a, b, c] = fleet.instances.map((i) => i.url) as [string, string, string];
    /** Where each POST goes: `initialize` to A, tool calls to B, everything else (the answer) to C. */
    const route = (body: string) =>
      body.includes('"method":"initialize"') ? a : body.includes('"method":"tools/call"') ? b : c;
    const sent: { url: string; body: string }[] = [];
    const routed: typeof fetch = (input, init) => {
      if (init?.method !== 'POST' || typeof init.body !== 'string') return fetch(a, init);
      const url = route(init.body);
      sent.push({ url, body: init.body });
      return fetch(url, init);
    };
    const client = new V1Client({ name: 'fleet-routed', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, () => ({
      action: 'accept',
      content: { username: 'ada', email: 'ada@example.com' },
    }));
    await client.connect(new V1Transport(new URL(fleet.url), { fetch: routed }));
    closers.push(() => client.close());

    const answered = await client.callTool({ name: 'test_elicitation', arguments: { message: 'who?' } });
    expect(JSON.stringify(answered.content)).toContain('ada@example.com');
    const answer = sent.find((m) => m.body.includes('"result"') && m.body.includes('ada@example.com'));
    expect(answer?.url).toBe(c);
  }, 60_000);

  it('a subscription made through A delivers updates made on C to the GET stream on B; an unsubscribe through C stops them', async () => {
    const [a, b, c] = fleet.instances.map((i) => i.url) as [string, string, string];
    const WATCHED = 'test://watched-resource';
    /** The GET stream to B, the unsubscribe to C, every other POST (initialize, subscribe) to A. */
    const sent: { url: string; what: string }[] = [];
    const routed: typeof fetch = (_input, init) => {
      const body = typeof init?.body === 'string' ? init.body : '';
      const url = init?.method === 'GET' ? b : body.includes('"resources/unsubscribe"') ? c : a;
      sent.push({ url, what: init?.method === 'GET' ? 'GET' : body });
      return fetch(url, init);
    };
    const client = new V1Client({ name: 'fleet-subscriber', version: '1.0.0' });
    const updates: string[] = [];
    let toolChanges = 0;
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void (toolChanges += 1));
    await client.connect(new V1Transport(new URL(a), { fetch: routed }));
    closers.push(() => client.close());
    const changer = await legacyClient(c);

    await client.subscribeResource({ uri: WATCHED });
    expect(sent.find((m) => m.what.includes('"resources/subscribe"'))?.url).toBe(a);
    // Repeated until the client's GET stream (opened after the handshake) is up on B.
    await eventually(
      async () => {
        if (updates.length === 0)
          await changer.client.callTool({ name: 'test_trigger_resource_update', arguments: {} });
        return updates.length > 0;
      },
      'the update made on C on the GET stream held by B',
      10_000,
    );
    expect(updates[0]).toBe(WATCHED);
    expect(sent.filter((m) => m.what === 'GET').map((m) => m.url)).toContain(b);

    await client.unsubscribeResource({ uri: WATCHED });
    expect(sent.find((m) => m.what.includes('"resources/unsubscribe"'))?.url).toBe(c);
    const heard = updates.length;
    const changesBefore = toolChanges;
    // An update, then a tools list change, in the outbox's one order: once the list change is on B's
    // stream, the update (committed before it) would have been too.
    await changer.client.callTool({ name: 'test_trigger_resource_update', arguments: {} });
    await changer.client.callTool({ name: 'test_trigger_tool_change', arguments: {} });
    await eventually(async () => toolChanges > changesBefore, 'the tools list change on B', 5_000);
    expect(updates).toHaveLength(heard);
  }, 60_000);

  for (const suite of [
    { id: '0.1.16 --suite active', version: '0.1.16', args: ['--suite', 'active'], required: 30 },
    { id: '0.1.16 --suite pending', version: '0.1.16', args: ['--suite', 'pending'], required: 2 },
    { id: '0.2.0-alpha.12 default', version: '0.2.0-alpha.12', args: [], required: 31 },
  ])
    it(`the conformance suite ${suite.id} passes through nginx`, async () => {
      const run = await runConformanceSuite(tools, { version: suite.version, url: fleet.url, args: suite.args });
      const failures = run.scenarios
        .filter((s) => s.scored && !s.ok)
        .map((s) => `${s.name}: ${s.failures.map((f) => `${f.id}: ${f.message}`).join('; ')}`);
      expect(failures, `results in ${run.outDir}\n${run.output.slice(-3000)}`).toEqual([]);
      expect(run.scenarios.filter((s) => s.scored)).toHaveLength(suite.required);
    }, 240_000);
});
