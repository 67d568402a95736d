import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TrellisServer } from '@trellis/server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { backoffMs, retryAfterMs } from '../src/retry.js';
import {
  closedPort,
  consumer,
  ERAS,
  httpGet,
  startLocalServer,
  startTrellis,
  textOf,
  until,
  withClient,
  type LocalServer,
} from './helpers.js';

let local: LocalServer;
let second: LocalServer;
let server: TrellisServer | undefined;
const attempts = new Map<string, number>();

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const key = url.pathname + url.search;
    const seen = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, seen);
    switch (url.pathname) {
      case '/flaky':
        if (seen === 1) return void res.writeHead(503, { 'retry-after': '1' }).end('busy');
        return void res.end(`ok after ${seen}`);
      case '/always-429':
        return void res.writeHead(429, { 'retry-after': '0' }).end('slow down');
      case '/always-503':
        return void res.writeHead(503, { 'retry-after': '0' }).end('down');
      case '/come-back-later':
        return void res.writeHead(503, { 'retry-after': '3600' }).end('maintenance');
      case '/slow':
        await delay(150);
        return void res.end('slow');
      case '/hang':
        return; // the client has to give up
      default:
        res.end('ok');
    }
  };
  local = await startLocalServer(handler);
  second = await startLocalServer(handler);
});
afterAll(async () => {
  await local.close();
  await second.close();
});
afterEach(async () => {
  await server?.close({ graceMs: 100 });
  server = undefined;
  local.reset();
  second.reset();
  attempts.clear();
});

const env = (extra: Record<string, string> = {}) => ({
  HTTP_ALLOW_HOSTS: `${local.hostPort},${second.hostPort}`,
  HTTP_CACHE_TTL_MS: '0',
  ...extra,
});

describe('retry helpers', () => {
  it('reads Retry-After as seconds or as a date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });

  it('backs off exponentially with jitter, capped', () => {
    expect(backoffMs(0, 10_000, () => 0)).toBe(125);
    expect(backoffMs(0, 10_000, () => 1)).toBe(250);
    expect(backoffMs(3, 10_000, () => 1)).toBe(2000);
    expect(backoffMs(20, 1_000, () => 1)).toBe(1000);
  });
});

describe.each(ERAS)('retries (%s)', (era) => {
  it('retries a 503 after the Retry-After it asks for', async () => {
    server = await startTrellis(env());
    await withClient(server, era, async (client) => {
      const result = await httpGet(client, `${local.origin}/flaky`);
      expect(textOf(result)).toContain('ok after 2');
    });
    expect(local.hits.get('/flaky')).toBe(2);
    const [first, retry] = local.log;
    expect(retry!.at - first!.at).toBeGreaterThanOrEqual(900);
  });

  it('gives up after HTTP_RETRIES and returns the last response', async () => {
    server = await startTrellis(env({ HTTP_RETRIES: '2' }));
    await withClient(server, era, async (client) => {
      const result = await httpGet(client, `${local.origin}/always-429`);
      expect(result.isError).toBeFalsy();
      expect(textOf(result)).toContain('HTTP 429');
    });
    expect(local.hits.get('/always-429')).toBe(3);
  });

  it('does not wait longer than HTTP_RETRY_MAX_DELAY_MS for a Retry-After', async () => {
    server = await startTrellis(env({ HTTP_RETRY_MAX_DELAY_MS: '5s' }));
    await withClient(server, era, async (client) => {
      expect(textOf(await httpGet(client, `${local.origin}/come-back-later`))).toContain('HTTP 503');
    });
    expect(local.hits.get('/come-back-later')).toBe(1);
  });

  it('never retries a request that is not idempotent', async () => {
    server = await startTrellis(env({ HTTP_RETRIES: '3' }), { extra: [consumer()] });
    await withClient(server, era, async (client) => {
      const result = await client.callTool({
        name: 'strict_fetch',
        arguments: { url: `${local.origin}/always-503`, method: 'POST' },
      });
      expect(textOf(result)).toBe('503 4 bytes');
    });
    expect(local.hits.get('/always-503')).toBe(1);
  });

  it('retries connection errors, then names the failure and the attempts', async () => {
    const port = await closedPort();
    server = await startTrellis(env({ HTTP_ALLOW_HOSTS: `127.0.0.1:${port}`, HTTP_RETRIES: '2' }));
    await withClient(server, era, async (client) => {
      const result = await httpGet(client, `http://127.0.0.1:${port}/`);
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(
        /CONNECTION_REFUSED: could not fetch http:\/\/127\.0\.0\.1:\d+\/: the connection to 127\.0\.0\.1:\d+ was refused \(.*ECONNREFUSED.*\) \(3 attempts\)/,
      );
    });
  });
});

describe.each(ERAS)('per-host limit and cancellation (%s)', (era) => {
  it('keeps at most HTTP_PER_HOST_CONCURRENCY requests in flight per host, as each server sees it', async () => {
    server = await startTrellis(env({ HTTP_PER_HOST_CONCURRENCY: '2' }));
    const urls = [local, second].flatMap((s) => Array.from({ length: 6 }, (_, i) => `${s.origin}/slow?i=${i}`));
    await withClient(server, era, async (client) => {
      const result = await client.callTool({ name: 'bulk_fetch', arguments: { urls, concurrency: 12 } });
      expect((result.structuredContent as { fetched: number }).fetched).toBe(12);
    });
    expect(local.inFlight.max).toBe(2);
    expect(second.inFlight.max).toBe(2);
  });

  it('closes the upstream request when the client cancels the call', async () => {
    server = await startTrellis(env());
    await withClient(server, era, async (client) => {
      const controller = new AbortController();
      const call = httpGet(client, `${local.origin}/hang`, undefined, { signal: controller.signal });
      await until(() => local.hits.get('/hang') === 1);
      expect(local.aborted).toEqual([]);
      controller.abort();
      await expect(call).rejects.toThrow();
      await until(() => local.aborted.includes('/hang'));
    });
  });
});
