import { inspectorCli, prepareInspector, startHttpBundle, type HttpBundle } from '@trellis/testing/apps';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE, SERVER_ENV } from './helpers.js';

// The Inspector spawns the stdio server itself: the same variables, passed with -e.
const stdio = (...args: string[]) => inspectorCli([process.execPath, BUNDLE, ...args], { serverEnv: SERVER_ENV });

describe('the MCP Inspector CLI (2.12, on Node 22) against the bundle', () => {
  let http: HttpBundle;
  beforeAll(async () => {
    await prepareInspector();
    http = await startHttpBundle({ bundle: BUNDLE, env: SERVER_ENV });
  }, 600_000);
  afterAll(async () => {
    await http?.stop();
  });
  const overHttp = (...args: string[]) => inspectorCli([http.url, '--transport', 'http', ...args]);

  it('lists the tools over stdio', async () => {
    const { code, json } = await stdio('--method', 'tools/list');
    expect(code).toBe(0);
    expect((json.tools as { name: string }[]).map((t) => t.name)).toEqual(
      expect.arrayContaining(['add_numbers', 'search', 'server_dashboard']),
    );
  }, 120_000);

  it('finds nothing to flag in any tool schema with --strict (server_dashboard included)', async () => {
    const { code, json, stderr } = await stdio('--method', 'tools/list', '--strict');
    expect(code, stderr).toBe(0);
    expect((json.tools as { name: string }[]).map((t) => t.name)).toEqual(
      expect.arrayContaining(['hash_file', 'server_dashboard']),
    );
    expect(stderr).not.toMatch(/warning|error/i);
  }, 120_000);

  it('calls add_numbers and search over stdio', async () => {
    const sum = await stdio(
      '--method',
      'tools/call',
      '--tool-name',
      'add_numbers',
      '--tool-arg',
      'a=2',
      '--tool-arg',
      'b=3',
    );
    expect(sum.json.structuredContent).toEqual({ sum: 5 });
    const found = await stdio('--method', 'tools/call', '--tool-name', 'search', '--tool-arg', 'query=semaphore');
    expect((found.json.structuredContent as { total: number }).total).toBeGreaterThan(0);
  }, 120_000);

  it('lists the tools and calls server_dashboard over HTTP', async () => {
    const listed = await overHttp('--method', 'tools/list');
    expect(listed.code).toBe(0);
    expect((listed.json.tools as { name: string }[]).map((t) => t.name)).toEqual(
      expect.arrayContaining(['add_numbers', 'search', 'server_dashboard']),
    );
    const dashboard = await overHttp('--method', 'tools/call', '--tool-name', 'server_dashboard');
    expect((dashboard.json.structuredContent as { failures: unknown[] }).failures).toEqual([]);
  }, 120_000);

  it('reads config://settings over HTTP, secrets redacted', async () => {
    const { json } = await overHttp('--method', 'resources/read', '--uri', 'config://settings');
    const text = (json.contents as { text: string }[])[0]!.text;
    expect(JSON.parse(text)).toMatchObject({ REQUEST_STATE_SECRET: '[redacted]' });
    expect(text).not.toContain(SERVER_ENV.REQUEST_STATE_SECRET);
  }, 120_000);
});
