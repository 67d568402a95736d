import { request as httpRequest } from 'node:http';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { PassThrough } from 'node:stream';
import {
  acceptedContent,
  createServer,
  definePlugin,
  inputRequired,
  MissingRequiredClientCapabilityError,
  type TrellisServer,
} from '@trellis/server';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpTransport, type HttpTransport } from '../src/http/index.js';
import { serveStdio } from '../src/stdio/index.js';
import { eventually, initializeBody, JSON_HEADERS, modernCall, raw } from './fixtures/http-harness.js';

/**
 * Who owns a call in flight, on every transport and path: closing stdin,
 * deleting a session, a client disconnecting and shutdown each abort exactly
 * the calls they own, with a reason the handler reads; and no handler runs
 * twice for one client request.
 */

interface Observed {
  runs: Map<string, number>;
  reasons: string[];
  started: number;
}

function ownershipPlugin(seen: Observed) {
  const count = (name: string) => seen.runs.set(name, (seen.runs.get(name) ?? 0) + 1);
  return definePlugin({
    name: 'ownership',
    setup(scope) {
      scope.tools.add({
        name: 'hold',
        description: 'Runs until its signal aborts, then records why',
        handler: (_args, ctx) =>
          new Promise<string>((resolve) => {
            count('hold');
            seen.started += 1;
            ctx.signal.addEventListener(
              'abort',
              () => {
                seen.reasons.push((ctx.signal.reason as Error).message);
                resolve('stopped');
              },
              { once: true },
            );
          }),
      });
      scope.tools.add({
        name: 'asks',
        description: 'Asks the user a push-style question (older protocol)',
        interactive: true,
        handler: async (_args, ctx) => {
          count('asks');
          const answer = await ctx.elicit({
            message: 'Your name?',
            requestedSchema: { type: 'object', properties: { name: { type: 'string' } } },
          });
          return `hi ${String(answer.content?.name)}`;
        },
      });
      scope.tools.add({
        name: 'input_required',
        description: 'Asks with an input_required answer',
        interactive: true,
        handler: (_args, ctx) => {
          const got = acceptedContent(ctx.inputResponses, 'name') as { name?: string } | undefined;
          count(got ? 'input_required:answered' : 'input_required:asked');
          if (got?.name) return `hello ${got.name}`;
          return inputRequired({
            inputRequests: {
              name: inputRequired.elicit({
                message: 'Your name?',
                requestedSchema: { type: 'object', properties: { name: { type: 'string' } } },
              }),
            },
          });
        },
      });
      scope.tools.add({
        name: 'needs_sampling',
        description: 'Fails with a protocol error (a missing client capability)',
        handler: () => {
          count('needs_sampling');
          throw new MissingRequiredClientCapabilityError({ requiredCapabilities: { sampling: {} } });
        },
      });
    },
  });
}

let server: TrellisServer | undefined;
let http: HttpTransport | undefined;
afterEach(async () => {
  await http?.close({ graceMs: 0 });
  await server?.close({ graceMs: 0 });
  http = undefined;
  server = undefined;
});

async function start(): Promise<Observed> {
  const seen: Observed = { runs: new Map(), reasons: [], started: 0 };
  server = createServer({
    name: 'ownership',
    version: '1.0.0',
    plugins: [ownershipPlugin(seen)],
    configSources: { argv: [], env: { LOG_LEVEL: 'silent' }, envFiles: [] },
  });
  await server.start();
  return seen;
}

async function listen(): Promise<string> {
  http = createHttpTransport(server!, { port: 0, host: '127.0.0.1' });
  await http.listen();
  return http.url;
}

async function openSession(url: string): Promise<Record<string, string>> {
  const opened = await raw(url, { method: 'POST', headers: JSON_HEADERS, body: initializeBody() });
  const headers = {
    ...JSON_HEADERS,
    'mcp-session-id': opened.headers['mcp-session-id'] as string,
    'mcp-protocol-version': '2025-11-25',
  };
  await raw(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  return headers;
}

const legacyCall = (name: string, id: number | string = 1) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } });

/** Starts a POST and returns a function that drops its connection. */
function postAndDrop(url: string, headers: Record<string, string>, body: string): () => void {
  const req = httpRequest(url, { method: 'POST', headers, agent: false });
  req.on('error', () => undefined);
  req.end(body);
  return () => req.destroy();
}

describe('a handler runs once per client request', () => {
  it('on 2026-07-28 HTTP, a protocol error is answered from the pipeline (HTTP 400, -32021), not by running the tool again', async () => {
    const seen = await start();
    const url = await listen();
    const { headers, body } = modernCall('needs_sampling');
    const answer = await raw(url, { method: 'POST', headers, body });
    expect(answer.status).toBe(400);
    expect(answer.json()).toMatchObject({ error: { code: -32021, data: { requiredCapabilities: { sampling: {} } } } });
    expect(seen.runs.get('needs_sampling')).toBe(1);
  });

  it('on an older-protocol session, the same protocol error runs the tool once', async () => {
    const seen = await start();
    const url = await listen();
    const headers = await openSession(url);
    const answer = await raw(url, { method: 'POST', headers, body: legacyCall('needs_sampling') });
    expect(answer.json()).toMatchObject({ error: { code: -32021 } });
    expect(seen.runs.get('needs_sampling')).toBe(1);
  });
});

