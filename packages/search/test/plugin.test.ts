import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createServer, definePlugin, type TrellisServer } from '@trellis/server';
import { connectInProcess } from '@trellis/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { search, searchIndexKey, type SearchIndexService, type SearchStats } from '../src/index.js';
import { makeCorpus, SAMPLE_CORPUS } from './fixtures.js';

const corpus = makeCorpus(SAMPLE_CORPUS);
afterAll(() => corpus.remove());

function serverWith(env: Record<string, string> = {}, extra: ReturnType<typeof definePlugin>[] = []): TrellisServer {
  return createServer({
    name: 'test',
    version: '0.0.0',
    plugins: [search({ paths: [corpus.dir] }), ...extra],
    configSources: { argv: [], env: { LOG_LEVEL: 'silent', ...env }, envFiles: [] },
  });
}

describe.each(['legacy', 'modern'] as const)('search plugin through a real client (%s)', (era) => {
  let server: TrellisServer;
  let connection: Awaited<ReturnType<typeof connectInProcess>>;
  beforeAll(async () => {
    server = serverWith();
    await server.start();
    connection = await connectInProcess(server, { era });
  });
  afterAll(async () => {
    await connection.close();
    await server.close();
  });

  it('returns ranked structured results with snippets and readable text', async () => {
    const result = await connection.client.callTool({ name: 'search', arguments: { query: 'task group' } });
    expect(result.isError).toBeFalsy();
    const structured = result.structuredContent as {
      total: number;
      results: { path: string; uri: string; snippet: string; score: number; date: string; title: string }[];
    };
    expect(structured.total).toBe(2);
    expect(structured.results[0]).toMatchObject({
      path: 'guides/task-groups.md',
      title: 'Task groups',
      uri: 'search://docs/guides/task-groups.md',
      date: '2026-03-01T00:00:00.000Z',
    });
    expect(structured.results[0]!.snippet).toContain('task group');
    const [first] = result.content as { type: string; text: string }[];
    expect(first!.text).toContain('2 of 2 results for "task group"');
    expect(result.content).toContainEqual(
      expect.objectContaining({ type: 'resource_link', uri: 'search://docs/guides/task-groups.md' }),
    );
  });

  it('indexes text files, skips dot folders, node_modules and other extensions', async () => {
    const result = await connection.client.callTool({ name: 'search', arguments: { query: 'zebras' } });
    expect((result.structuredContent as { results: { path: string }[] }).results.map((r) => r.path)).toEqual([
      'notes.txt',
    ]);
    const stats = await connection.client.callTool({ name: 'search', arguments: { query: 'group', limit: 100 } });
    expect((stats.structuredContent as { results: { path: string }[] }).results.map((r) => r.path)).toEqual([
      'guides/task-groups.md',
    ]);
  });

  it('filters and sorts', async () => {
    const call = async (args: Record<string, unknown>) =>
      (
        (await connection.client.callTool({ name: 'search', arguments: args })).structuredContent as {
          results: { path: string }[];
        }
      ).results.map((r) => r.path);
    expect(await call({ query: 'tasks', sort_by: 'date' })).toEqual(['guides/task-groups.md', 'guides/semaphores.md']);
    expect(await call({ query: 'tasks', sort_by: 'title' })).toEqual(['guides/semaphores.md', 'guides/task-groups.md']);
    expect(await call({ query: 'tasks', filters: { modified_after: '2025-06-01' } })).toEqual([
      'guides/task-groups.md',
    ]);
    expect(await call({ query: 'tasks', filters: { tags: ['concurrency'], path_prefix: 'guides/sem' } })).toEqual([
      'guides/semaphores.md',
    ]);
    expect(await call({ query: 'redacted', limit: 1 })).toEqual(['reference/config.md']);
  });

  it('refuses bad arguments with messages that say what to fix', async () => {
    const refuse = async (args: Record<string, unknown>) => {
      const result = await connection.client.callTool({ name: 'search', arguments: args });
      expect(result.isError).toBe(true);
      return (result.content as { text: string }[])[0]!.text;
    };
    expect(await refuse({ query: ' padded' })).toMatch(/query: must not start or end with whitespace/);
    expect(await refuse({ query: '' })).toMatch(/query/);
    expect(await refuse({ query: 'x'.repeat(501) })).toMatch(/query/);
    expect(await refuse({ query: 'ok', limit: 0 })).toMatch(/limit/);
    expect(await refuse({ query: 'ok', limit: 101 })).toMatch(/limit/);
    expect(await refuse({ query: 'ok', sort_by: 'size' })).toMatch(/sort_by/);
    expect(await refuse({ query: 'ok', filters: { modified_after: 'yesterday' } })).toMatch(
      /filters\.modified_after: expected an ISO 8601 date like 2026-01-31 or a date-time with an offset like 2026-01-31T09:30:00Z, got "yesterday"/,
    );
  });

  it('says so when nothing matches', async () => {
    const result = await connection.client.callTool({ name: 'search', arguments: { query: 'quantum chromodynamics' } });
    expect(result.structuredContent).toMatchObject({ total: 0, results: [] });
    expect((result.content as { text: string }[])[0]!.text).toMatch(/No documents match/);
  });

  it('serves each indexed document as a resource, with completion of its path', async () => {
    const read = await connection.client.readResource({ uri: 'search://docs/guides/semaphores.md' });
    expect(read.contents[0]).toMatchObject({ mimeType: 'text/markdown' });
    const notes = await connection.client.readResource({ uri: 'search://docs/notes.txt' });
    expect(notes.contents[0]).toMatchObject({
      mimeType: 'text/plain',
      text: 'Plain text notes about zebras and their stripes.',
    });
    const { resources } = await connection.client.listResources();
    expect(resources.find((r) => r.uri === 'search://docs/notes.txt')).toMatchObject({ mimeType: 'text/plain' });
    expect((read.contents[0] as { text: string }).text).toContain('A semaphore limits');
    await expect(connection.client.readResource({ uri: 'search://docs/nope.md' })).rejects.toThrow(
      /No indexed document|not found/i,
    );
    const completion = await connection.client.complete({
      ref: { type: 'ref/resource', uri: 'search://docs/{+path}' },
      argument: { name: 'path', value: 'guides/' },
    });
    expect(completion.completion.values).toEqual(['guides/semaphores.md', 'guides/task-groups.md']);
  });
});

