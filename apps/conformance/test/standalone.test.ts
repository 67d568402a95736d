import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { describe, expect, it } from 'vitest';
import { BUNDLE } from './server-process.js';

describe('dist/ on its own', () => {
  it('runs from an empty folder with only Node', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'trellis-conformance-dist-'));
    try {
      cpSync(dirname(BUNDLE), folder, { recursive: true });
      // No node_modules anywhere above the copy: the bundle must carry everything.
      for (let dir = folder; dir !== dirname(dir); dir = dirname(dir)) expect(existsSync(join(dir, 'node_modules')), dir).toBe(false);
      expect(readdirSync(folder)).toContain('main.js');
      const client = new Client({ name: 'standalone-test', version: '0.0.0' });
      await client.connect(
        new StdioClientTransport({ command: process.execPath, args: [join(folder, 'main.js')], cwd: folder, env: { PATH: dirname(process.execPath) }, stderr: 'ignore' }),
      );
      try {
        const { tools } = await client.listTools();
        expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['test_simple_text', 'test_error_handling', 'json_schema_2020_12_tool']));
      } finally {
        await client.close();
      }
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