describe.each(['legacy', 'modern'] as const)('through the SDK client over HTTP (%s)', (era) => {
  it('runs each handler once per request: a question to the client, input_required, a protocol error', async () => {
    const seen = await start();
    const url = await listen();
    const client = new Client(
      { name: 'counting', version: '1.0.0' },
      {
        capabilities: { elicitation: { form: {} } },
        ...(era === 'modern' && { versionNegotiation: { mode: { pin: '2026-07-28' } } }),
      },
    );
    client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Ada' } }));
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    try {
      if (era === 'legacy') {
        expect((await client.callTool({ name: 'asks', arguments: {} })).content).toEqual([
          { type: 'text', text: 'hi Ada' },
        ]);
        expect(seen.runs.get('asks')).toBe(1);
      }
      expect((await client.callTool({ name: 'input_required', arguments: {} })).content).toEqual([
        { type: 'text', text: 'hello Ada' },
      ]);
      expect([seen.runs.get('input_required:asked'), seen.runs.get('input_required:answered')]).toEqual([1, 1]);
      await expect(client.callTool({ name: 'needs_sampling', arguments: {} })).rejects.toMatchObject({ code: -32021 });
      expect(seen.runs.get('needs_sampling')).toBe(1);
    } finally {
      await client.close();
    }
  });
});

describe('the owner of a call in flight aborts it', () => {
  it('2026-07-28 HTTP: a client disconnect aborts the call with its reason, leaving nothing running', async () => {
    const seen = await start();
    const url = await listen();
    const { headers, body } = modernCall('hold');
    const drop = postAndDrop(url, headers, body);
    await eventually(() => seen.started === 1);
    drop();
    await eventually(() => seen.reasons.length === 1);
    expect(seen.reasons).toEqual(['the client disconnected']);
    await eventually(() => server!.inflight === 0);
  });

  it('older-protocol HTTP: a disconnect aborts only the dropped call; DELETE of the session aborts the calls it owns', async () => {
    const seen = await start();
    const url = await listen();
    const headers = await openSession(url);
    const drop = postAndDrop(url, headers, legacyCall('hold', 'a'));
    await eventually(() => seen.started === 1);
    drop();
    await eventually(() => seen.reasons.length === 1);
    expect(seen.reasons).toEqual(['the client disconnected']);

    const pending = raw(url, { method: 'POST', headers, body: legacyCall('hold', 'b') });
    await eventually(() => seen.started === 2);
    const deleted = await raw(url, { method: 'DELETE', headers });
    expect(deleted.status).toBe(200);
    await eventually(() => seen.reasons.length === 2);
    expect(seen.reasons[1]).toBe('the client ended the session');
    await pending.catch(() => undefined);
    await eventually(() => server!.inflight === 0);
  });

  it('shutdown aborts what outlives the grace period, with its reason', async () => {
    const seen = await start();
    const url = await listen();
    const { headers, body } = modernCall('hold');
    const pending = raw(url, { method: 'POST', headers, body }).catch(() => undefined);
    await eventually(() => seen.started === 1);
    await http!.close({ graceMs: 50 });
    expect(seen.reasons).toEqual(['the server is shutting down']);
    expect(server!.inflight).toBe(0);
    await pending;
  });

  it('shutdown aborts a fast-path call on an older-protocol session with its reason (one watch, no listener per call)', async () => {
    const seen = await start();
    const url = await listen();
    const headers = await openSession(url);
    const pending = raw(url, { method: 'POST', headers, body: legacyCall('hold', 'a') }).catch(() => undefined);
    await eventually(() => seen.started === 1);
    expect(server!.shutdownCalls.calls.size).toBe(1);
    await http!.close({ graceMs: 50 });
    expect(seen.reasons).toEqual(['the server is shutting down']);
    expect(server!.inflight).toBe(0);
    expect(server!.shutdownCalls.calls.size).toBe(0);
    await pending;
  });

  it.each(['legacy', 'modern'] as const)(
    'stdio (%s): closing stdin aborts the calls of the connection, fast path and SDK path alike',
    async (era) => {
      const seen = await start();
      const input = new PassThrough();
      const output = new PassThrough();
      const lines: Record<string, unknown>[] = [];
      output.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString('utf8').split('\n'))
          if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      });
      const handle = serveStdio(server!, { input, output, stdoutGuard: false });
      const send = (message: unknown) => input.write(`${JSON.stringify(message)}\n`);
      const envelope = {
        'io.modelcontextprotocol/protocolVersion': '2026-07-28',
        'io.modelcontextprotocol/clientCapabilities': {},
      };
      if (era === 'legacy') {
        send(JSON.parse(initializeBody(0)));
        await eventually(() => lines.some((l) => l.id === 0));
        send({ jsonrpc: '2.0', method: 'notifications/initialized' });
        send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'hold', arguments: {} } });
      } else {
        // The first 2026-07-28 request is served by the SDK (it pins the era); the second takes the fast path.
        send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'hold', arguments: {}, _meta: envelope } });
        await eventually(() => seen.started === 1);
        send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'hold', arguments: {}, _meta: envelope } });
      }
      const expected = era === 'legacy' ? 1 : 2;
      await eventually(() => seen.started === expected);
      input.end();
      await handle.closed;
      await eventually(() => seen.reasons.length === expected);
      expect(new Set(seen.reasons)).toEqual(new Set(['the client closed the connection (stdin ended)']));
      await eventually(() => server!.inflight === 0);
    },
  );
});
