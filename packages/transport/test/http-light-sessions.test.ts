import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, initializeBody, JSON_HEADERS, raw, startApp, type TestApp } from './fixtures/http-harness.js';

const apps: TestApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.stop();
});

const textOf = (result: unknown) => (result as { content: Array<{ text: string }> }).content[0]?.text;

/** A session opened with raw requests (initialize + initialized, no GET stream): its request headers. */
async function rawSession(url: string, capabilities: Record<string, unknown> = {}): Promise<Record<string, string>> {
  const body = JSON.parse(initializeBody()) as { params: { capabilities: unknown } };
  body.params.capabilities = capabilities;
  const opened = await raw(url, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(body) });
  const headers = {
    ...JSON_HEADERS,
    'mcp-session-id': opened.headers['mcp-session-id'] as string,
    'mcp-protocol-version': '2025-11-25',
  };
  const ack = await raw(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  expect(ack.status).toBe(202);
  return headers;
}

const call = (name: string, id: number | string) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } });

// A session is a small record between requests: it lets go of the SDK's per-session objects once the
// handshake is over, serves plain tool calls without them, and makes them again (replaying the client's
// own handshake) for anything else: a GET stream, a listing, a question to the client, DELETE.
describe('older-protocol sessions hold no SDK objects until they need them', () => {
  it('serves plain tool calls after the handshake without SDK objects, with the handshake capabilities', async () => {
    const app = await startApp();
    apps.push(app);
    const headers = await rawSession(app.http.url, { elicitation: {}, roots: { listChanged: true } });
    expect(app.http.sessions).toBe(1);
    expect(app.http.sessionsWithSdkObjects).toBe(0);
    const hello = await raw(app.http.url, { method: 'POST', headers, body: call('hello', 1) });
    expect(hello.json()).toEqual({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'hello' }] } });
    // The fast path reads the capabilities the client declared, as the SDK normalised them.
    const caps = await raw(app.http.url, { method: 'POST', headers, body: call('capabilities', 2) });
    const answer = caps.json() as { result: { content: Array<{ text: string }> } };
    expect(JSON.parse(answer.result.content[0]!.text)).toEqual({
      elicitation: { form: {} },
      roots: { listChanged: true },
    });
    expect(app.http.sessionsWithSdkObjects).toBe(0);
    // A listing makes them again, from the client's own handshake.
    const list = await raw(app.http.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }),
    });
    expect(list.status).toBe(200);
    expect(list.body).toContain('"name":"hello"');
    expect(app.http.sessionsWithSdkObjects).toBe(1);
  });

  it('tells observers only of what the client sent: the replayed handshake is not observed', async () => {
    const app = await startApp();
    apps.push(app);
    const methods: string[] = [];
    app.server.observe((operation) => void methods.push(operation.method));
    const headers = await rawSession(app.http.url);
    expect(app.http.sessionsWithSdkObjects).toBe(0);
    const ping = await raw(app.http.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'ping' }),
    });
    expect(ping.status).toBe(200);
    expect(app.http.sessionsWithSdkObjects).toBe(1);
    expect(methods).toEqual(['initialize', 'ping']);
  });

  it('serves a real client as before: GET stream, a question to the client, log levels', async () => {
    const app = await startApp();
    apps.push(app);
    const client = new V1Client({ name: 'light', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { name: 'Ada' } }));
    const logs: string[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params.level));
    await client.connect(new V1Transport(new URL(app.http.url)));
    try {
      // A push-style question needs the client's capabilities on the SDK objects made after the handshake.
      expect(textOf(await client.callTool({ name: 'ask', arguments: {} }))).toBe('hi Ada');
      expect(app.http.sessionsWithSdkObjects).toBe(1);
      await client.setLoggingLevel('error');
      expect(textOf(await client.callTool({ name: 'chatter', arguments: {} }))).toBe('chattered');
      await eventually(() => logs.length > 0);
      expect(logs).toEqual(['error']);
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('hello');
      expect(app.http.sessions).toBe(1);
    } finally {
      await client.close();
    }
  });

  it('ends a session without SDK objects on DELETE, and aborts its calls in flight', async () => {
    const app = await startApp();
    apps.push(app);
    const headers = await rawSession(app.http.url);
    const pending = raw(app.http.url, { method: 'POST', headers, body: call('slow', 'slow-1') });
    await app.probe.started;
    expect(app.http.sessionsWithSdkObjects).toBe(0);
    const deleted = await raw(app.http.url, { method: 'DELETE', headers });
    expect(deleted.status).toBe(200);
    await eventually(() => app.probe.aborted);
    expect(app.http.sessions).toBe(0);
    expect((await pending).status).toBe(202);
    const after = await raw(app.http.url, { method: 'POST', headers, body: call('hello', 2) });
    expect(after.status).toBe(404);
  });

  it('closes a session without SDK objects when it idles out', async () => {
    const app = await startApp({ sessionIdleTimeoutMs: 1_000 });
    apps.push(app);
    const headers = await rawSession(app.http.url);
    expect(app.http.sessionsWithSdkObjects).toBe(0);
    await eventually(() => app.http.sessions === 0, 10_000);
    const after = await raw(app.http.url, { method: 'POST', headers, body: call('hello', 1) });
    expect(after.status).toBe(404);
  });
});
