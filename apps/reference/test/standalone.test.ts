import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, describe, expect, it } from 'vitest';
import { DIST, exerciseReferenceServer, SERVER_ENV, type AnyClient } from './helpers.js';

// dist/ copied alone into an empty folder, far from the workspace and its node_modules.
const home = mkdtempSync(join(tmpdir(), 'trellis-reference-alone-'));
const dist = join(home, 'dist');
cpSync(DIST, dist, { recursive: true });
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('dist/ copied alone into an empty folder', () => {
  it('holds only the bundle and the assets it loads', () => {
    expect(readdirSync(dist).sort()).toEqual(['corpus', 'main.js', 'samples']);
  });

  it('runs with only Node over stdio: search answers from the shipped corpus and FILES_ROOT defaults to the shipped samples', async () => {
    const client = new Client({ name: 'alone', version: '0.0.0' });
    // No workspace on the way: the folder is the working directory and the environment is bare.
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [join(dist, 'main.js')], cwd: home, env: { ...SERVER_ENV }, stderr: 'ignore' }));
    try {
      await exerciseReferenceServer(client as unknown as AnyClient, dist);
      const { resources } = await client.listResources();
      expect(resources.map((r) => r.uri)).toContain(`file://${join(dist, 'samples', 'README.md')}`);
      const read = await client.readResource({ uri: 'search://docs/docs/architecture.md' });
      expect((read.contents[0] as { text: string }).text.length).toBeGreaterThan(100);
    } finally {
      await client.close();
    }
  });
});
