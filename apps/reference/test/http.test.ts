import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as StreamableHTTPClientTransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exerciseReferenceServer, startHttp, type AnyClient, type HttpServer } from './helpers.js';

describe('trellis-reference bundle over HTTP', () => {
  let server: HttpServer;
  beforeAll(async () => {
    server = await startHttp();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers /healthz and /readyz', async () => {
    const base = server.url.replace(/\/mcp$/, '');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it.each([
    ['2025 handshake', {}],
    ['2026-07-28', { versionNegotiation: { mode: { pin: '2026-07-28' } } }],
  ] as const)('serves the v2 client (%s)', async (_era, options) => {
    const client = new Client({ name: 'reference-test', version: '0.0.0' }, options);
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
    try {
      await exerciseReferenceServer(client as unknown as AnyClient);
    } finally {
      await client.close();
    }
  });

  it('serves the v1 client (@modelcontextprotocol/sdk 1.32.2)', async () => {
    const client = new ClientV1({ name: 'reference-test-v1', version: '0.0.0' });
    await client.connect(new StreamableHTTPClientTransportV1(new URL(server.url)));
    try {
      await exerciseReferenceServer(client as unknown as AnyClient);
    } finally {
      await client.close();
    }
  });
});
