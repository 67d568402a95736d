import { Client } from '@modelcontextprotocol/client';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { checkMcpParamHeaders } from '../src/http/mcp-param.js';
import {
  eventually,
  initializeBody,
  JSON_HEADERS,
  modernCall,
  raw,
  startApp,
  type TestApp,
} from './fixtures/http-harness.js';

const apps: TestApp[] = [];
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close().catch(() => undefined);
  for (const app of apps.splice(0)) await app.stop();
});

async function app(options: Parameters<typeof startApp>[0] = {}) {
  const started = await startApp(options);
  apps.push(started);
  return started;
}

async function modernClient(url: string) {
  const client = new Client(
    { name: 'modern', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  closers.push(() => client.close());
  return client;
}

async function v1Client(url: string) {
  const client = new V1Client({ name: 'v1', version: '1.0.0' });
  const transport = new V1Transport(new URL(url));
  await client.connect(transport);
  closers.push(() => client.close());
  return { client, transport };
}

const textOf = (result: unknown) => (result as { content: { text: string }[] }).content[0]!.text;

describe('both protocol eras on /mcp', () => {
  it('serves a 2026-07-28 client statelessly (no session is kept)', async () => {
    const { http } = await app();
    const client = await modernClient(http.url);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['hello', 'slow', 'whoami']));
    expect(textOf(await client.callTool({ name: 'hello' }))).toBe('hello');
    expect(http.sessions).toBe(0);
  });

  it('serves a v1 SDK client (2025 protocol) with a session', async () => {
    const { http } = await app();
    const { client, transport } = await v1Client(http.url);
    expect(transport.sessionId).toMatch(/[0-9a-f-]{36}/);
    expect(http.sessions).toBe(1);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('hello');
    expect(textOf(await client.callTool({ name: 'hello', arguments: {} }))).toBe('hello');
  });

  it('serves a v2 SDK client on the 2025 protocol (default negotiation) with a session', async () => {
    const { http } = await app();
    const client = new Client({ name: 'v2-legacy', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(http.url)));
    closers.push(() => client.close());
    expect(textOf(await client.callTool({ name: 'hello' }))).toBe('hello');
    expect(http.sessions).toBe(1);
  });
});

describe('streamed responses', () => {
  it('streams progress notifications before the result on both eras (SSE)', async () => {
    const { http } = await app();
    const modern = await modernClient(http.url);
    const seen: number[] = [];
    const result = await modern.callTool({ name: 'steps' }, { onprogress: (p) => seen.push(p.progress) });
    expect(textOf(result)).toBe('stepped');
    expect(seen).toEqual([1, 2, 3]);

    const { client } = await v1Client(http.url);
    const legacySeen: number[] = [];
    const legacy = await client.callTool({ name: 'steps', arguments: {} }, undefined, {
      onprogress: (p) => legacySeen.push(p.progress),
    });
    expect(textOf(legacy)).toBe('stepped');
    expect(legacySeen).toEqual([1, 2, 3]);
  });
});

