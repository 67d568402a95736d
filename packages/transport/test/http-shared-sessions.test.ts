import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CoreServices,
  createServer,
  definePlugin,
  type SharedSessionRecord,
  type SharedSessionStore,
} from '@trellis/server';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpTransport, type HttpTransport } from '../src/http/index.js';
import { createProbe, eventually, testPlugin, type Probe } from './fixtures/http-harness.js';

/** The seam's contract in memory, one object shared by two servers in this process (the fleet's is PostgreSQL). */
class MemorySharedSessions implements SharedSessionStore {
  readonly records = new Map<string, SharedSessionRecord>();
  readonly #removed = new Set<(id: string) => void>();
  readonly #relayed = new Set<(id: string, messages: readonly unknown[]) => void>();
  get count() {
    return this.records.size;
  }
  async save(record: SharedSessionRecord) {
    this.records.set(record.id, record);
  }
  async load(id: string) {
    return this.records.get(id);
  }
  async setLogLevel(id: string, level: string) {
    const record = this.records.get(id);
    if (record) this.records.set(id, { ...record, logLevel: level });
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

async function instance(store: SharedSessionStore): Promise<{ url: string; probe: Probe; http: HttpTransport }> {
  const probe = createProbe();
  const shared = definePlugin({
    name: 'shared-sessions',
    setup: (scope) => scope.provide(CoreServices.sessionStore, store),
  });
  const server = createServer({
    name: 'http-test',
    version: '1.0.0',
    plugins: [shared, testPlugin(probe)],
    configSources: { argv: [], env: { LOG_LEVEL: 'silent' }, envFiles: [] },
  });
  await server.start();
  const http = createHttpTransport(server, { port: 0, host: '127.0.0.1' });
  await http.listen();
  stops.push(() => http.close({ graceMs: 0 }));
  return { url: http.url, probe, http };
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
});
