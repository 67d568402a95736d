// The guides' example plugins and server, run: in process through a real client, and the server bundled and
// started over stdio the way a desktop client starts it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { createServer, mount, type AnyPlugin } from '@trellis/server';
import { textOf, withClient } from '@trellis/testing';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { rawText } from '../../tsup.shared.ts';
import { fanOut } from '../examples/fan-out.js';
import { notes } from '../examples/notes.js';

const scratch = mkdtempSync(join(tmpdir(), 'trellis-docs-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function started(plugins: AnyPlugin[]) {
  const server = createServer({
    name: 'docs-example',
    version: '0.0.0',
    plugins,
    configSources: { argv: [], env: {}, envFiles: [] },
  });
  await server.start();
  return server;
}

describe('examples/notes.ts', () => {
  it('writes, lists, completes, reads and prompts; a mounted copy lives beside it', async () => {
    const server = await started([notes({ todo: '- ship' }), mount(notes(), { prefix: 'work' })]);
    try {
      await withClient(server, { era: 'legacy' }, async (client) => {
        expect(textOf(await client.callTool({ name: 'write_note', arguments: { id: 'ideas', text: '# Ideas' } }))).toBe(
          'Saved note ideas',
        );
        const bad = await client.callTool({ name: 'write_note', arguments: { id: 'No Spaces', text: 'x' } });
        expect(bad.isError).toBe(true);

        const { resources } = await client.listResources();
        // Beside config://settings, which every server serves.
        expect(resources.map((resource) => resource.uri).sort()).toEqual([
          'config://settings',
          'notes://ideas',
          'notes://todo',
        ]);
        const read = await client.readResource({ uri: 'notes://ideas' });
        expect(read.contents[0]).toMatchObject({ uri: 'notes://ideas', mimeType: 'text/markdown', text: '# Ideas' });
        await expect(client.readResource({ uri: 'notes://missing' })).rejects.toThrow();

        const completion = await client.complete({
          ref: { type: 'ref/resource', uri: 'notes://{id}' },
          argument: { name: 'id', value: 'i' },
        });
        expect(completion.completion.values).toEqual(['ideas']);

        const prompt = await client.getPrompt({ name: 'summarize_note', arguments: { id: 'todo' } });
        expect(prompt.messages.map((message) => message.content.type)).toEqual(['resource', 'text']);

        const { tools } = await client.listTools();
        expect(tools.map((tool) => tool.name).sort()).toEqual(['work_write_note', 'write_note']);
        expect(textOf(await client.callTool({ name: 'work_write_note', arguments: { id: 'plan', text: 'q3' } }))).toBe(
          'Saved note plan',
        );
        expect((await client.readResource({ uri: 'notes://work/plan' })).contents[0]).toMatchObject({ text: 'q3' });
        await expect(client.readResource({ uri: 'notes://plan' })).rejects.toThrow();
      });
    } finally {
      await server.close();
    }
  });
});

describe('examples/fan-out.ts', () => {
  it('returns what was found and names what failed', async () => {
    const lookup = async (key: string, signal: AbortSignal) => {
      signal.throwIfAborted();
      if (key === 'missing') throw new Error('not found');
      return key.toUpperCase();
    };
    const server = await started([fanOut(lookup)]);
    try {
      const result = await withClient(server, { era: 'modern' }, (client) =>
        client.callTool({ name: 'lookup_all', arguments: { keys: ['a', 'missing', 'b'] } }),
      );
      expect(result.structuredContent).toEqual({ found: { a: 'A', b: 'B' }, failed: ['missing: not found'] });
    } finally {
      await server.close();
    }
  });
});

describe('examples/server.ts', () => {
  const bundle = join(scratch, 'server.mjs');

  it('bundles and runs over stdio with the official client', async () => {
    await build({
      entryPoints: [join(import.meta.dirname, '..', 'examples', 'server.ts')],
      outfile: bundle,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      conditions: ['@trellis/source', 'node'],
      logLevel: 'silent',
      // As the apps' build: `?raw` imports (the telemetry status page) become strings.
      plugins: [rawText],
      // CommonJS dependencies (pino) call require(), which an ES module lacks.
      banner: {
        js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
      },
    });

    const help = spawnSync(process.execPath, [bundle, '--help'], { encoding: 'utf8' });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain('GREETING');

    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [bundle],
      env: { PATH: process.env.PATH ?? '', GREETING: 'Hi', LOG_LEVEL: 'warn' },
    });
    const client = new Client({ name: 'docs-test', version: '0.0.0' });
    try {
      await client.connect(transport);
      const result = await client.callTool({ name: 'greet', arguments: { name: 'Ada' } });
      expect(result.structuredContent).toEqual({ greeting: 'Hi, Ada!' });
      const refused = await client.callTool({ name: 'greet', arguments: { name: 'nobody' } });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toContain('There is nobody to greet');
    } finally {
      await client.close();
    }
  });
});
