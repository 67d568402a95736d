import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioClientTransportV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { alive, buildFixture, RawChild, type Message } from './fixtures/stdio-harness.js';

let fixture: string;
beforeAll(async () => {
  fixture = await buildFixture();
});

const baseEnv = { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn' };
const textOf = (result: unknown) => (result as { content: Array<{ text: string }> }).content[0]?.text;

async function gone(pid: number, timeoutMs = 15_000): Promise<void> {
  const start = Date.now();
  while (alive(pid)) {
    if (Date.now() - start > timeoutMs) throw new Error(`process ${pid} still runs after its client closed`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('stdio through real SDK clients', () => {
  it('serves a 2025-era client (SDK v1): initialize, list, call, and exits when the client closes', async () => {
    const transport = new StdioClientTransportV1({
      command: process.execPath,
      args: [fixture],
      env: baseEnv,
      stderr: 'pipe',
    });
    const client = new ClientV1({ name: 'v1-client', version: '1.0.0' });
    await client.connect(transport);
    expect(client.getServerVersion()?.name).toBe('fixture');
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'slow', 'chatty']));
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hello v1' } }))).toBe('hello v1');
    // A tool that prints to stdout must not corrupt the stream.
    expect(textOf(await client.callTool({ name: 'chatty', arguments: {} }))).toBe('printed');
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'still fine' } }))).toBe('still fine');
    const pid = transport.pid!;
    await client.close();
    await gone(pid);
  });

  it('serves a 2026-07-28 client (SDK v2, version pinned) on the same kind of stream', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [fixture],
      env: baseEnv,
      stderr: 'pipe',
    });
    const client = new Client(
      { name: 'v2-client', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await client.connect(transport);
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('echo');
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hello 2026' } }))).toBe('hello 2026');
    expect(textOf(await client.callTool({ name: 'chatty', arguments: {} }))).toBe('printed');
    const pid = transport.pid!;
    await client.close();
    await gone(pid);
  });

  it('refuses an oversized call with an error for that request, then keeps serving (SDK v1)', async () => {
    const transport = new StdioClientTransportV1({
      command: process.execPath,
      args: [fixture],
      env: { ...baseEnv, STDIO_MAX_MESSAGE_BYTES: '65536' },
      stderr: 'pipe',
    });
    const client = new ClientV1({ name: 'v1-client', version: '1.0.0' });
    await client.connect(transport);
    await expect(client.callTool({ name: 'echo', arguments: { text: 'x'.repeat(1024 * 1024) } })).rejects.toThrow(
      /too large/i,
    );
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'after' } }))).toBe('after');
    await client.close();
  });
});

