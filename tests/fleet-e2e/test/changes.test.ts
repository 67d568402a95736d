import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetKey, type Fleet } from '@trellis/fleet';
import { WATCHED } from './fixtures/tools.js';
import {
  admin,
  eventually,
  fleetRoleUrl,
  promptlyMs,
  startInstance,
  startTestPostgres,
  type Instance,
  type TestPostgres,
} from './helpers.js';

/**
 * Change notifications across instances: two in-process instances, each with
 * its own fleet plugin (pool and LISTEN connection), share one PostgreSQL 15.
 * Listeners on A are real SDK clients: a 2026-07-28 `subscriptions/listen`
 * stream and an older-protocol session's GET stream.
 */

let db: TestPostgres;
let fleetUrl: string;
let a: Instance;
let b: Instance;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  db = await startTestPostgres();
  fleetUrl = await fleetRoleUrl(db.url);
  const env = { FLEET_DATABASE_URL: fleetUrl, FLEET_HEARTBEAT_INTERVAL: '1s' };
  [a, b] = await Promise.all([startInstance(env), startInstance(env)]);
});

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  await Promise.all([a?.http.close({ graceMs: 0 }), b?.http.close({ graceMs: 0 })]);
  await db?.destroy();
});

interface Heard {
  tools: number[];
  updated: { uri: string; at: number }[];
}

