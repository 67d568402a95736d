import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connectBundle, copyDistAlone, startHttpBundle } from '@trellis/testing/apps';
import { afterAll, describe, expect, it } from 'vitest';
import { connectCopy, DIST, SERVER_ENV } from './helpers.js';

// The seeds' background patterns, from dist/ copied alone into an empty folder.
const copy = copyDistAlone(DIST, 'trellis-reference-patterns-');
afterAll(() => copy.remove());

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`nothing after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("the seeds' background patterns in the reference bundle", () => {
  it('over stdio: re-indexes changed files on its own, and the hash_file follow-up is written before the process ends', async () => {
    const audit = join(copy.home, 'audit.log');
    const env = { ...SERVER_ENV, HASH_AUDIT_LOG: audit, SEARCH_REINDEX_INTERVAL_MS: '100' };
    const client = await connectCopy(copy, env);
    try {
      const before = await client.callTool({ name: 'search', arguments: { query: 'parsnip' } });
      expect((before.structuredContent as { total: number }).total).toBe(0);
      // A periodic job notices the new file and rebuilds the index; stemming finds "Parsnips" for "parsnip".
      writeFileSync(join(copy.dist, 'corpus', 'garden.md'), '# Parsnips\n\nGrowing parsnips on a balcony.');
      const hit = await until(async () => {
        const found = await client.callTool({ name: 'search', arguments: { query: 'parsnip' } });
        const results = (found.structuredContent as { results: { path: string }[] }).results;
        return results.length > 0 ? results : undefined;
      });
      expect(hit.map((r) => r.path)).toEqual(['garden.md']);

      const readme = join(copy.dist, 'samples', 'README.md');
      const hashed = await client.callTool({ name: 'hash_file', arguments: { path: readme } });
      expect((hashed.structuredContent as { sha256: string }).sha256).toBe(
        createHash('sha256').update(readFileSync(readme)).digest('hex'),
      );
    } finally {
      await client.close();
    }
    // Closing stdin ends the server; the fire-and-forget audit write was drained first.
    const lines = await until(async () => {
      const text = (() => {
        try {
          return readFileSync(audit, 'utf8');
        } catch {
          return '';
        }
      })();
      return text.trim() ? text.trim().split('\n') : undefined;
    }, 10_000);
    expect(lines.map((line) => JSON.parse(line) as { uri: string }).map((entry) => entry.uri)).toEqual([
      expect.stringMatching(/\/samples\/README\.md$/),
    ]);
  });

  it('over HTTP: hashes on a worker, and shuts down cleanly (periodic job stopped, pool closed) on SIGTERM', async () => {
    const server = await startHttpBundle({
      bundle: copy.main,
      cwd: copy.home,
      env: { ...SERVER_ENV, SEARCH_REINDEX_INTERVAL_MS: '100' },
    });
    try {
      const client = await connectBundle({ transport: 'http', client: 'v2-modern', url: server.url });
      try {
        const csv = join(copy.dist, 'samples', 'data', 'cities.csv');
        const hashed = await client.callTool({ name: 'hash_file', arguments: { path: csv } });
        expect(hashed.isError).toBeFalsy();
        expect((hashed.structuredContent as { bytes: number }).bytes).toBe(readFileSync(csv).length);
        const outside = await client.callTool({ name: 'hash_file', arguments: { path: '/etc/passwd' } });
        expect(outside.isError).toBe(true);
        expect(outside.content?.[0]?.text).toMatch(/outside the allowed roots/);
      } finally {
        await client.close();
      }
    } finally {
      const started = performance.now();
      expect(await server.stop()).toBe(0);
      expect(performance.now() - started).toBeLessThan(10_000);
    }
  });
});