describe('search plugin set-up', () => {
  it('offers index statistics to plugins that depend on it', async () => {
    let stats: SearchStats | undefined;
    const consumer = definePlugin({
      name: 'consumer',
      dependsOn: ['search'],
      setup: (scope) => void (stats = scope.service(searchIndexKey).stats()),
    });
    const server = serverWith({}, [consumer]);
    await server.start();
    try {
      expect(stats).toMatchObject({ documents: 4, roots: [corpus.dir], skipped: [] });
      expect(stats!.buildMs).toBeGreaterThanOrEqual(0);
    } finally {
      await server.close();
    }
  });

  it('reads SEARCH_PATHS over the default and reports oversized files as skipped', async () => {
    const other = makeCorpus({ 'only.md': '# Only\n\nunique words', 'big.md': `# Big\n\n${'x'.repeat(2000)}` });
    let stats: SearchStats | undefined;
    const consumer = definePlugin({
      name: 'consumer',
      dependsOn: ['search'],
      setup: (scope) => void (stats = scope.service(searchIndexKey).stats()),
    });
    const server = serverWith({ SEARCH_PATHS: `${other.dir},${corpus.dir}`, SEARCH_MAX_FILE_BYTES: '1000' }, [
      consumer,
    ]);
    await server.start();
    try {
      expect(stats!.documents).toBe(5);
      expect(stats!.skipped).toEqual([{ path: expect.stringMatching(/big\.md$/), reason: 'larger than 1000 bytes' }]);
      const results = server.services.get(searchIndexKey.id)!.value as {
        search(q: string): { hits: { path: string }[] };
      };
      expect(results.search('unique').hits[0]!.path).toMatch(/^trellis-search-.*\/only\.md$/);
    } finally {
      await server.close();
      other.remove();
    }
  });

  it('fails to start, naming SEARCH_PATHS, when a directory is missing or none is given', async () => {
    await expect(serverWith({ SEARCH_PATHS: '/nonexistent/trellis-docs' }).start()).rejects.toThrow(
      /SEARCH_PATHS: "\/nonexistent\/trellis-docs" is not a directory/,
    );
    const empty = createServer({
      name: 't',
      version: '0',
      plugins: [search()],
      configSources: { argv: [], env: { LOG_LEVEL: 'silent' }, envFiles: [] },
    });
    await expect(empty.start()).rejects.toThrow(/SEARCH_PATHS is empty/);
  });
});

