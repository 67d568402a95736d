import { createServer } from '@trellis/server';
import { textOf, withClient } from '@trellis/testing';
import { describe, expect, it } from 'vitest';
import { greeter } from './greeter.js';

describe('greeter', () => {
  it('greets through a real MCP client, with configuration given by the test', async () => {
    const server = createServer({
      name: 'greeter-test',
      version: '0.0.0',
      plugins: [greeter()],
      // The test's own sources: no flags, no .env files, nothing from process.env.
      configSources: { argv: [], env: { GREETING: 'Hi' }, envFiles: [] },
    });
    await server.start();
    try {
      await withClient(server, { era: 'modern' }, async (client) => {
        const result = await client.callTool({ name: 'greet', arguments: { name: 'Ada' } });
        expect(result.structuredContent).toEqual({ greeting: 'Hi, Ada!' });

        const refused = await client.callTool({ name: 'greet', arguments: { name: '' } });
        expect(refused.isError).toBe(true);
        expect(textOf(refused)).toContain('name');
      });
    } finally {
      await server.close();
    }
  });
});
