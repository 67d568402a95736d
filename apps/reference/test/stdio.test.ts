import { existsSync } from 'node:fs';
import { CLIENT_KINDS, connectBundle } from '@trellis/testing/apps';
import { describe, expect, it } from 'vitest';
import { BUNDLE, exerciseReferenceServer, SERVER_ENV } from './helpers.js';

describe('trellis-reference bundle over stdio', () => {
  it('was built', () => expect(existsSync(BUNDLE)).toBe(true));

  // v1 is @modelcontextprotocol/sdk 1.32.2; v2 the 2025 handshake; v2-modern pins 2026-07-28.
  it.each(CLIENT_KINDS)('serves the %s client', async (kind) => {
    const client = await connectBundle({ bundle: BUNDLE, transport: 'stdio', client: kind, env: SERVER_ENV });
    try {
      await exerciseReferenceServer(client);
    } finally {
      await client.close();
    }
  });
});