describe('stdio framing with raw lines', () => {
  it.each(['trace', 'debug', 'info', 'warn', 'error'])(
    'keeps stdout to protocol messages only at LOG_LEVEL=%s',
    async (level) => {
      const raw = new RawChild(fixture, [], { ...baseEnv, LOG_LEVEL: level });
      await raw.initialize();
      expect((await raw.request('tools/call', { name: 'chatty', arguments: {} })).result).toBeDefined();
      raw.write('this is not json\n');
      expect(textOf((await raw.request('tools/call', { name: 'echo', arguments: { text: 'x' } })).result)).toBe('x');
      raw.child.stdin.end();
      expect((await raw.exit).code).toBe(0);
      expect(raw.partial).toBe('');
      expect(raw.lines.length).toBeGreaterThanOrEqual(4);
      for (const line of raw.lines) expect((JSON.parse(line) as Message).jsonrpc).toBe('2.0');
      expect(raw.stderr).toContain('stray console.log from a tool');
      expect(raw.stderr).toContain('stray stdout write from a tool');
    },
  );

  it('answers a malformed line with -32700 (id null) and serves the next request', async () => {
    const raw = new RawChild(fixture, [], baseEnv);
    await raw.initialize();
    const parseError = raw.next((m) => m.error?.code === -32700);
    raw.write('{"jsonrpc":"2.0","id":5,"method":\n');
    expect(await parseError).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
    const invalid = raw.next((m) => m.error?.code === -32600);
    raw.write('{"jsonrpc":"1.0","id":"x","method":"tools/list"}\n');
    expect(await invalid).toMatchObject({ id: 'x', error: { code: -32600 } });
    const tools = await raw.request('tools/list');
    expect(tools.result?.tools).toBeDefined();
    raw.child.stdin.end();
    expect((await raw.exit).code).toBe(0);
  });

  it('answers every message it cannot serve with the JSON-RPC error (unusable id: null) and logs each one', async () => {
    const raw = new RawChild(fixture, [], { ...baseEnv, LOG_LEVEL: 'warn' });
    await raw.initialize();
    const cases: Array<{ line: string; id: string | number | null; code: number }> = [
      { line: '{"jsonrpc":"2.0","id":1.5,"method":"tools/list"}', id: null, code: -32600 },
      { line: '{"jsonrpc":"2.0","id":1e308,"method":"tools/list"}', id: null, code: -32600 },
      { line: '{"jsonrpc":"2.0","id":18446744073709551616,"method":"tools/list"}', id: null, code: -32600 },
      { line: '{"jsonrpc":"2.0","id":"arr","method":"tools/list","params":[1,2]}', id: 'arr', code: -32600 },
      { line: '{"jsonrpc":"2.0","id":"both","method":"tools/list","result":{}}', id: 'both', code: -32600 },
      {
        line: '{"jsonrpc":"2.0","id":"err","method":"tools/list","error":{"code":1,"message":"x"}}',
        id: 'err',
        code: -32600,
      },
      { line: '{"jsonrpc":"2.0","id":null,"method":"tools/list"}', id: null, code: -32600 },
      { line: '{"jsonrpc":"2.0","id":true,"method":"tools/list"}', id: null, code: -32600 },
      { line: '{"jsonrpc":"2.0","id":"nomethod"}', id: 'nomethod', code: -32600 },
      { line: '{"jsonrpc":"2.0","id":"m","method":7}', id: 'm', code: -32600 },
      { line: '[{"jsonrpc":"2.0","id":"batch","method":"tools/list"}]', id: null, code: -32600 },
      { line: '"just a string"', id: null, code: -32600 },
      { line: '{"jsonrpc":"2.0","id":"cut"', id: null, code: -32700 },
      { line: '{"jsonrpc":"2.0","id":"unknown-method","method":"no/such/method"}', id: 'unknown-method', code: -32601 },
    ];
    for (const { line, id, code } of cases) {
      const before = raw.lines.length;
      raw.write(`${line}\n`);
      // Each answer arrives before the next message is sent, so answers cannot be confused.
      const answer = await raw.next((m) => m.error !== undefined && raw.lines.length > before);
      expect(answer, line).toMatchObject({ jsonrpc: '2.0', id, error: { code } });
    }
    expect((await raw.request('tools/list')).result?.tools).toBeDefined();
    // Every refusal the transport made left a log line naming why.
    await raw.stderrIncludes('cannot carry a method together with a result');
    for (const text of [
      'id must be a string or an integer',
      'params must be an object',
      'batches are not supported',
      'Parse error',
    ])
      expect(raw.stderr).toContain(text);
    raw.child.stdin.end();
    expect((await raw.exit).code).toBe(0);
  });

  it('refuses an oversized message streamed in pieces, naming its id, and keeps serving', async () => {
    const raw = new RawChild(fixture, [], { ...baseEnv, STDIO_MAX_MESSAGE_BYTES: '65536' });
    await raw.initialize();
    const refused = raw.next((m) => m.id === 'big');
    // The id comes after a large params object, as SDK clients serialize it.
    const big = JSON.stringify({
      jsonrpc: '2.0',
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'y'.repeat(3 * 1024 * 1024), id: 'decoy' } },
      id: 'big',
    });
    for (let i = 0; i < big.length; i += 100_000) raw.write(big.slice(i, i + 100_000));
    raw.write('\n');
    const error = (await refused).error!;
    expect(error.code).toBe(-32600);
    expect(error.message).toMatch(/too large/i);
    expect(error.data).toMatchObject({ limit: 65536 });
    expect(textOf((await raw.request('tools/call', { name: 'echo', arguments: { text: 'ok' } })).result)).toBe('ok');
    raw.child.stdin.end();
    expect((await raw.exit).code).toBe(0);
  });

  it('serves a raw 2026-07-28 exchange (enveloped requests, no initialize)', async () => {
    const raw = new RawChild(fixture, [], baseEnv);
    const envelope = {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientCapabilities': {},
    };
    const discover = await raw.request('server/discover', { _meta: envelope });
    expect(discover.error).toBeUndefined();
    const call = await raw.request('tools/call', { name: 'echo', arguments: { text: 'modern' }, _meta: envelope });
    expect(textOf(call.result)).toBe('modern');
    // The connection is pinned to 2026-07-28: a late initialize is refused.
    const late = await raw.request('initialize', {
      protocolVersion: '2025-11-25',
      capabilities: {},
      clientInfo: { name: 'raw', version: '1' },
    });
    expect(late.error).toBeDefined();
    raw.write('not json either\n');
    expect(
      textOf((await raw.request('tools/call', { name: 'echo', arguments: { text: 'again' }, _meta: envelope })).result),
    ).toBe('again');
    raw.child.stdin.end();
    expect((await raw.exit).code).toBe(0);
  });

  it('exits 0 when stdin closes, leaving no process behind', async () => {
    const raw = new RawChild(fixture, [], baseEnv);
    await raw.initialize();
    raw.child.stdin.end();
    expect(await raw.exit).toEqual({ code: 0, signal: null });
    expect(alive(raw.child.pid!)).toBe(false);
  });

  it('aborts a call still running shortly after stdin closes, then exits 0', async () => {
    const raw = new RawChild(fixture, [], baseEnv);
    await raw.initialize();
    void raw.request('tools/call', { name: 'slow', arguments: { ms: 120_000, tag: 'stdin' } });
    await raw.stderrIncludes('FIXTURE slow started stdin');
    raw.child.stdin.end();
    expect((await raw.exit).code).toBe(0);
    expect(raw.stderr).toContain('FIXTURE slow aborted stdin');
  });
});

