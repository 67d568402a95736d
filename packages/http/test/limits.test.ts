import type { TrellisServer } from '@trellis/server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  consumer,
  ERAS,
  httpGet,
  startLocalServer,
  startSilentTcpServer,
  startTrellis,
  textOf,
  until,
  withClient,
  type LocalServer,
} from './helpers.js';

let local: LocalServer;
let other: LocalServer;
let server: TrellisServer | undefined;

beforeAll(async () => {
  other = await startLocalServer((req, res) =>
    res.end(JSON.stringify({ authorization: req.headers.authorization ?? null })),
  );
  local = await startLocalServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const hop = /^\/r\/(\d+)$/.exec(path);
    if (hop) {
      const n = Number(hop[1]);
      if (n === 0) return void res.end('done');
      res.writeHead(302, { location: `/r/${n - 1}` }).end();
      return;
    }
    if (path === '/hang') return; // never answers
    if (path === '/stall-body') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
      res.write('partial');
      return;
    }
    if (path === '/big') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('a'.repeat(5000));
    if (path === '/exact') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('b'.repeat(1000));
    if (path === '/endless') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = 'x'.repeat(64 * 1024);
      const timer = setInterval(() => res.write(chunk), 5);
      res.on('close', () => clearInterval(timer));
      return;
    }
    if (path === '/to-metadata')
      return void res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    if (path === '/to-localhost')
      return void res.writeHead(301, { location: `http://localhost:${local.port}/secret` }).end();
    if (path === '/to-file') return void res.writeHead(302, { location: 'file:///etc/passwd' }).end();
    if (path === '/to-other') return void res.writeHead(307, { location: `${other.origin}/echo` }).end();
    res.end('ok');
  });
});
afterAll(async () => {
  await local.close();
  await other.close();
});
afterEach(async () => {
  await server?.close({ graceMs: 100 });
  server = undefined;
  local.reset();
  other.reset();
});

const fast = (extra: Record<string, string> = {}) => ({
  HTTP_ALLOW_HOSTS: `${local.hostPort},${other.hostPort}`,
  HTTP_CONNECT_TIMEOUT_MS: '300',
  HTTP_HEADERS_TIMEOUT_MS: '300',
  HTTP_BODY_TIMEOUT_MS: '300',
  HTTP_RETRIES: '0',
  HTTP_CACHE_TTL_MS: '0',
  ...extra,
});

describe.each(ERAS)('timeouts (%s)', (era) => {
  it('times out connecting when the TLS handshake never completes, and retries the connect', async () => {
    const silent = await startSilentTcpServer();
    try {
      server = await startTrellis(fast({ HTTP_ALLOW_HOSTS: `127.0.0.1:${silent.port}`, HTTP_RETRIES: '1' }));
      await withClient(server, era, async (client) => {
        const result = await httpGet(client, `https://127.0.0.1:${silent.port}/`);
        expect(result.isError).toBe(true);
        expect(textOf(result)).toMatch(
          /TIMEOUT: timed out fetching https:\/\/127\.0\.0\.1:\d+\/: connecting \(TCP\/TLS\) took longer than 300 ms/,
        );
      });
      expect(silent.accepted.count).toBe(2);
    } finally {
      await silent.close();
    }
  });

  it('times out waiting for headers', async () => {
    server = await startTrellis(fast());
    await withClient(server, era, async (client) => {
      const text = textOf(await httpGet(client, `${local.origin}/hang`));
      expect(text).toContain('TIMEOUT');
      expect(text).toContain('the response headers did not arrive within 300 ms');
    });
  });

  it('times out when the body stalls', async () => {
    server = await startTrellis(fast());
    await withClient(server, era, async (client) => {
      const text = textOf(await httpGet(client, `${local.origin}/stall-body`));
      expect(text).toContain('the response body stalled (no data) for 300 ms');
    });
  });

  it('enforces the deadline of the whole fetch', async () => {
    server = await startTrellis(fast({ HTTP_HEADERS_TIMEOUT_MS: '10s', HTTP_TIMEOUT_MS: '400' }));
    await withClient(server, era, async (client) => {
      const text = textOf(await httpGet(client, `${local.origin}/hang`));
      expect(text).toContain('the whole request (redirects and retries included) took longer than 400 ms');
    });
  });
});

