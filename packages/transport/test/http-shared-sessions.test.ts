import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { ServerEvent, ServerEventBus } from '@modelcontextprotocol/server';
import {
  CoreServices,
  createServer,
  definePlugin,
  type SharedSessionRecord,
  type SharedSessionStore,
  type SharedSubscriptions,
} from '@trellis/server';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpTransport, type HttpTransport } from '../src/http/index.js';
import { createProbe, eventually, testPlugin, type Probe } from './fixtures/http-harness.js';

/**
 * The seam's contract in memory, one object shared by servers in this process (the fleet's is PostgreSQL).
 * Its `bus` orders changes as the fleet's outbox does: each gets a position, delivered synchronously.
 */
class MemorySharedSessions implements SharedSessionStore {
  readonly records = new Map<string, SharedSessionRecord>();
  readonly #removed = new Set<(id: string) => void>();
  readonly #relayed = new Set<(id: string, messages: readonly unknown[]) => void>();
  readonly #subscriptions = new Set<(id: string, subscriptions: SharedSubscriptions) => void>();
  readonly #changes: ServerEvent[] = [];
  readonly #listeners = new Set<(event: ServerEvent) => void>();
  #delivering: number | undefined;
  readonly bus: ServerEventBus = {
    publish: (event) => {
      this.#changes.push(event);
      this.#delivering = this.#changes.length;
      try {
        for (const listener of [...this.#listeners]) listener(event);
      } finally {
        this.#delivering = undefined;
      }
    },
    subscribe: (listener) => {
      this.#listeners.add(listener);
      return () => void this.#listeners.delete(listener);
    },
  };
  get count() {
    return this.records.size;
  }
  async save(record: SharedSessionRecord) {
    this.records.set(record.id, record);
  }
  /** How long a read takes to come back (what it read is then already old): a slow database. */
  loadDelayMs = 0;
  async load(id: string) {
    const record = this.records.get(id);
    if (this.loadDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.loadDelayMs));
    return record;
  }
  async check(id: string, subscriptionsVersion: number) {
    const record = await this.load(id);
    if (!record) return undefined;
    const newer = record.subscriptionsVersion > subscriptionsVersion;
    return {
      logLevel: record.logLevel,
      subscriptions: newer ? { uris: record.subscriptions, version: record.subscriptionsVersion } : undefined,
    };
  }
  async clientSessions(client: string) {
    return [...this.records.values()].filter((r) => r.client === client).length;
  }
  streamPosition() {
    return this.#delivering === undefined
      ? { change: this.#changes.length, exact: false }
      : { change: this.#delivering, exact: true };
  }
  async changesAfter(position: number, limit: number) {
    return this.#changes
      .map((event, i) => ({ position: i + 1, event }))
      .slice(position)
      .slice(-limit);
  }
  async setLogLevel(id: string, level: string) {
    const record = this.records.get(id);
    if (record) this.records.set(id, { ...record, logLevel: level });
  }
  async setSubscribed(id: string, uri: string, subscribed: boolean) {
    const record = this.records.get(id);
    if (!record) return { uris: [], version: 0 };
    const others = record.subscriptions.filter((u) => u !== uri);
    const subscriptions = subscribed ? [...others, uri] : others;
    const version = record.subscriptionsVersion + 1;
    this.records.set(id, { ...record, subscriptions, subscriptionsVersion: version });
    for (const listener of this.#subscriptions) listener(id, { uris: subscriptions, version });
    return { uris: subscriptions, version };
  }
  onSubscriptions(listener: (id: string, subscriptions: SharedSubscriptions) => void) {
    this.#subscriptions.add(listener);
    return () => void this.#subscriptions.delete(listener);
  }
  async touch() {}
  async remove(id: string) {
    if (this.records.delete(id)) for (const listener of this.#removed) listener(id);
  }
  async expire() {}
  onRemoved(listener: (id: string) => void) {
    this.#removed.add(listener);
    return () => void this.#removed.delete(listener);
  }
  async relay(id: string, messages: readonly unknown[]) {
    for (const listener of this.#relayed) listener(id, messages);
  }
  onRelayed(listener: (id: string, messages: readonly unknown[]) => void) {
    this.#relayed.add(listener);
    return () => void this.#relayed.delete(listener);
  }
}

const stops: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
});

const WATCHED = 'test://watched';

interface Instance {
  url: string;
  probe: Probe;
  http: HttpTransport;
  /** Tells subscribers that `test://watched` changed, from this instance. */
  updateWatched(): void;
  /** Adds a tool here (a tools list change every instance hears over a shared bus). */
  addTool(name: string): void;
}

/** One server sharing `store` (and `bus`, when given: how a fleet's instances hear one another's changes). */
async function instance(store: SharedSessionStore, bus?: ServerEventBus): Promise<Instance> {
  const probe = createProbe();
  const shared = definePlugin({
    name: 'shared-sessions',
    setup: (scope) => {
      scope.provide(CoreServices.sessionStore, store);
      if (bus) scope.provide(CoreServices.changeBus, bus);
    },
  });
  let resources: { notifyUpdated(uri: string): void } | undefined;
  let tools: { add(spec: { name: string; description: string; handler: () => string }): void } | undefined;
  const watched = definePlugin({
    name: 'watched',
    setup: (scope) => {
      scope.resources.add({ uri: WATCHED, name: 'watched', read: () => 'now' });
      resources = scope.resources;
      tools = scope.tools;
    },
  });
  const server = createServer({
    name: 'http-test',
    version: '1.0.0',
    plugins: [shared, testPlugin(probe), watched],
    configSources: { argv: [], env: { LOG_LEVEL: 'silent' }, envFiles: [] },
  });
  await server.start();
  const http = createHttpTransport(server, { port: 0, host: '127.0.0.1' });
  await http.listen();
  stops.push(() => http.close({ graceMs: 0 }));
  return {
    url: http.url,
    probe,
    http,
    updateWatched: () => resources!.notifyUpdated(WATCHED),
    addTool: (name) => tools!.add({ name, description: 'Added at run time', handler: () => name }),
  };
}

describe('older-protocol sessions through a shared session store (CoreServices.sessionStore)', () => {
  it('a session opened on A is served on B; a cancel sent to A stops the call running on B; DELETE on B ends it on A', async () => {
    const store = new MemorySharedSessions();
    const a = await instance(store);
    const b = await instance(store);
    // `initialize` and everything but tool calls to A, tool calls to B.
    const routed: typeof fetch = (_input, init) =>
      fetch(typeof init?.body === 'string' && init.body.includes('"tools/call"') ? b.url : a.url, init);
    const client = new Client({ name: 'shared', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(a.url), { fetch: routed });
    await client.connect(transport);
    stops.push(() => client.close());
    expect(store.records.has(transport.sessionId!)).toBe(true);

    expect((await client.callTool({ name: 'hello', arguments: {} })).content).toEqual([
      { type: 'text', text: 'hello' },
    ]);

    const controller = new AbortController();
    const call = client.callTool({ name: 'slow', arguments: {} }, undefined, { signal: controller.signal });
    await b.probe.started;
    controller.abort('the test cancels');
    await expect(call).rejects.toThrow();
    await eventually(() => b.probe.aborted);

    // DELETE to B (a request of the session's own that A never sees): A forgets the session too.
    const id = transport.sessionId!;
    const deleted = await fetch(b.url, { method: 'DELETE', headers: { 'mcp-session-id': id } });
    expect(deleted.status).toBe(200);
    expect(store.records.has(id)).toBe(false);
    const afterwards = await fetch(a.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': id,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'ping' }),
    });
    expect(afterwards.status).toBe(404);
    expect(a.http.sessions).toBe(0);
  }, 30_000);

  it('a subscription made through A is delivered on the GET stream held by B for an update made on C; an unsubscribe through C stops it', async () => {
    const store = new MemorySharedSessions();
    const a = await instance(store, store.bus);
    const b = await instance(store, store.bus);
    const c = await instance(store, store.bus);
    // The GET stream to B, unsubscribe to C, every other POST (initialize, subscribe) to A.
    const sent: { url: string; what: string }[] = [];
    const routed: typeof fetch = (_input, init) => {
      const body = typeof init?.body === 'string' ? init.body : '';
      const url = init?.method === 'GET' ? b.url : body.includes('"resources/unsubscribe"') ? c.url : a.url;
      sent.push({ url, what: init?.method === 'GET' ? 'GET' : body });
      return fetch(url, init);
    };
    const client = new Client({ name: 'shared', version: '1.0.0' });
    const updates: string[] = [];
    const toolChanges: number[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void toolChanges.push(Date.now()));
    const transport = new StreamableHTTPClientTransport(new URL(a.url), { fetch: routed });
    await client.connect(transport);
    stops.push(() => client.close());
    const id = transport.sessionId!;

    await client.subscribeResource({ uri: WATCHED });
    expect(store.records.get(id)?.subscriptions).toEqual([WATCHED]);
    expect(sent.find((m) => m.what.includes('"resources/subscribe"'))?.url).toBe(a.url);
    // Repeated until the client's GET stream to B is up (opened after the handshake, asynchronously).
    await eventually(() => {
      if (updates.length === 0) c.updateWatched();
      return updates.length > 0;
    }, 10_000);
    expect(updates[0]).toBe(WATCHED);
    expect(sent.some((m) => m.what === 'GET' && m.url === b.url)).toBe(true);
    // Only B holds a stream: one update, one notification (A, which served the subscribe, sends none the client sees).
    const before = updates.length;
    c.updateWatched();
    await eventually(() => updates.length > before, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(updates.length).toBe(before + 1);

    await client.unsubscribeResource({ uri: WATCHED });
    expect(sent.find((m) => m.what.includes('"resources/unsubscribe"'))?.url).toBe(c.url);
    expect(store.records.get(id)?.subscriptions).toEqual([]);
    const heard = updates.length;
    // An update, then a tools list change on the same bus: once the list change reaches the client
    // over B's stream, the update (published before it) would have too.
    c.updateWatched();
    c.addTool('later');
    await eventually(() => toolChanges.length > 0, 5_000);
    expect(updates.length).toBe(heard);
  }, 30_000);
});

describe('GET-stream resumption across instances (Last-Event-ID)', () => {
  it('the GET stream held by A ends; the client resumes on B with Last-Event-ID and misses no change made meanwhile', async () => {
    const store = new MemorySharedSessions();
    const a = await instance(store, store.bus);
    const b = await instance(store, store.bus);
    const c = await instance(store, store.bus);
    // GET streams to A until it is gone, then to B; POSTs to C.
    let streams = a.url;
    const lastEventIds: (string | null)[] = [];
    const routed: typeof fetch = (_input, init) => {
      if (init?.method !== 'GET') return fetch(c.url, init);
      lastEventIds.push(new Headers(init.headers).get('last-event-id'));
      return fetch(streams, init);
    };
    const client = new Client({ name: 'resuming', version: '1.0.0' });
    const heard: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, () => void heard.push('updated'));
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void heard.push('tools'));
    const transport = new StreamableHTTPClientTransport(new URL(c.url), {
      fetch: routed,
      reconnectionOptions: {
        initialReconnectionDelay: 100,
        maxReconnectionDelay: 500,
        reconnectionDelayGrowFactor: 1.5,
        maxRetries: 10,
      },
    });
    await client.connect(transport);
    stops.push(() => client.close());
    await client.subscribeResource({ uri: WATCHED });
    await eventually(() => {
      if (heard.length === 0) c.updateWatched();
      return heard.length > 0;
    }, 10_000);
    const expected = [...heard];
    const change = (i: number) => {
      if (i % 2 === 0) c.addTool(`tool_${i}`);
      else c.updateWatched();
      expected.push(i % 2 === 0 ? 'tools' : 'updated');
    };
    for (let i = 0; i < 4; i += 1) change(i);
    await eventually(() => heard.length === expected.length, 5_000);

    // A goes away (its stream ends); changes made before the client is back are kept for it.
    streams = b.url;
    await a.http.close({ graceMs: 0 });
    for (let i = 4; i < 10; i += 1) change(i);
    await eventually(() => heard.length >= expected.length, 10_000);
    for (let i = 10; i < 12; i += 1) change(i);
    await eventually(() => heard.length >= expected.length, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(heard).toEqual(expected);
    // The reconnect named the last event the client had.
    expect(lastEventIds.at(-1)).toMatch(/^g\d+$/);
  }, 30_000);
});

describe("a shared session's subscriptions are versioned", () => {
  it('a read of the store that comes back after a newer subscription notice does not undo the subscription', async () => {
    const store = new MemorySharedSessions();
    const a = await instance(store, store.bus);
    const b = await instance(store, store.bus);
    // GET stream and pings to B, everything else to A.
    const routed: typeof fetch = (_input, init) => {
      const body = typeof init?.body === 'string' ? init.body : '';
      return fetch(init?.method === 'GET' || body.includes('"ping"') ? b.url : a.url, init);
    };
    const client = new Client({ name: 'versioned', version: '1.0.0' });
    const tools: number[] = [];
    const updates: string[] = [];
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void tools.push(1));
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
    await client.connect(new StreamableHTTPClientTransport(new URL(a.url), { fetch: routed }));
    stops.push(() => client.close());
    // B holds the session and its GET stream.
    await eventually(() => {
      if (tools.length === 0) a.addTool(`t${Date.now()}`);
      return tools.length > 0;
    }, 10_000);
    // B's check of the session (on the ping) reads the record before the subscription and returns after it.
    store.loadDelayMs = 300;
    const ping = client.ping();
    await new Promise((resolve) => setTimeout(resolve, 50));
    store.loadDelayMs = 0;
    await client.subscribeResource({ uri: WATCHED });
    await ping;
    a.updateWatched();
    await eventually(() => updates.length > 0, 5_000);
    expect(updates).toEqual([WATCHED]);
  }, 30_000);
});
