import { definePlugin, type TrellisServer } from '@trellis/server';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, withClient } from './helpers.js';

let running: TrellisServer | undefined;
afterEach(async () => {
  await running?.close({ graceMs: 100 });
  running = undefined;
});

const described = () =>
  definePlugin({
    name: 'described',
    setup(scope) {
      scope.tools.add({
        name: 'audited',
        title: 'Audited action',
        description: 'Logs through the request logger',
        annotations: { readOnlyHint: true, openWorldHint: false },
        icons: [{ src: 'data:image/png;base64,iVBORw0KGgo=', mimeType: 'image/png' }],
        handler: (_args, ctx) => {
          ctx.log.info({ detail: 42 }, 'audited ran');
          return 'ok';
        },
      });
    },
  });

describe('request logging', () => {
  it('gives each request a child logger carrying its id, method, tool and session', async () => {
    const { server, logs } = await startServer([described()]);
    running = server;
    await withClient(server, { era: 'legacy' }, async (client) => {
      await client.callTool({ name: 'audited', arguments: {} });
    });
    const record = logs.records.find((r) => r.msg === 'audited ran');
    expect(record).toMatchObject({ method: 'tools/call', target: 'audited', detail: 42, level: 30 });
    expect(record?.reqId).toBeDefined();
  });
});

describe('tool metadata', () => {
  it('lists title, annotations and icons as declared', async () => {
    const { server } = await startServer([described()]);
    running = server;
    await withClient(server, { era: 'modern' }, async (client) => {
      const [tool] = (await client.listTools()).tools;
      expect(tool).toMatchObject({
        name: 'audited',
        title: 'Audited action',
        annotations: { readOnlyHint: true, openWorldHint: false },
        icons: [{ src: 'data:image/png;base64,iVBORw0KGgo=', mimeType: 'image/png' }],
      });
    });
  });
});