describe.each(ERAS)('size cap (%s)', (era) => {
  it('truncates a body over the cap with a note', async () => {
    server = await startTrellis(fast({ HTTP_MAX_BYTES: '1000' }));
    await withClient(server, era, async (client) => {
      const result = await httpGet(client, `${local.origin}/big`);
      expect(result.isError).toBeFalsy();
      const data = result.structuredContent as { body: string; truncated: boolean; bytes: number };
      expect(data).toMatchObject({ truncated: true, bytes: 1000, body: 'a'.repeat(1000) });
      expect(textOf(result)).toContain(
        '[truncated: the body is longer than 1000 bytes (HTTP_MAX_BYTES); only the first 1000 bytes are shown]',
      );
      const exact = await httpGet(client, `${local.origin}/exact`);
      expect(exact.structuredContent).toMatchObject({ truncated: false, bytes: 1000 });
    });
  });

  it('stops reading an endless body at the cap and closes the connection', async () => {
    server = await startTrellis(fast({ HTTP_MAX_BYTES: '100000' }));
    await withClient(server, era, async (client) => {
      const result = await httpGet(client, `${local.origin}/endless`);
      expect(result.structuredContent).toMatchObject({ truncated: true, bytes: 100000 });
    });
    await until(() => local.aborted.includes('/endless'));
  });

  it('fails with TOO_LARGE for service callers that did not ask to truncate', async () => {
    server = await startTrellis(fast({ HTTP_MAX_BYTES: '1000' }), { extra: [consumer()] });
    await withClient(server, era, async (client) => {
      const result = await client.callTool({ name: 'strict_fetch', arguments: { url: `${local.origin}/big` } });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain(
        `TOO_LARGE: response of ${local.origin}/big is larger than the limit of 1000 bytes`,
      );
      const fits = await client.callTool({ name: 'strict_fetch', arguments: { url: `${local.origin}/exact` } });
      expect(textOf(fits)).toBe('200 1000 bytes');
    });
  });
});

describe.each(ERAS)('redirects (%s)', (era) => {
  it('follows up to the limit and refuses one more', async () => {
    server = await startTrellis(fast({ HTTP_MAX_REDIRECTS: '3' }));
    await withClient(server, era, async (client) => {
      const ok = await httpGet(client, `${local.origin}/r/3`);
      expect(textOf(ok)).toContain(`HTTP 200 from ${local.origin}/r/0 (after 3 redirects)`);
      expect((ok.structuredContent as { redirects: string[] }).redirects).toHaveLength(3);
      const tooMany = await httpGet(client, `${local.origin}/r/4`);
      expect(tooMany.isError).toBe(true);
      expect(textOf(tooMany)).toContain(
        `TOO_MANY_REDIRECTS: too many redirects fetching ${local.origin}/r/4: more than 3`,
      );
    });
  });

  it('checks every hop: a redirect to a forbidden address is refused before connecting', async () => {
    server = await startTrellis(fast());
    await withClient(server, era, async (client) => {
      const metadata = textOf(await httpGet(client, `${local.origin}/to-metadata`));
      expect(metadata).toContain('SSRF_BLOCKED: refused http://169.254.169.254/latest/meta-data/');
      const named = textOf(await httpGet(client, `${local.origin}/to-localhost`));
      expect(named).toContain(`SSRF_BLOCKED: refused http://localhost:${local.port}/secret: localhost resolves to`);
      expect(textOf(await httpGet(client, `${local.origin}/to-file`))).toContain('UNSUPPORTED_SCHEME');
    });
    expect(local.hits.get('/secret')).toBeUndefined();
  });

  it('drops credentials when a redirect leaves the origin', async () => {
    server = await startTrellis(fast());
    await withClient(server, era, async (client) => {
      const result = await httpGet(client, `${local.origin}/to-other`, { authorization: 'Bearer secret-token' });
      expect((result.structuredContent as { body: string }).body).toBe('{"authorization":null}');
    });
    expect(local.log[0]?.headers.authorization).toBe('Bearer secret-token');
  });
});