describe('older-protocol tool calls served directly (no per-message SDK validation)', () => {
  it('carries progress and log notifications, honouring the level the client set (SDK v1)', async () => {
    const transport = new StdioClientTransportV1({
      command: process.execPath,
      args: [fixture],
      env: baseEnv,
      stderr: 'pipe',
    });
    const client = new ClientV1({ name: 'v1-client', version: '1.0.0' });
    await client.connect(transport);
    try {
      const logs: string[] = [];
      const { LoggingMessageNotificationSchema } = await import('@modelcontextprotocol/sdk/types.js');
      client.setNotificationHandler(
        LoggingMessageNotificationSchema,
        (n) => void logs.push(`${n.params.level}:${String(n.params.data)}`),
      );
      await client.setLoggingLevel('info');
      const progress: number[] = [];
      const result = await client.callTool({ name: 'progressive', arguments: {} }, undefined, {
        onprogress: (p) => progress.push(p.progress),
      });
      expect(textOf(result)).toBe('progressed');
      // The v1 client runs notification handlers a microtask late but settles a response at once, so progress that
      // reaches it in the same read as the result is dropped on its side (a starved client reads in bursts). The
      // server's own order is checked on the wire below; here what arrived must be the steps in order, from the first.
      expect(progress.length).toBeGreaterThan(0);
      expect(progress).toEqual([1, 2, 3].slice(0, progress.length));
      expect(logs).toEqual(['info:progressive started']);
    } finally {
      await client.close();
    }
  });

  it('a cancelled call aborts the handler and gets no answer; the connection keeps serving', async () => {
    const raw = new RawChild(fixture, [], baseEnv);
    await raw.initialize();
    void raw.request('tools/call', { name: 'slow', arguments: { ms: 120_000, tag: 'cancelled' } }, 'slow-1');
    await raw.stderrIncludes('FIXTURE slow started cancelled');
    raw.notify('notifications/cancelled', { requestId: 'slow-1', reason: 'user pressed stop' });
    await raw.stderrIncludes('FIXTURE slow aborted cancelled');
    expect(textOf((await raw.request('tools/call', { name: 'echo', arguments: { text: 'still here' } })).result)).toBe(
      'still here',
    );
    expect(raw.lines.some((line) => line.includes('"slow-1"'))).toBe(false);
    raw.child.stdin.end();
    expect((await raw.exit).code).toBe(0);
  });

  it('answers an unknown tool with invalid params, and a malformed call through the SDK', async () => {
    const raw = new RawChild(fixture, [], baseEnv);
    await raw.initialize();
    expect((await raw.request('tools/call', { name: 'nope', arguments: {} })).error).toMatchObject({
      code: -32602,
      message: expect.stringContaining('nope'),
    });
    expect((await raw.request('tools/call', { name: 42 })).error?.code).toBe(-32602);
    expect((await raw.request('tools/call', { name: 'echo', arguments: { text: 1 } })).result).toMatchObject({
      isError: true,
    });
    raw.child.stdin.end();
    expect((await raw.exit).code).toBe(0);
  });

  it('serves an interactive tool through the SDK, whose shim asks the client and re-enters the handler with the answer', async () => {
    const transport = new StdioClientTransportV1({
      command: process.execPath,
      args: [fixture],
      env: baseEnv,
      stderr: 'pipe',
    });
    const client = new ClientV1({ name: 'v1-client', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    const { ElicitRequestSchema } = await import('@modelcontextprotocol/sdk/types.js');
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { name: 'Ada' } }));
    await client.connect(transport);
    try {
      expect(textOf(await client.callTool({ name: 'ask_name', arguments: {} }))).toBe('Hello, Ada!');
    } finally {
      await client.close();
    }
  });
});

