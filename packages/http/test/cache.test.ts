import type { TrellisServer } from '@trellis/server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ERAS, httpGet, startLocalServer, startTrellis, textOf, withClient, type LocalServer } from './helpers.js';

let local: LocalServer;
let server: TrellisServer | undefined;

beforeAll(async () => {
  local = await startLocalServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/slow') await new Promise((resolve) => setTimeout(resolve, 200));
    if (path === '/error') return void res.writeHead(500).end('broken');
    if (path === '/no-store') return void res.writeHead(200, { 'cache-control': 'no-store' }).end('fresh');
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`hello ${req.headers['accept-language'] ?? ''}`);
  });
});
afterAll(() => local.close());
afterEach(async () => {
  await server?.close({ graceMs: 100 });
  server = undefined;
  local.reset();
});

describe.each(ERAS)('GET cache (%s)', (era) => {
  it('answers a repeated GET from the cache; other headers are another entry', async () => {
    server = await startTrellis({ HTTP_ALLOW_HOSTS: local.hostPort });
    await withClient(server, era, async (client) => {
      for (let i = 0; i < 3; i++) expect(textOf(await httpGet(client, `${local.origin}/page`))).toContain('hello');
      expect(textOf(await httpGet(client, `${local.origin}/page`, { 'Accept-Language': 'fr' }))).toContain('hello fr');
    });
    expect(local.hits.get('/page')).toBe(2);
  });

  it('shares one upstream request among concurrent callers (single-flight)', async () => {
    server = await startTrellis({ HTTP_ALLOW_HOSTS: local.hostPort });
    await withClient(server, era, async (client) => {
      const results = await Promise.all(Array.from({ length: 5 }, () => httpGet(client, `${local.origin}/slow`)));
      for (const result of results) expect(textOf(result)).toContain('HTTP 200');
    });
    expect(local.hits.get('/slow')).toBe(1);
  });

  it('does not cache errors or no-store responses', async () => {
    server = await startTrellis({ HTTP_ALLOW_HOSTS: local.hostPort, HTTP_RETRIES: '0' });
    await withClient(server, era, async (client) => {
      for (let i = 0; i < 2; i++) {
        expect(textOf(await httpGet(client, `${local.origin}/error`))).toContain('HTTP 500');
        expect(textOf(await httpGet(client, `${local.origin}/no-store`))).toContain('fresh');
      }
    });
    expect(local.hits.get('/error')).toBe(2);
    expect(local.hits.get('/no-store')).toBe(2);
  });

  it('expires entries after HTTP_CACHE_TTL_MS, and HTTP_CACHE_TTL_MS=0 turns the cache off', async () => {
    server = await startTrellis({ HTTP_ALLOW_HOSTS: local.hostPort, HTTP_CACHE_TTL_MS: '150' });
    await withClient(server, era, async (client) => {
      await httpGet(client, `${local.origin}/ttl`);
      await httpGet(client, `${local.origin}/ttl`);
      await new Promise((resolve) => setTimeout(resolve, 250));
      await httpGet(client, `${local.origin}/ttl`);
    });
    expect(local.hits.get('/ttl')).toBe(2);
    await server.close({ graceMs: 100 });
    server = await startTrellis({ HTTP_ALLOW_HOSTS: local.hostPort, HTTP_CACHE_TTL_MS: '0' });
    await withClient(server, era, async (client) => {
      await httpGet(client, `${local.origin}/off`);
      await httpGet(client, `${local.origin}/off`);
    });
    expect(local.hits.get('/off')).toBe(2);
  });
});