/** A 2026-07-28 SDK client on `url` listening for tools list changes and updates of WATCHED. */
async function modernListener(url: string): Promise<Heard> {
  const heard: Heard = { tools: [], updated: [] };
  const client = new Client(
    { name: 'listener', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  client.setNotificationHandler('notifications/tools/list_changed', () => void heard.tools.push(Date.now()));
  client.setNotificationHandler(
    'notifications/resources/updated',
    (n) => void heard.updated.push({ uri: n.params.uri, at: Date.now() }),
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  const subscription = await client.listen({ toolsListChanged: true, resourceSubscriptions: [WATCHED] });
  closers.push(async () => {
    await subscription.close();
    await client.close();
  });
  return heard;
}

/** An older-protocol SDK client (session, GET stream) on `url`, subscribed to WATCHED. */
async function legacyListener(url: string): Promise<Heard> {
  const heard: Heard = { tools: [], updated: [] };
  const client = new V1Client({ name: 'legacy-listener', version: '1.0.0' });
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => void heard.tools.push(Date.now()));
  client.setNotificationHandler(
    ResourceUpdatedNotificationSchema,
    (n) => void heard.updated.push({ uri: n.params.uri, at: Date.now() }),
  );
  const transport = new V1Transport(new URL(url));
  await client.connect(transport);
  await client.subscribeResource({ uri: WATCHED });
  closers.push(() => client.close());
  return heard;
}

async function touch(url: string): Promise<number> {
  const client = new Client(
    { name: 'toucher', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  try {
    const result = await client.callTool({ name: 'touch' });
    expect(result.content).toEqual([{ type: 'text', text: 'touched' }]);
    return Date.now();
  } finally {
    await client.close();
  }
}

describe('change notifications across instances', () => {
  it('a tools list change and a resource update made on B reach listeners on A within a second, in both protocol eras', async () => {
    const modern = await modernListener(a.url);
    const legacy = await legacyListener(a.url);
    // The older-protocol client opens its GET stream after initialize; give it a moment to be in place.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const madeAt = await touch(b.url);
    await eventually(
      () =>
        modern.tools.length > 0 && modern.updated.length > 0 && legacy.tools.length > 0 && legacy.updated.length > 0,
      'both listeners on A to hear both changes made on B',
      5_000,
    );
    for (const heard of [modern, legacy]) {
      expect(heard.updated[0]!.uri).toBe(WATCHED);
      expect(heard.tools[0]! - madeAt).toBeLessThan(promptlyMs());
      expect(heard.updated[0]!.at - madeAt).toBeLessThan(promptlyMs());
    }
    // Exactly once per change: no echo from the other instance, no second delivery.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect([modern.tools.length, modern.updated.length, legacy.tools.length, legacy.updated.length]).toEqual([
      1, 1, 1, 1,
    ]);
    const [row] = await admin<{ n: number }>(db.url, 'SELECT count(*)::int AS n FROM trellis_fleet.outbox');
    expect(row!.n).toBeGreaterThanOrEqual(2);
  });

  it('a listener whose LISTEN connection was killed reconnects and catches up on what was committed meanwhile', async () => {
    const modern = await modernListener(a.url);
    const fleetOfA = a.server.services.get(FleetKey.id)!.value as Fleet;
    const before = fleetOfA.lastSeenOutboxId;
    // New logins of the fleet's role are refused until the change below is committed: the listeners
    // cannot come back before it, so what they get is the catch-up read, not a live notification.
    await admin(db.url, 'ALTER ROLE trellis_fleet CONNECTION LIMIT 0');
    const killed = await admin<{ pid: number }>(
      db.url,
      `SELECT pg_terminate_backend(pid), pid FROM pg_stat_activity
        WHERE application_name = 'trellis-fleet-listen'`,
    );
    expect(killed.length).toBe(2);
    const [{ n: rowsBefore }] = (await admin<{ n: number }>(
      db.url,
      'SELECT count(*)::int AS n FROM trellis_fleet.outbox',
    )) as [{ n: number }];
    await touch(b.url);
    // B commits through a connection its pool already holds.
    await eventually(
      async () =>
        (await admin<{ n: number }>(db.url, 'SELECT count(*)::int AS n FROM trellis_fleet.outbox'))[0]!.n > rowsBefore,
      'the change committed to the outbox',
      10_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(modern.updated.length + modern.tools.length).toBe(0);
    expect((await a.server.ready()).ready).toBe(false);
    await admin(db.url, 'ALTER ROLE trellis_fleet CONNECTION LIMIT -1');
    await eventually(
      () => modern.updated.length > 0 && modern.tools.length > 0,
      'the change committed while A was not listening',
      10_000,
    );
    expect(fleetOfA.lastSeenOutboxId).toBeGreaterThan(before);
    await eventually(async () => (await a.server.ready()).ready && (await b.server.ready()).ready, 'ready again');
    // Each instance holds its one LISTEN connection again.
    await eventually(
      async () =>
        (
          await admin<{ n: number }>(
            db.url,
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'trellis-fleet-listen'`,
          )
        )[0]!.n === 2,
      'two LISTEN connections',
    );
  });
});

/** What an older-protocol client (SDK v1 or v2) on the fleet does, for the test below. */
interface LegacyClient {
  readonly heard: Heard;
  readonly sessionId: string;
  close(): Promise<unknown>;
  subscribe(): Promise<unknown>;
  unsubscribe(): Promise<unknown>;
}

/**
 * An older-protocol client whose POSTs go to `post` (the unsubscribe to `unsubscribe`) and whose GET
 * stream goes to `get`: one session, served by three instances.
 */
async function routedLegacyClient(
  sdk: 'v1' | 'v2',
  urls: { post: string; get: string; unsubscribe: string },
  sent: { url: string; what: string }[],
): Promise<LegacyClient> {
  const heard: Heard = { tools: [], updated: [] };
  const routed: typeof fetch = (_input, init) => {
    const body = typeof init?.body === 'string' ? init.body : '';
    const url =
      init?.method === 'GET' ? urls.get : body.includes('"resources/unsubscribe"') ? urls.unsubscribe : urls.post;
    sent.push({ url, what: init?.method === 'GET' ? 'GET' : body });
    return fetch(url, init);
  };
  if (sdk === 'v1') {
    const client = new V1Client({ name: 'routed-v1', version: '1.0.0' });
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void heard.tools.push(Date.now()));
    client.setNotificationHandler(
      ResourceUpdatedNotificationSchema,
      (n) => void heard.updated.push({ uri: n.params.uri, at: Date.now() }),
    );
    const transport = new V1Transport(new URL(urls.post), { fetch: routed });
    await client.connect(transport);
    return {
      heard,
      sessionId: transport.sessionId!,
      close: () => client.close(),
      subscribe: () => client.subscribeResource({ uri: WATCHED }),
      unsubscribe: () => client.unsubscribeResource({ uri: WATCHED }),
    };
  }
  // SDK v2's client speaks the older, session-based protocol by default.
  const client = new Client({ name: 'routed-v2', version: '1.0.0' });
  client.setNotificationHandler('notifications/tools/list_changed', () => void heard.tools.push(Date.now()));
  client.setNotificationHandler(
    'notifications/resources/updated',
    (n) => void heard.updated.push({ uri: n.params.uri, at: Date.now() }),
  );
  const transport = new StreamableHTTPClientTransport(new URL(urls.post), { fetch: routed });
  await client.connect(transport);
  return {
    heard,
    sessionId: transport.sessionId!,
    close: () => client.close(),
    subscribe: () => client.subscribeResource({ uri: WATCHED }),
    unsubscribe: () => client.unsubscribeResource({ uri: WATCHED }),
  };
}

describe('resource subscriptions of an older-protocol session across instances', () => {
  for (const sdk of ['v1', 'v2'] as const)
    it(`SDK ${sdk}: subscribed through A, GET stream on B, updated on C: heard within a second; unsubscribed through C: not heard`, async () => {
      const c = await startInstance({ FLEET_DATABASE_URL: fleetUrl, FLEET_HEARTBEAT_INTERVAL: '1s' });
      const sent: { url: string; what: string }[] = [];
      let client: LegacyClient | undefined;
      try {
        client = await routedLegacyClient(sdk, { post: a.url, get: b.url, unsubscribe: c.url }, sent);
        await heardAcrossInstances(client, c, sent);
      } finally {
        await client?.close();
        // Closed here: the tests below count the instances' LISTEN connections.
        await c.http.close({ graceMs: 0 });
      }
    });
});

/** The body of the test above: subscribe through A, hear on B what C changed, unsubscribe through C. */
async function heardAcrossInstances(client: LegacyClient, c: Instance, sent: { url: string; what: string }[]) {
  const subscriptionsOf = async () =>
    (
      await admin<{ subscriptions: string[] }>(
        db.url,
        'SELECT subscriptions FROM trellis_fleet.sessions WHERE id = $1',
        [client.sessionId],
      )
    )[0]?.subscriptions;
  await client.subscribe();
  expect(sent.find((m) => m.what.includes('"resources/subscribe"'))?.url).toBe(a.url);
  expect(await subscriptionsOf()).toEqual([WATCHED]);
  // The client opens its GET stream (to B) after the handshake; wait until B holds it.
  await eventually(() => sent.some((m) => m.what === 'GET'), 'the GET stream to B', 5_000);
  await new Promise((resolve) => setTimeout(resolve, 300));

  const madeAt = await touch(c.url);
  await eventually(
    () => client.heard.updated.length > 0 && client.heard.tools.length > 0,
    'the update made on C on the stream held by B',
    5_000,
  );
  expect(client.heard.updated[0]!.uri).toBe(WATCHED);
  expect(client.heard.updated[0]!.at - madeAt).toBeLessThan(promptlyMs());
  await new Promise((resolve) => setTimeout(resolve, 300));
  // Once: A (which served the subscribe) and C hold no stream of this session.
  expect(client.heard.updated).toHaveLength(1);

  await client.unsubscribe();
  expect(sent.find((m) => m.what.includes('"resources/unsubscribe"'))?.url).toBe(c.url);
  // An update, then a tools list change, in one outbox order: once the list change reaches the
  // stream on B, the update made before it would have.
  await touch(c.url);
  await eventually(() => client.heard.tools.length > 1, 'the second tools list change', 5_000);
  expect(client.heard.updated).toHaveLength(1);
  expect(await subscriptionsOf()).toEqual([]);
}

describe('a LISTEN connection that stops answering', () => {
  it('is dropped after a ping goes unanswered and opened again; what was committed meanwhile arrives', async () => {
    const modern = await modernListener(a.url);
    const fleetOfA = a.server.services.get(FleetKey.id)!.value as Fleet;
    // Stop both instances' LISTEN backends: no FIN, no RST, only silence.
    const frozen = await admin<{ pid: number }>(
      db.url,
      "SELECT pid FROM pg_stat_activity WHERE application_name = 'trellis-fleet-listen'",
    );
    expect(frozen).toHaveLength(2);
    for (const { pid } of frozen) process.kill(pid, 'SIGSTOP');
    try {
      await touch(b.url);
      await eventually(
        () => modern.updated.length > 0 && modern.tools.length > 0,
        'the change, through a new LISTEN connection',
        15_000,
      );
      expect((await a.server.ready()).ready).toBe(true);
      expect(fleetOfA.lastSeenOutboxId).toBeGreaterThan(0);
    } finally {
      for (const { pid } of frozen) {
        process.kill(pid, 'SIGCONT');
        await admin(db.url, 'SELECT pg_terminate_backend($1)', [pid]);
      }
    }
  }, 30_000);
});

describe('PostgreSQL restarted', () => {
  it('a change made on B while the database was down is committed once it is back and reaches A; both recover by themselves', async () => {
    const modern = await modernListener(a.url);
    await db.stop();
    const madeAt = await touch(b.url);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(modern.updated).toEqual([]);
    await db.start();
    await eventually(
      () => modern.updated.length > 0 && modern.tools.length > 0,
      'the change made during the outage',
      15_000,
    );
    expect(modern.updated[0]!.at).toBeGreaterThan(madeAt);
    await eventually(async () => (await a.server.ready()).ready && (await b.server.ready()).ready, 'both ready again');
    // And the fleet works as before: a new change travels at once.
    const again = modern.tools.length;
    await touch(b.url);
    await eventually(() => modern.tools.length > again, 'a change after the restart', 5_000);
  }, 40_000);
});
