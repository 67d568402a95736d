import { definePlugin, type TrellisServer } from '@trellis/server';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, withClient } from './helpers.js';

let running: TrellisServer | undefined;
afterEach(async () => {
  await running?.close({ graceMs: 100 });
  running = undefined;
});

const cached = () =>
  definePlugin({
    name: 'cached',
    setup(scope) {
      scope.tools.add({ name: 'noop', description: 'Does nothing', handler: () => 'ok' });
      scope.resources.add({
        uri: 'doc://stable',
        name: 'stable',
        cacheHint: { ttlMs: 300_000, cacheScope: 'public' },
        read: () => 'stable text',
      });
      scope.resources.add({ uri: 'doc://volatile', name: 'volatile', read: () => String(Date.now()) });
    },
  });

describe('2026-07-28 cache hints', () => {
  it('carries the configured hints on list results and a resource hint on its reads', async () => {
    const { server } = await startServer([cached()], {
      cacheHints: { 'tools/list': { ttlMs: 60_000, cacheScope: 'public' } },
    });
    running = server;
    await withClient(server, { era: 'modern' }, async (client) => {
      const tools = (await client.listTools()) as { ttlMs?: number; cacheScope?: string };
      expect(tools).toMatchObject({ ttlMs: 60_000, cacheScope: 'public' });
      const stable = (await client.readResource({ uri: 'doc://stable' })) as { ttlMs?: number; cacheScope?: string };
      expect(stable).toMatchObject({ ttlMs: 300_000, cacheScope: 'public' });
      const volatile = (await client.readResource({ uri: 'doc://volatile' })) as {
        ttlMs?: number;
        cacheScope?: string;
      };
      expect(volatile).toMatchObject({ ttlMs: 0, cacheScope: 'private' });
    });
  });

  it('leaves them out of older-protocol answers', async () => {
    const { server } = await startServer([cached()], {
      cacheHints: { 'tools/list': { ttlMs: 60_000, cacheScope: 'public' } },
    });
    running = server;
    await withClient(server, { era: 'legacy' }, async (client) => {
      expect(await client.listTools()).not.toHaveProperty('ttlMs');
      expect(await client.readResource({ uri: 'doc://stable' })).not.toHaveProperty('ttlMs');
    });
  });
});
