import { CLIENT_KINDS, connectBundle, startHttpBundle, type HttpBundle } from '@trellis/testing/apps';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUNDLE, DIST, exerciseReferenceServer, SERVER_ENV } from './helpers.js';

describe('trellis-reference bundle over HTTP', () => {
  let server: HttpBundle;
  beforeAll(async () => {
    server = await startHttpBundle({ bundle: BUNDLE, env: SERVER_ENV });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers /healthz and /readyz', async () => {
    expect((await fetch(`${server.base}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.base}/readyz`)).status).toBe(200);
  });

  // v1 is @modelcontextprotocol/sdk 1.32.2; v2 the 2025 handshake; v2-modern pins 2026-07-28.
  it.each(CLIENT_KINDS)('serves the %s client', async (kind) => {
    const client = await connectBundle({ transport: 'http', client: kind, url: server.url });
    try {
      await exerciseReferenceServer(client);
    } finally {
      await client.close();
    }
  });

  it('refuses a 400 KB file URI at once, before touching the file system', async () => {
    const client = await connectBundle({ transport: 'http', client: 'v2', url: server.url });
    try {
      // A path that does not exist, 400 KB long: once cost minutes of CPU walking its ancestors.
      const uri = `${pathToFileURL(join(DIST, 'samples')).href}/${'missing/'.repeat(50_000)}x.txt`;
      const started = performance.now();
      const error = await client.readResource({ uri }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      const elapsed = performance.now() - started;
      expect(error?.message).toMatch(/paths are limited to 4096 bytes/);
      // The answer repeats a cut URI, not 400 KB of it.
      expect(error!.message.length).toBeLessThan(2_000);
      // Generous for a loaded machine; the unguarded walk took minutes.
      expect(elapsed).toBeLessThan(2_000);
      expect((await client.callTool({ name: 'add_numbers', arguments: { a: 1, b: 2 } })).structuredContent).toEqual({
        sum: 3,
      });
    } finally {
      await client.close();
    }
  });
});
