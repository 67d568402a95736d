import type { TrellisServer } from '@trellis/server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  closedPort,
  ERAS,
  guardOutboundConnections,
  httpGet,
  startLocalServer,
  startTrellis,
  textOf,
  withClient,
  type LocalServer,
} from './helpers.js';

let local: LocalServer;
let server: TrellisServer | undefined;
let guard: ReturnType<typeof guardOutboundConnections>;
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]);

beforeAll(async () => {
  guard = guardOutboundConnections();
  local = await startLocalServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/text')
      return void res
        .writeHead(200, { 'content-type': 'text/plain; charset=utf-8', etag: '"v1"', 'set-cookie': 'id=1' })
        .end('héllo wörld');
    if (path === '/json') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"a":1}');
    if (path === '/image') return void res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
    if (path === '/latin1')
      return void res
        .writeHead(200, { 'content-type': 'text/plain; charset=iso-8859-1' })
        .end(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    if (path === '/long') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('z'.repeat(50));
    if (path === '/missing') return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
    if (path === '/slow') {
      await new Promise((resolve) => setTimeout(resolve, 100));
      return void res.end('slow but fine');
    }
    if (path === '/hang') return;
    if (path === '/huge-headers')
      return void res.writeHead(200, { 'x-padding': 'p'.repeat(64 * 1024) }).end('never read');
    res.end('ok');
  });
});
afterAll(async () => {
  await local.close();
  guard.restore();
});
afterEach(async () => {
  await server?.close({ graceMs: 100 });
  server = undefined;
  local.reset();
  expect(guard.attempts).toEqual([]);
});

describe.each(ERAS)('http_get (%s)', (era) => {
  it('lists both tools with their schemas and annotations', async () => {
    server = await startTrellis({});
    await withClient(server, era, async (client) => {
      const { tools } = await client.listTools();
      const byName = new Map(tools.map((tool) => [tool.name, tool]));
      expect([...byName.keys()].sort()).toEqual(['bulk_fetch', 'http_get']);
      expect(byName.get('http_get')!.inputSchema.required).toEqual(['url']);
      expect(byName.get('bulk_fetch')!.inputSchema.required).toEqual(['urls']);
      expect(byName.get('http_get')!.annotations).toMatchObject({ readOnlyHint: true, openWorldHint: true });
      expect(byName.get('http_get')!.outputSchema).toBeDefined();
    });
  });

  it('returns status, selected headers and the body as text', async () => {
    server = await startTrellis({ HTTP_ALLOW_HOSTS: local.hostPort });
    await withClient(server, era, async (client) => {
      const result = await httpGet(client, `${local.origin}/text`);
      expect(result.isError).toBeFalsy();
      expect(result.structuredContent).toMatchObject({
        url: `${local.origin}/text`,
        status: 200,
        headers: { 'content-type': 'text/plain; charset=utf-8', etag: '"v1"' },
        bodyKind: 'text',
        body: 'héllo wörld',
        truncated: false,
        redirects: [],
      });
      expect((result.structuredContent as { headers: Record<string, string> }).headers['set-cookie']).toBeUndefined();
      expect(textOf(result)).toBe(
        `HTTP 200 from ${local.origin}/text\ncontent-type: text/plain; charset=utf-8\netag: "v1"\n\nhéllo wörld`,
      );
      expect(textOf(await httpGet(client, `${local.origin}/latin1`))).toContain('café');
      expect(textOf(await httpGet(client, `${local.origin}/json`))).toContain('{"a":1}');
      const missing = await httpGet(client, `${local.origin}/missing`);
      expect(missing.isError).toBeFalsy();
      expect(textOf(missing)).toContain('HTTP 404');
    });
  });

  it('describes a binary body instead of returning it', async () => {
    server = await startTrellis({ HTTP_ALLOW_HOSTS: local.hostPort });
    await withClient(server, era, async (client) => {
      const result = await httpGet(client, `${local.origin}/image`);
      expect(result.structuredContent).toMatchObject({
        bodyKind: 'binary',
        body: '[binary body: 12 bytes of image/png, not shown]',
        bytes: 12,
      });
    });
  });

  it('sends the given headers and its User-Agent, and refuses bad header names', async () => {
    server = await startTrellis({ HTTP_ALLOW_HOSTS: local.hostPort, HTTP_USER_AGENT: 'test-agent/1' });
    await withClient(server, era, async (client) => {
      await httpGet(client, `${local.origin}/hdr`, { Accept: 'application/json', Host: 'evil.example' });
      const bad = await httpGet(client, `${local.origin}/hdr2`, { 'bad name': 'x' });
      expect(bad.isError).toBe(true);
    });
    expect(local.log[0]!.headers).toMatchObject({
      accept: 'application/json',
      'user-agent': 'test-agent/1',
      host: local.hostPort,
    });
    expect(local.hits.get('/hdr2')).toBeUndefined();
  });
});

