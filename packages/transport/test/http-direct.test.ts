import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, initializeBody, JSON_HEADERS, raw, startApp, type TestApp } from './fixtures/http-harness.js';

const apps: TestApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.stop();
});

async function session(url: string): Promise<Record<string, string>> {
  const opened = await raw(url, { method: 'POST', headers: JSON_HEADERS, body: initializeBody() });
  const id = opened.headers['mcp-session-id'] as string;
  const headers = { ...JSON_HEADERS, 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' };
  await raw(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  return headers;
}

const textOf = (result: unknown) => (result as { content: Array<{ text: string }> }).content[0]?.text;

describe('older-protocol tool calls served directly on a session', () => {
  it('answers a plain call as JSON, and an unknown tool with invalid params', async () => {
    const app = await startApp();
    apps.push(app);
    const headers = await session(app.http.url);
    const call = await raw(app.http.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'hello' } }),
    });
    expect(call.status).toBe(200);
    expect(call.headers['content-type']).toContain('application/json');
    expect(call.json()).toEqual({ jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'hello' }] } });
    const unknown = await raw(app.http.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'nope' } }),
    });
    expect(unknown.json()).toMatchObject({ id: 8, error: { code: -32602 } });
  });

  it('aborts the handler when the client cancels', async () => {
    const app = await startApp();
    apps.push(app);
    const headers = await session(app.http.url);
    const pending = raw(app.http.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 'slow-1', method: 'tools/call', params: { name: 'slow' } }),
    });
    await app.probe.started;
    const cancel = await raw(app.http.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'slow-1' } }),
    });
    expect(cancel.status).toBe(202);
    await eventually(() => app.probe.aborted);
    expect((await pending).status).toBe(202);
  });

  it('sends logs at or above the level the client set (SDK v1)', async () => {
    const app = await startApp();
    apps.push(app);
    const client = new V1Client({ name: 'v1', version: '1.0.0' });
    await client.connect(new V1Transport(new URL(app.http.url)));
    try {
      const logs: string[] = [];
      client.setNotificationHandler(
        LoggingMessageNotificationSchema,
        (n) => void logs.push(`${n.params.level}:${String(n.params.data)}`),
      );
      await client.setLoggingLevel('warning');
      expect(textOf(await client.callTool({ name: 'chatter', arguments: {} }))).toBe('chattered');
      await eventually(() => logs.length > 0);
      expect(logs).toEqual(['error:chatter error']);
    } finally {
      await client.close();
    }
  });

  it('hands a call that asks the client a question to the SDK, which asks it (SDK v1)', async () => {
    const app = await startApp();
    apps.push(app);
    const client = new V1Client({ name: 'v1', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { name: 'Ada' } }));
    await client.connect(new V1Transport(new URL(app.http.url)));
    try {
      expect(textOf(await client.callTool({ name: 'ask', arguments: {} }))).toBe('hi Ada');
    } finally {
      await client.close();
    }
  });
});

describe('2026-07-28 tool calls served directly', () => {
  const envelope = {
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientCapabilities': {},
  };
  const headersFor = (name: string) => ({
    ...JSON_HEADERS,
    'mcp-protocol-version': '2026-07-28',
    'mcp-method': 'tools/call',
    'mcp-name': name,
  });
  const callBody = (name: string, id: number, meta: Record<string, unknown> = {}) =>
    JSON.stringify({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name, arguments: {}, _meta: { ...envelope, ...meta } },
    });

  it('answers JSON encoded as the SDK does, and an event stream once the tool reports progress', async () => {
    const app = await startApp();
    apps.push(app);
    const plain = await raw(app.http.url, { method: 'POST', headers: headersFor('hello'), body: callBody('hello', 1) });
    expect(plain.status).toBe(200);
    expect(plain.headers['content-type']).toContain('application/json');
    expect(plain.json()).toEqual({
      jsonrpc: '2.0',
      id: 1,
      result: {
        content: [{ type: 'text', text: 'hello' }],
        resultType: 'complete',
        _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'http-test', version: '1.0.0' } },
      },
    });
    const steps = await raw(app.http.url, {
      method: 'POST',
      headers: headersFor('steps'),
      body: callBody('steps', 2, { progressToken: 'p' }),
    });
    expect(steps.headers['content-type']).toContain('text/event-stream');
    const events = steps.body
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => JSON.parse(line.slice(6)) as { method?: string; id?: number; result?: { resultType?: string } });
    expect(events.filter((e) => e.method === 'notifications/progress')).toHaveLength(3);
    expect(events.at(-1)).toMatchObject({ id: 2, result: { resultType: 'complete' } });
  });

  it('leaves protocol errors and header mismatches to the SDK (their codes and statuses)', async () => {
    const app = await startApp();
    apps.push(app);
    const unknown = await raw(app.http.url, { method: 'POST', headers: headersFor('nope'), body: callBody('nope', 3) });
    expect(unknown.json()).toMatchObject({ id: 3, error: { code: -32602 } });
    const mismatch = await raw(app.http.url, {
      method: 'POST',
      headers: headersFor('other'),
      body: callBody('hello', 4),
    });
    expect(mismatch.status).toBe(400);
    expect(mismatch.json()).toMatchObject({ id: 4, error: { code: -32020 } });
  });
});
