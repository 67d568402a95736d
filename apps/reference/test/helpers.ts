import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connectBundle, type AppClient, type BundleConnection } from '@trellis/testing/apps';
import { expect } from 'vitest';
import { textOf } from '@trellis/testing';

export const APP_DIR = join(import.meta.dirname, '..');
export const DIST = join(APP_DIR, 'dist');
export const BUNDLE = join(DIST, 'main.js');
/** Long enough to be a real key, and easy to spot if it ever leaks. */
export const SECRET = 'leak-canary-0123456789-abcdefghijklmnop';
/** The environment every server under test runs with: quiet logs, a secret to redact. */
export const SERVER_ENV = { LOG_LEVEL: 'warn', NO_COLOR: '1', REQUEST_STATE_SECRET: SECRET };

/** A stdio client of a `dist/` copied alone (`copyDistAlone`), started in its folder with `env`. */
export function connectCopy(
  copy: { main: string; home: string },
  env: Record<string, string> = SERVER_ENV,
): Promise<BundleConnection> {
  return connectBundle({ bundle: copy.main, cwd: copy.home, transport: 'stdio', client: 'v2', env });
}

/**
 * Everything the reference server serves, through one client: tools (listed
 * and called), config://settings (secrets redacted), a sample file, an escape
 * refused, and the code_review prompt with completion.
 */
export async function exerciseReferenceServer(client: AppClient, dist = DIST): Promise<void> {
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name)).toEqual(
    expect.arrayContaining(['add_numbers', 'hash_file', 'search', 'server_dashboard']),
  );

  // CPU work on a worker thread, from the worker file the bundle ships in dist/workers/.
  const cities = join(dist, 'samples', 'data', 'cities.csv');
  const hashed = await client.callTool({ name: 'hash_file', arguments: { path: cities } });
  expect(hashed.structuredContent).toEqual({
    uri: pathToFileURL(cities).href,
    sha256: createHash('sha256').update(readFileSync(cities)).digest('hex'),
    bytes: readFileSync(cities).length,
  });

  const sum = await client.callTool({ name: 'add_numbers', arguments: { a: 2, b: 40 } });
  expect(sum.structuredContent).toEqual({ sum: 42 });
  expect(textOf(sum)).toBe('2 + 40 = 42');

  const found = await client.callTool({ name: 'search', arguments: { query: 'task group', limit: 3 } });
  const hits = (found.structuredContent as { total: number; results: { path: string; uri: string; snippet: string }[] })
    .results;
  expect(hits.length).toBeGreaterThan(0);
  expect(hits.map((h) => h.path)).toContain('packages/concurrency/README.md');
  expect(textOf(found)).toMatch(/results? for "task group"/);
  const refused = await client.callTool({ name: 'search', arguments: { query: ' task' } });
  expect(refused.isError).toBe(true);
  expect(textOf(refused)).toMatch(/must not start or end with whitespace/);

  const dashboard = await client.callTool({ name: 'server_dashboard', arguments: { timeout_ms: 5000 } });
  const data = dashboard.structuredContent as { sources: Record<string, Record<string, unknown>>; failures: unknown[] };
  expect(data.failures).toEqual([]);
  expect(Object.keys(data.sources).sort()).toEqual(['config', 'files', 'os', 'process', 'search']);
  expect(data.sources.search!.documents).toBeGreaterThan(10);
  expect(data.sources.config!.REQUEST_STATE_SECRET).toBe('[redacted]');

  const settings = await client.readResource({ uri: 'config://settings' });
  const config = JSON.parse(settings.contents[0]!.text!) as Record<string, unknown>;
  expect(config.REQUEST_STATE_SECRET).toBe('[redacted]');
  expect(config.FILES_ROOT).toEqual([join(dist, 'samples')]);
  expect(JSON.stringify([settings, dashboard])).not.toContain(SECRET);

  const csv = await client.readResource({ uri: pathToFileURL(join(dist, 'samples', 'data', 'cities.csv')).href });
  expect(csv.contents[0]!.text).toContain('Lisbon,Portugal');
  await expect(client.readResource({ uri: 'file:///etc/passwd' })).rejects.toThrow(/outside the allowed roots/);

  const prompt = await client.getPrompt({ name: 'code_review', arguments: { language: 'python', code: 'print(1)' } });
  expect((prompt.messages[0]!.content as { text: string }).text).toContain('```python\nprint(1)\n```');
  const languages = await client.complete({
    ref: { type: 'ref/prompt', name: 'code_review' },
    argument: { name: 'language', value: 'py' },
  });
  expect(languages.completion.values).toEqual(['python']);
}