describe('change notifications', () => {
  it('publishes a tools list change to open 2026-07-28 subscriptions/listen streams', async () => {
    const { http } = await app();
    const controller = new AbortController();
    closers.push(async () => controller.abort());
    const envelope = {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientCapabilities': {},
    };
    const res = await fetch(http.url, {
      method: 'POST',
      headers: { ...JSON_HEADERS, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'subscriptions/listen' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 9,
        method: 'subscriptions/listen',
        params: { notifications: { toolsListChanged: true }, _meta: envelope },
      }),
      signal: controller.signal,
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${needle}`);
        text += value;
      }
    };
    await readUntil('notifications/subscriptions/acknowledged');
    const client = await modernClient(http.url);
    expect(textOf(await client.callTool({ name: 'grow' }))).toBe('grew');
    await readUntil('notifications/tools/list_changed');
  });
});

describe('older-protocol sessions', () => {
  it('answers an unknown session id with 404', async () => {
    const { http } = await app();
    const res = await raw(http.url, {
      method: 'POST',
      headers: { ...JSON_HEADERS, 'mcp-session-id': 'no-such-session', 'mcp-protocol-version': '2025-11-25' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list' }),
    });
    expect(res.status).toBe(404);
    expect(res.json()).toMatchObject({ error: { code: -32001 }, id: 7 });
  });

  it('answers a request without a session id (other than initialize) with 400', async () => {
    const { http } = await app();
    const res = await raw(http.url, {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatch(/Mcp-Session-Id/);
  });

  it('ends a session on DELETE; its id then gets 404', async () => {
    const { http, server } = await app();
    const { transport } = await v1Client(http.url);
    const id = transport.sessionId!;
    await transport.terminateSession();
    await eventually(() => http.sessions === 0 && server.liveProtocolServers.size === 0);
    const res = await raw(http.url, {
      method: 'POST',
      headers: { ...JSON_HEADERS, 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(res.status).toBe(404);
  });

  it('refuses a session past the cap with 503 and Retry-After when all are in use, and takes one again once a session ends', async () => {
    const { http } = await app({ maxSessions: 2 });
    // Used sessions: one never used after initialize would be closed to make room.
    await (await v1Client(http.url)).client.listTools();
    const second = await v1Client(http.url);
    await second.client.listTools();
    const refused = await raw(http.url, { method: 'POST', headers: JSON_HEADERS, body: initializeBody() });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBeDefined();
    expect(refused.json()).toMatchObject({
      error: { code: -32000, message: expect.stringMatching(/maximum of 2 sessions/) },
      id: 1,
    });
    await expect(v1Client(http.url)).rejects.toThrow();
    expect(http.sessions).toBe(2);

    await second.transport.terminateSession();
    await eventually(() => http.sessions === 1);
    await v1Client(http.url);
    expect(http.sessions).toBe(2);
  });

  it('closes a session that stays idle past the timeout', async () => {
    // Long enough that a loaded machine cannot expire the session between initialize and
    // notifications/initialized; short enough to keep the test quick.
    const { http } = await app({ sessionIdleTimeoutMs: 1_000 });
    const { transport } = await v1Client(http.url);
    const id = transport.sessionId!;
    // The client's standalone GET stream keeps a session active; end it so the session can idle.
    await transport.close();
    await eventually(() => http.sessions === 0);
    const res = await raw(http.url, {
      method: 'POST',
      headers: { ...JSON_HEADERS, 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }),
    });
    expect(res.status).toBe(404);
  });

  it('with sessions off, serves older clients statelessly and refuses session streams (GET 405)', async () => {
    const { http, server } = await app({ sessions: false });
    const { client, transport } = await v1Client(http.url);
    expect(transport.sessionId).toBeUndefined();
    expect(textOf(await client.callTool({ name: 'hello', arguments: {} }))).toBe('hello');
    expect(http.sessions).toBe(0);
    // Each request's protocol object is released once it has answered.
    await eventually(() => server.liveProtocolServers.size === 0);
    const get = await raw(http.url, { headers: { accept: 'text/event-stream' } });
    expect(get.status).toBe(405);
  });
});

describe('cancellation by disconnect', () => {
  it('aborts a 2026-07-28 handler when its client disconnects', async () => {
    const { http, probe } = await app();
    const call = modernCall('slow');
    const controller = new AbortController();
    const pending = fetch(http.url, {
      method: 'POST',
      headers: call.headers,
      body: call.body,
      signal: controller.signal,
    }).then(
      (res) => res.text(),
      () => 'disconnected',
    );
    await probe.started;
    controller.abort();
    await pending;
    await eventually(() => probe.aborted);
    expect(probe.aborted).toBe(true);
  });
});

describe('Mcp-Param headers (SEP-2243)', () => {
  const lookup = () => ({ inputSchema: { properties: { region: { type: 'string', 'x-mcp-header': 'Region' } } } });
  const body = (region?: string) => ({
    jsonrpc: '2.0',
    id: 4,
    method: 'tools/call',
    params: { name: 'geo', arguments: region === undefined ? {} : { region } },
  });

  it('accepts a header that mirrors the argument, plain or Base64-wrapped', () => {
    expect(checkMcpParamHeaders({ 'mcp-param-region': 'eu-west' }, body('eu-west'), lookup)).toBeUndefined();
    const encoded = `=?base64?${Buffer.from('zürich').toString('base64')}?=`;
    expect(checkMcpParamHeaders({ 'mcp-param-region': encoded }, body('zürich'), lookup)).toBeUndefined();
    expect(checkMcpParamHeaders({}, body(), lookup)).toBeUndefined();
  });

  it('rejects a missing, mismatched or badly encoded header', () => {
    expect(checkMcpParamHeaders({}, body('eu'), lookup)).toMatchObject({ id: 4, header: 'Mcp-Param-Region' });
    expect(checkMcpParamHeaders({ 'mcp-param-region': 'us' }, body('eu'), lookup)?.message).toMatch(/does not match/);
    expect(checkMcpParamHeaders({ 'mcp-param-region': '=?base64?***?=' }, body('eu'), lookup)?.message).toMatch(
      /Base64/,
    );
  });
});