describe('search plugin: nested roots and re-indexing', () => {
  it('indexes a file once when one root holds another', async () => {
    const server = serverWith({ SEARCH_PATHS: `${corpus.dir},${join(corpus.dir, 'guides')}` });
    await server.start();
    try {
      const index = server.services.get(searchIndexKey.id)!.value as SearchIndexService;
      expect(index.stats().documents).toBe(4);
      expect(index.search('semaphore').hits.map((h) => h.path)).toEqual([
        `${basename(corpus.dir)}/guides/semaphores.md`,
      ]);
    } finally {
      await server.close();
    }
  });

  it('re-indexes on demand with progress, and an aborted re-index leaves the index as it was', async () => {
    const live = makeCorpus({ 'a.md': '# Alpha\n\napples', 'b.md': '# Beta\n\nbananas' });
    const server = createServer({
      name: 'test',
      version: '0.0.0',
      plugins: [search({ paths: [live.dir] })],
      configSources: { argv: [], env: { LOG_LEVEL: 'silent', SEARCH_REINDEX_INTERVAL_MS: '0' }, envFiles: [] },
    });
    await server.start();
    try {
      const index = server.services.get(searchIndexKey.id)!.value as SearchIndexService;
      writeFileSync(join(live.dir, 'c.md'), '# Gamma\n\ncherries');
      const aborted = new AbortController();
      aborted.abort(new Error('stop'));
      await expect(index.reindex({ signal: aborted.signal })).rejects.toThrow('stop');
      expect(index.search('cherries').total).toBe(0);
      const progress: { done: number; total: number }[] = [];
      const report = await index.reindex({ onProgress: (p) => progress.push(p) });
      expect(report).toMatchObject({ documents: 3, changed: ['c.md'] });
      expect(progress.at(-1)).toEqual({ done: 3, total: 3 });
      expect(index.search('cherries').hits.map((h) => h.path)).toEqual(['c.md']);
    } finally {
      await server.close();
      live.remove();
    }
  });

  it('picks up changed files on its own every SEARCH_REINDEX_INTERVAL_MS, tells subscribers, and stops at close', async () => {
    const live = makeCorpus({ 'a.md': '# Alpha\n\napples' });
    const server = createServer({
      name: 'test',
      version: '0.0.0',
      plugins: [search({ paths: [live.dir] })],
      configSources: { argv: [], env: { LOG_LEVEL: 'silent', SEARCH_REINDEX_INTERVAL_MS: '50' }, envFiles: [] },
    });
    await server.start();
    const { client, close } = await connectInProcess(server, { era: 'legacy' });
    try {
      const updated = new Promise<string>((resolve) => {
        client.setNotificationHandler('notifications/resources/updated', (n) => resolve(n.params.uri));
      });
      await client.subscribeResource({ uri: 'search://docs/a.md' });
      writeFileSync(join(live.dir, 'a.md'), '# Alpha\n\napples and apricots');
      await expect(updated).resolves.toBe('search://docs/a.md');
      const found = await client.callTool({ name: 'search', arguments: { query: 'apricot' } });
      expect((found.structuredContent as { total: number }).total).toBe(1);
    } finally {
      await close();
      const closing = performance.now();
      await server.close();
      expect(performance.now() - closing).toBeLessThan(2_000);
      live.remove();
    }
  });
});
