import { CLIENT_KINDS, connectBundle, startHttpBundle, type HttpBundle } from '@trellis/testing/apps';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE, exerciseReferenceServer, SERVER_ENV } from './helpers.js';

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
});