describe.each(ERAS)('bulk_fetch (%s)', (era) => {
  it('returns partial results for good, slow, failing and forbidden URLs', async () => {
    const refused = await closedPort();
    server = await startTrellis({
      HTTP_ALLOW_HOSTS: `${local.hostPort},127.0.0.1:${refused}`,
      HTTP_TIMEOUT_MS: '1s',
      HTTP_RETRIES: '0',
      HTTP_BULK_MAX_CHARS: '10',
    });
    const urls = [
      `${local.origin}/text`,
      `${local.origin}/slow`,
      `${local.origin}/hang`,
      `http://127.0.0.1:${refused}/`,
      'http://169.254.169.254/latest/meta-data/',
      `http://localhost:${local.port}/`,
      'file:///etc/passwd',
      'not a url',
      `${local.origin}/missing`,
      `${local.origin}/image`,
      `${local.origin}/long`,
    ];
    await withClient(server, era, async (client) => {
      const result = await client.callTool({ name: 'bulk_fetch', arguments: { urls, concurrency: 4 } });
      expect(result.isError).toBeFalsy();
      const data = result.structuredContent as {
        results: Array<Record<string, unknown> & { error?: { code: string } }>;
        fetched: number;
        failed: number;
      };
      expect(data.fetched).toBe(5);
      expect(data.failed).toBe(6);
      expect(data.results.map((r) => r.url)).toEqual(urls);
      expect(data.results.map((r) => r.error?.code ?? r.status)).toEqual([
        200,
        200,
        'TIMEOUT',
        'CONNECTION_REFUSED',
        'SSRF_BLOCKED',
        'SSRF_BLOCKED',
        'UNSUPPORTED_SCHEME',
        'INVALID_URL',
        404,
        200,
        200,
      ]);
      expect(data.results[0]).toMatchObject({
        ok: true,
        body: 'héllo wörl… [1 more characters not shown; use http_get for the whole body]',
      });
      expect(data.results[9]!.body).toContain('[binary body');
      const text = textOf(result);
      expect(text).toMatch(/^Fetched 5 of 11 URLs \(6 failed\)\./);
      expect(text).toContain('[5] http://169.254.169.254/latest/meta-data/\nerror SSRF_BLOCKED: refused');
    });
    expect(local.hits.get('/')).toBeUndefined();
  });

  it('ends at its overall deadline with the results it has, naming the URLs left over', async () => {
    server = await startTrellis({
      HTTP_ALLOW_HOSTS: local.hostPort,
      HTTP_BULK_DEADLINE_MS: '1500ms',
      HTTP_TIMEOUT_MS: '60s',
      HTTP_RETRIES: '0',
    });
    const urls = [
      `${local.origin}/text`,
      `${local.origin}/hang?a`,
      `${local.origin}/hang?b`,
      `${local.origin}/slow`,
      `${local.origin}/json`,
    ];
    await withClient(server, era, async (client) => {
      const started = Date.now();
      const result = await client.callTool({ name: 'bulk_fetch', arguments: { urls, concurrency: 2 } });
      // Without the deadline, the hanging URLs would hold the call for HTTP_TIMEOUT_MS (60 s).
      expect(Date.now() - started).toBeLessThan(10_000);
      const data = result.structuredContent as {
        results: Array<{ status?: number; error?: { code: string; message: string } }>;
        deadlineMs: number;
        deadlineReached: boolean;
        elapsedMs: number;
        fetched: number;
      };
      expect(data).toMatchObject({ deadlineMs: 1500, deadlineReached: true, fetched: 1 });
      expect(data.elapsedMs).toBeGreaterThanOrEqual(1400);
      expect(data.results.map((r) => r.error?.code ?? r.status)).toEqual([
        200,
        'DEADLINE',
        'DEADLINE',
        'DEADLINE',
        'DEADLINE',
      ]);
      expect(data.results[1]!.error!.message).toMatch(
        /stopped fetching .*hang\?a: the overall deadline of 1500 ms \(HTTP_BULK_DEADLINE_MS\) passed first/,
      );
      expect(data.results[4]!.error!.message).toMatch(/did not fetch .*json/);
      expect(textOf(result)).toMatch(/^Fetched 1 of 5 URLs \(4 failed\); stopped at the overall deadline of 1500 ms/);
    });
    // The hanging requests were abandoned, not left open.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(local.aborted.filter((path) => path.startsWith('/hang')).sort()).toEqual(['/hang?a', '/hang?b']);
  });

  it('names DNS failures, refused connections, TLS failures and oversized headers', async () => {
    const refused = await closedPort();
    const resolver = async (hostname: string) => {
      if (hostname === 'nowhere.example')
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
      return [{ address: '127.0.0.1', family: 4 }];
    };
    server = await startTrellis(
      { HTTP_ALLOW_HOSTS: `${local.hostPort},127.0.0.1:${refused},nowhere.example`, HTTP_RETRIES: '0' },
      { resolver },
    );
    const urls = [
      'http://nowhere.example/',
      `http://127.0.0.1:${refused}/`,
      `https://${local.hostPort}/text`,
      `${local.origin}/huge-headers`,
      `${local.origin}/text`,
    ];
    await withClient(server, era, async (client) => {
      const result = await client.callTool({ name: 'bulk_fetch', arguments: { urls } });
      const data = result.structuredContent as {
        results: Array<{ status?: number; error?: { code: string; message: string } }>;
        deadlineReached: boolean;
      };
      expect(data.results.map((r) => r.error?.code ?? r.status)).toEqual([
        'DNS_FAILED',
        'CONNECTION_REFUSED',
        'TLS_FAILED',
        'HEADERS_TOO_LARGE',
        200,
      ]);
      expect(data.results[0]!.error!.message).toContain('the host name nowhere.example could not be resolved');
      expect(data.results[2]!.error!.message).toContain('the TLS handshake failed');
      expect(data.results[3]!.error!.message).toMatch(/headers are larger than the client accepts \(\d+ bytes\)/);
      expect(data.deadlineReached).toBe(false);
      const single = await httpGet(client, 'http://nowhere.example/');
      expect(single.isError).toBe(true);
      expect(textOf(single)).toMatch(
        /^DNS_FAILED: could not fetch http:\/\/nowhere\.example\/: the host name nowhere\.example could not be resolved/,
      );
    });
  });

  it('refuses more URLs than HTTP_BULK_MAX_URLS', async () => {
    server = await startTrellis({ HTTP_ALLOW_HOSTS: local.hostPort, HTTP_BULK_MAX_URLS: '2' });
    await withClient(server, era, async (client) => {
      const result = await client.callTool({
        name: 'bulk_fetch',
        arguments: { urls: ['http://a.example/', 'http://b.example/', 'http://c.example/'] },
      });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain('urls');
    });
  });
});
