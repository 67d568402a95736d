import { randomBytes } from 'node:crypto';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  ElicitRequestSchema,
  PromptListChangedNotificationSchema,
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
const PER_CLIENT = 120;

beforeAll(async () => {
  ({ fleet, tools } = await startFleetWithTools({
    REQUEST_STATE_SECRET: randomBytes(32).toString('hex'),
    SHUTDOWN_GRACE_MS: '2000',
    // Short, so that fleet-wide idle expiry is seen within the test.
    SESSION_IDLE_TIMEOUT_MS: '4000',
    // Low enough that one client reaches it soon with sessions spread over the three instances (the
    // per-client test names its own client with X-Forwarded-For), high enough for the suites from 127.0.0.1.
    MAX_SESSIONS_PER_CLIENT: String(PER_CLIENT),
    // /metrics on each instance: the cancel tests read the calls running there.
    METRICS: 'on',
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

/** Opens a session by hand (`initialize` only, no GET stream): its id, or the refusal's status and body. */
async function openSession(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; id: string | null; body: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'by-hand', version: '1.0.0' } },
    }),
  });
  return { status: response.status, id: response.headers.get('mcp-session-id'), body: await response.text() };
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
    const idleId = (await openSession(fleet.url)).id!;
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

  it('the per-client session cap counts the sessions a client holds on every instance', async () => {
    // One client (by its X-Forwarded-For, trusted from nginx) opens sessions through round-robin: a third
    // of them on each instance, so that no instance alone would reach the cap.
    const client = { 'x-forwarded-for': '203.0.113.77' };
    const opened: string[] = [];
    closers.push(async () => {
      for (const id of opened)
        await fetch(fleet.url, { method: 'DELETE', headers: { ...client, 'mcp-session-id': id } });
    });
    const before = fleet.upstreamCounts();
    for (let i = 0; i < PER_CLIENT; i += 1) {
      const session = await openSession(fleet.url, client);
      expect(session.status, session.body).toBe(200);
      opened.push(session.id!);
    }
    const spread = fleet.upstreamCounts().map((n, i) => n - before[i]!);
    for (const n of spread) expect(n, `sessions per instance: ${spread.join(', ')}`).toBeLessThan(PER_CLIENT);
    const refused = await openSession(fleet.url, client);
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body).error.data).toMatchObject({ limit: 'maxSessionsPerClient', max: PER_CLIENT });
    // Another client is not held back by this one's sessions.
    const other = await openSession(fleet.url, { 'x-forwarded-for': '203.0.113.78' });
    expect(other.status).toBe(200);
    opened.push(other.id!);
    // A DELETE (through any instance) frees a place for the client on every instance.
    const deleted = await fetch(fleet.instances[0]!.url, {
      method: 'DELETE',
      headers: { ...client, 'mcp-session-id': opened.shift()! },
    });
    expect(deleted.status).toBe(200);
    const again = await openSession(fleet.url, client);
    expect(again.status, again.body).toBe(200);
    opened.push(again.id!);
  }, 60_000);

  /** A fetch for SDK clients that sends each request where `route` says (method, body). */
  const routedFetch =
    (route: (method: string, body: string) => string, sent: { url: string; body: string }[] = []): typeof fetch =>
    (_input, init) => {
      const body = typeof init?.body === 'string' ? init.body : '';
      const url = route(init?.method ?? 'GET', body);
      sent.push({ url, body });
      return fetch(url, init);
    };

  it('SDK v2 client: a session opened on A keeps working when its requests land on B and C', async () => {
    const urls = fleet.instances.map((i) => i.url);
    let next = 0;
    const served: string[] = [];
    // initialize to A, then every request to the next instance in turn (GET streams to A).
    const client = new Client({ name: 'fleet-v2', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(urls[0]!), {
      fetch: routedFetch((method, body) => {
        if (method !== 'POST' || body.includes('"initialize"')) return urls[0]!;
        const url = urls[next++ % urls.length]!;
        served.push(url);
        return url;
      }),
    });
    await client.connect(transport);
    closers.push(() => client.close());
    for (let i = 0; i < 3; i += 1) {
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('test_simple_text');
      const called = await client.callTool({ name: 'test_simple_text', arguments: {} });
      expect(called.isError).toBeFalsy();
    }
    expect(new Set(served)).toEqual(new Set(urls));
  }, 60_000);

  it('SDK v2 client: an elicitation from a tool on B is answered through C', async () => {
    const [a, b, c] = fleet.instances.map((i) => i.url) as [string, string, string];
    const sent: { url: string; body: string }[] = [];
    const client = new Client({ name: 'fleet-v2-routed', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    client.setRequestHandler('elicitation/create', async () => ({
      action: 'accept',
      content: { username: 'grace', email: 'grace@example.com' },
    }));
    const route = (method: string, body: string) =>
      method !== 'POST' || body.includes('"method":"initialize"') ? a : body.includes('"method":"tools/call"') ? b : c;
    await client.connect(new StreamableHTTPClientTransport(new URL(a), { fetch: routedFetch(route, sent) }));
    closers.push(() => client.close());
    const answered = await client.callTool({ name: 'test_elicitation', arguments: { message: 'who?' } });
    expect(JSON.stringify(answered.content)).toContain('grace@example.com');
    expect(sent.find((m) => m.body.includes('"result"') && m.body.includes('grace@example.com'))?.url).toBe(c);
  }, 60_000);

  it('SDK v2 client: elicitations from tools on B and C at once each get their own answer', async () => {
    const [a, b, c] = fleet.instances.map((i) => i.url) as [string, string, string];
    // Both instances number their requests to the client alike; each must take only the answer to its own.
    const route = (method: string, body: string) =>
      method === 'POST' && body.includes('"message":"from-b"')
        ? b
        : method === 'POST' && body.includes('"message":"from-c"')
          ? c
          : a;
    const client = new Client({ name: 'fleet-two-askers', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    const ids: unknown[] = [];
    client.setRequestHandler('elicitation/create', async (request, ctx) => {
      ids.push(ctx.mcpReq.id);
      const from = String(request.params.message);
      // B's question is answered last, after C's answer has reached every instance.
      if (from === 'from-b') await new Promise((resolve) => setTimeout(resolve, 500));
      return { action: 'accept', content: { username: from, email: `${from}@example.com` } };
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(a), { fetch: routedFetch(route) }));
    closers.push(() => client.close());
    const [fromB, fromC] = await Promise.all(
      ['from-b', 'from-c'].map((message) => client.callTool({ name: 'test_elicitation', arguments: { message } })),
    );
    expect(JSON.stringify(fromB!.content)).toContain('from-b@example.com');
    expect(JSON.stringify(fromC!.content)).toContain('from-c@example.com');
    expect(new Set(ids).size).toBe(2);
  }, 60_000);

  /** Calls of `tool` running on one instance now, from its /metrics (METRICS=on). */
  async function runningOn(instanceUrl: string, tool: string): Promise<number> {
    const text = await (await fetch(instanceUrl.replace(/\/mcp$/, '/metrics'))).text();
    const line = text.split('\n').find((l) => l.startsWith(`trellis_calls_in_flight{gen_ai_tool_name="${tool}"}`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }

  for (const sdk of ['v1', 'v2'] as const)
    it(`SDK ${sdk} client: a cancel sent through A stops the call running on B`, async () => {
      const [a, b] = fleet.instances.map((i) => i.url) as [string, string, string];
      const TOOL = 'test_wait_for_cancel';
      const sent: { url: string; body: string }[] = [];
      // The call goes to B, everything else (the cancel among it) to A.
      const route = (_method: string, body: string) => (body.includes('"method":"tools/call"') ? b : a);
      const controller = new AbortController();
      let call: Promise<unknown>;
      if (sdk === 'v1') {
        const client = new V1Client({ name: 'fleet-cancel', version: '1.0.0' });
        await client.connect(new V1Transport(new URL(a), { fetch: routedFetch(route, sent) }));
        closers.push(() => client.close());
        call = client.callTool({ name: TOOL, arguments: {} }, undefined, { signal: controller.signal });
      } else {
        const client = new Client({ name: 'fleet-cancel', version: '1.0.0' });
        await client.connect(new StreamableHTTPClientTransport(new URL(a), { fetch: routedFetch(route, sent) }));
        closers.push(() => client.close());
        call = client.callTool({ name: TOOL, arguments: {} }, { signal: controller.signal });
      }
      call.catch(() => undefined);
      await eventually(async () => (await runningOn(b, TOOL)) === 1, 'the call to run on B', 10_000);
      controller.abort('the test cancels');
      await expect(call).rejects.toThrow();
      expect(sent.find((m) => m.body.includes('"notifications/cancelled"'))?.url).toBe(a);
      // Stopped on B well before the tool's own 60 s.
      await eventually(async () => (await runningOn(b, TOOL)) === 0, 'the call on B to stop', 10_000);
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
  // Last: it kills an instance (nginx then routes around it).
  it('SIGKILL of the instance holding a GET stream: the client resumes on a survivor with Last-Event-ID and loses no committed notification', async () => {
    const [a, b, c] = fleet.instances as [
      Fleet['instances'][number],
      Fleet['instances'][number],
      Fleet['instances'][number],
    ];
    const WATCHED = 'test://watched-resource';
    type Heard = string[];
    /** A client whose GET stream goes where `streamTo()` says, and its POSTs to `postTo`. */
    const listen = async (streamTo: () => string, postTo: string, resumed: (string | null)[] = []) => {
      const heard: Heard = [];
      const client = new V1Client({ name: 'fleet-resume', version: '1.0.0' });
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => void heard.push('tools'));
      client.setNotificationHandler(PromptListChangedNotificationSchema, () => void heard.push('prompts'));
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void heard.push(n.params.uri));
      const routed: typeof fetch = (_input, init) => {
        if (init?.method !== 'GET') return fetch(postTo, init);
        resumed.push(new Headers(init.headers).get('last-event-id'));
        return fetch(streamTo(), init);
      };
      await client.connect(
        new V1Transport(new URL(postTo), {
          fetch: routed,
          reconnectionOptions: {
            initialReconnectionDelay: 200,
            maxReconnectionDelay: 1_000,
            reconnectionDelayGrowFactor: 1.5,
            maxRetries: 20,
          },
        }),
      );
      closers.push(() => client.close());
      await client.subscribeResource({ uri: WATCHED });
      return heard;
    };
    const producer = await legacyClient(b.url);
    const trigger = (i: number) =>
      producer.client.callTool({
        name: ['test_trigger_tool_change', 'test_trigger_resource_update', 'test_trigger_prompt_change'][i % 3]!,
        arguments: {},
      });
    // The subject's GET stream is on A until A dies, then wherever nginx sends it; the witness's stays on C.
    let aAlive = true;
    const resumed: (string | null)[] = [];
    const subject = await listen(() => (aAlive ? a.url : fleet.url), c.url, resumed);
    const witness = await listen(() => c.url, c.url);
    // Both streams up: one change reaches both.
    await eventually(
      async () => {
        if (subject.length === 0 || witness.length === 0) await trigger(0);
        return subject.length > 0 && witness.length > 0;
      },
      'both GET streams to be up',
      15_000,
    );
    // Start both sequences at the same change.
    await trigger(1);
    await eventually(async () => subject.at(-1) === WATCHED && witness.at(-1) === WATCHED, 'a resource update on both');
    subject.length = 0;
    witness.length = 0;

    const produced = 12;
    for (let i = 0; i < produced; i += 1) {
      // Each call returns once its change is committed to the outbox.
      await trigger(i);
      if (i === 3) {
        aAlive = false;
        await a.kill();
      }
    }
    await eventually(
      async () => witness.length >= produced && subject.length >= witness.length,
      'the subject to hear every change the witness heard',
      20_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(witness.length).toBeGreaterThanOrEqual(produced);
    expect(subject, fleet.output().slice(-3000)).toEqual(witness);
    // The subject came back through a survivor, naming the last event it had.
    expect(
      resumed.slice(1).some((id) => id !== null && /^g\d+/.test(id)),
      String(resumed),
    ).toBe(true);
  }, 90_000);
});