describe('2026-07-28 tool calls served directly', () => {
  const envelope = (extra: Record<string, unknown> = {}) => ({
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientCapabilities': {},
    ...extra,
  });

  it('encodes answers as the SDK does and sends logs only at or above the level the request asked for', async () => {
    const raw = new RawChild(fixture, [], baseEnv);
    const first = await raw.request('tools/call', { name: 'echo', arguments: { text: 'one' }, _meta: envelope() });
    expect(first.result).toMatchObject({ content: [{ type: 'text', text: 'one' }], resultType: 'complete' });
    const second = await raw.request('tools/call', { name: 'echo', arguments: { text: 'two' }, _meta: envelope() });
    expect(second.result).toEqual(first.result && { ...first.result, content: [{ type: 'text', text: 'two' }] });
    expect((second.result?._meta as Record<string, unknown>)['io.modelcontextprotocol/serverInfo']).toEqual({
      name: 'fixture',
      version: '1.0.0',
    });

    const before = raw.lines.length;
    await raw.request('tools/call', {
      name: 'progressive',
      arguments: {},
      _meta: envelope({ 'io.modelcontextprotocol/logLevel': 'info', progressToken: 'p1' }),
    });
    const sent = raw.lines.slice(before).map((line) => JSON.parse(line) as Message);
    expect(
      sent
        .filter((m) => m.method === 'notifications/message')
        .map((m) => (m as unknown as { params: { data: string } }).params.data),
    ).toEqual(['progressive started']);
    expect(sent.filter((m) => m.method === 'notifications/progress')).toHaveLength(3);

    const quiet = raw.lines.length;
    await raw.request('tools/call', { name: 'progressive', arguments: {}, _meta: envelope() });
    expect(raw.lines.slice(quiet).some((line) => line.includes('notifications/message'))).toBe(false);

    expect((await raw.request('tools/call', { name: 'nope', arguments: {}, _meta: envelope() })).error).toMatchObject({
      code: -32602,
    });
    raw.child.stdin.end();
    expect((await raw.exit).code).toBe(0);
  });

  it('routes interactive tools to the SDK: input_required returned when the envelope allows it, -32021 when not', async () => {
    const raw = new RawChild(fixture, [], baseEnv);
    await raw.request('tools/call', { name: 'echo', arguments: { text: 'pin' }, _meta: envelope() });
    const asked = await raw.request('tools/call', {
      name: 'ask_name',
      arguments: {},
      _meta: envelope({ 'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } } }),
    });
    expect(asked.result).toMatchObject({
      resultType: 'input_required',
      inputRequests: { name: { method: 'elicitation/create' } },
    });
    const refused = await raw.request('tools/call', { name: 'ask_name', arguments: {}, _meta: envelope() });
    expect(refused.error?.code).toBe(-32021);
    const answered = await raw.request('tools/call', {
      name: 'ask_name',
      arguments: {},
      inputResponses: { name: { action: 'accept', content: { name: 'Grace' } } },
      _meta: envelope({ 'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } } }),
    });
    expect(textOf(answered.result)).toBe('Hello, Grace!');
    raw.child.stdin.end();
    expect((await raw.exit).code).toBe(0);
  });
});
