import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { Client as ClientV2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioV2 } from '@modelcontextprotocol/client/stdio';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { describe, expect, it } from 'vitest';
import { ensureConformanceTools } from '../../../tools/conformance.mjs';
import { BUNDLE, startHttpServer } from './server-process.js';

const run = promisify(execFile);

function firstText(result: { content?: unknown }): string | undefined {
  return (result.content as { type: string; text?: string }[] | undefined)?.find((c) => c.type === 'text')?.text;
}

describe('trellis-conformance bundle with real clients', () => {
  it('serves the v2 client over stdio on 2026-07-28', async () => {
    expect(existsSync(BUNDLE)).toBe(true);
    const client = new ClientV2({ name: 'test', version: '0.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await client.connect(new StdioV2({ command: process.execPath, args: [BUNDLE], stderr: 'ignore' }));
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('test_simple_text');
      expect(firstText(await client.callTool({ name: 'test_simple_text' }))).toBe('This is a simple text response for testing.');
    } finally {
      await client.close();
    }
  });

  it('serves the v1 client over stdio on the older protocol', async () => {
    const client = new ClientV1({ name: 'test', version: '0.0.0' });
    await client.connect(new StdioV1({ command: process.execPath, args: [BUNDLE], stderr: 'ignore' }));
    try {
      const { resources } = await client.listResources();
      expect(resources.map((r) => r.uri)).toContain('test://static-text');
      const result = await client.callTool({ name: 'test_error_handling', arguments: {} });
      expect(result.isError).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('answers the MCP Inspector CLI (on the isolated Node 22) over stdio and HTTP', async () => {
    const tools = await ensureConformanceTools();
    const stdio = await run(tools.node, [tools.inspector, '--cli', process.execPath, BUNDLE, '--method', 'tools/list'], { timeout: 60_000 });
    expect((JSON.parse(stdio.stdout) as { tools: { name: string }[] }).tools.map((t) => t.name)).toContain('test_simple_text');
    const server = await startHttpServer();
    try {
      const http = await run(tools.node, [tools.inspector, '--cli', server.url, '--transport', 'http', '--method', 'tools/call', '--tool-name', 'test_simple_text'], {
        timeout: 60_000,
      });
      expect(http.stdout).toContain('This is a simple text response for testing.');
    } finally {
      await server.stop();
    }
  }, 180_000);
});
