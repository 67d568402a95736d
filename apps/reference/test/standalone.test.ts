import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { copyDistAlone } from '@trellis/testing/apps';
import { afterAll, describe, expect, it } from 'vitest';
import { connectCopy, DIST, exerciseReferenceServer } from './helpers.js';

// dist/ copied alone into an empty folder, far from the workspace and its node_modules.
const copy = copyDistAlone(DIST, 'trellis-reference-alone-');
afterAll(() => copy.remove());

describe('dist/ copied alone into an empty folder', () => {
  it("holds only the bundle and the files it loads: assets, chunks (code loaded on demand), the start's scripts and code cache, the declared workers and the pool library's worker", () => {
    const files = readdirSync(copy.dist).sort();
    expect(files.filter((f) => !f.startsWith('chunk-'))).toEqual([
      'corpus',
      'main.js',
      'samples',
      'start',
      'worker.js',
      'workers',
    ]);
    expect(files.filter((f) => f.startsWith('chunk-')).every((f) => f.endsWith('.js'))).toBe(true);
    // Each module main.js runs as a script (main and every chunk); a code cache for those a start runs.
    const start = readdirSync(join(copy.dist, 'start'));
    const scripts = start.filter((f) => f.endsWith('.cjs')).map((f) => f.replace(/\.cjs$/, '.js'));
    expect(scripts.sort()).toEqual(['main.js', ...files.filter((f) => f.startsWith('chunk-'))].sort());
    expect(start.filter((f) => !f.endsWith('.cjs')).every((f) => f.endsWith('.cache'))).toBe(true);
    expect(start).toContain('main.cache');
    expect(readdirSync(join(copy.dist, 'workers'))).toEqual(['hash-file.js']);
  });

  it('runs with only Node over stdio: search answers from the shipped corpus and FILES_ROOT defaults to the shipped samples', async () => {
    // No workspace on the way: the folder is the working directory and the environment is bare.
    const client = await connectCopy(copy);
    try {
      await exerciseReferenceServer(client, copy.dist);
      const { resources } = await client.listResources();
      expect(resources.map((r) => r.uri)).toContain(`file://${join(copy.dist, 'samples', 'README.md')}`);
      const read = await client.readResource({ uri: 'search://docs/docs/architecture.md' });
      expect(read.contents[0]!.text!.length).toBeGreaterThan(100);
    } finally {
      await client.close();
    }
  });
});
