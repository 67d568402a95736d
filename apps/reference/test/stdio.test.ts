import { existsSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioClientTransportV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { describe, expect, it } from 'vitest';
import { BUNDLE, exerciseReferenceServer, SERVER_ENV, type AnyClient } from './helpers.js';

const serverParams = { command: process.execPath, args: [BUNDLE], env: { PATH: process.env.PATH ?? '', ...SERVER_ENV }, stderr: 'ignore' as const };

describe('trellis-reference bundle over stdio', () => {
  it('was built', () => expect(existsSync(BUNDLE)).toBe(true));

  it.each([
    ['2025 handshake', {}],
    ['2026-07-28', { versionNegotiation: { mode: { pin: '2026-07-28' } } }],
  ] as const)('serves the v2 client (%s)', async (_era, options) => {
    const client = new Client({ name: 'reference-test', version: '0.0.0' }, options);
    await client.connect(new StdioClientTransport(serverParams));
    try {
      await exerciseReferenceServer(client as unknown as AnyClient);
    } finally {
      await client.close();
    }
  });

  it('serves the v1 client (@modelcontextprotocol/sdk 1.32.2)', async () => {
    const client = new ClientV1({ name: 'reference-test-v1', version: '0.0.0' });
    await client.connect(new StdioClientTransportV1(serverParams));
    try {
      await exerciseReferenceServer(client as unknown as AnyClient);
    } finally {
      await client.close();
    }
  });
});
