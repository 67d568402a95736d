import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'vitest';

export const APP_DIR = join(import.meta.dirname, '..');
export const DIST = join(APP_DIR, 'dist');
export const BUNDLE = join(DIST, 'main.js');
/** Long enough to be a real key, and easy to spot if it ever leaks. */
export const SECRET = 'leak-canary-0123456789-abcdefghijklmnop';
/** The environment every server under test runs with: quiet logs, a secret to redact. */
export const SERVER_ENV = { LOG_LEVEL: 'warn', NO_COLOR: '1', REQUEST_STATE_SECRET: SECRET };

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface HttpServer {
  url: string;
  output(): string;
  stop(): Promise<void>;
}

/** Runs the bundle over HTTP on 127.0.0.1 and waits for /healthz. */
export async function startHttp(bundle = BUNDLE, env: Record<string, string> = {}): Promise<HttpServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [bundle, '--transport', 'http', '--host', '127.0.0.1', '--port', String(port)], {
    env: { ...process.env, ...SERVER_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const keep = (chunk: Buffer) => void (log = (log + chunk.toString('utf8')).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  const base = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}:\n${log}`);
    const ok = await fetch(`${base}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (attempt > 300) {
      await stop();
      throw new Error(`no answer on /healthz:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url: `${base}/mcp`, output: () => log, stop };
}

/** Runs the bundle to completion (for --help and configuration errors). */
export function runBundle(args: string[], env: Record<string, string> = {}, bundle = BUNDLE) {
  return spawnSync(process.execPath, [bundle, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 30_000, stdin: 'ignore' } as never) as unknown as {
    status: number | null;
    stdout: string;
    stderr: string;
  };
}

/** What both SDK lines' clients offer, as far as these tests use it. */
export interface AnyClient {
  listTools(): Promise<{ tools: { name: string; inputSchema: unknown }[] }>;
  callTool(params: { name: string; arguments?: Record<string, unknown> }): Promise<{ content?: unknown; structuredContent?: unknown; isError?: boolean }>;
  listResources(): Promise<{ resources: { uri: string }[] }>;
  readResource(params: { uri: string }): Promise<{ contents: { uri: string; text?: string; mimeType?: string }[] }>;
  getPrompt(params: { name: string; arguments?: Record<string, string> }): Promise<{ messages: { content: unknown }[] }>;
  complete(params: { ref: { type: 'ref/prompt'; name: string }; argument: { name: string; value: string } }): Promise<{ completion: { values: string[] } }>;
}

const textOf = (result: { content?: unknown }) => (result.content as { type: string; text: string }[])[0]!.text;

/**
 * Everything the reference server serves, through one client: tools (listed
 * and called), config://settings (secrets redacted), a sample file, an escape
 * refused, and the code_review prompt with completion.
 */
export async function exerciseReferenceServer(client: AnyClient, dist = DIST): Promise<void> {
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['add_numbers', 'search', 'server_dashboard']));

  const sum = await client.callTool({ name: 'add_numbers', arguments: { a: 2, b: 40 } });
  expect(sum.structuredContent).toEqual({ sum: 42 });
  expect(textOf(sum)).toBe('2 + 40 = 42');

  const found = await client.callTool({ name: 'search', arguments: { query: 'task group', limit: 3 } });
  const hits = (found.structuredContent as { total: number; results: { path: string; uri: string; snippet: string }[] }).results;
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
  const languages = await client.complete({ ref: { type: 'ref/prompt', name: 'code_review' }, argument: { name: 'language', value: 'py' } });
  expect(languages.completion.values).toEqual(['python']);
}
