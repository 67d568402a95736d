import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The colleague's installer: Node 22 and the MCP Inspector in an isolated prefix (.tools/conformance).
import { ensureConformanceTools } from '../../../tools/conformance.mjs';
import { BUNDLE, SERVER_ENV, startHttp, type HttpServer } from './helpers.js';

interface Tools {
  node: string;
  inspector: string;
}

/** Runs the Inspector's CLI mode on Node 22 and parses the JSON it prints. */
function inspect(tools: Tools, args: string[]): Promise<{ code: number | null; json: Record<string, unknown>; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(tools.node, [tools.inspector, '--cli', ...args], { env: { ...process.env, ...SERVER_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      try {
        resolve({ code, json: JSON.parse(stdout) as Record<string, unknown>, stderr });
      } catch {
        reject(new Error(`the Inspector printed no JSON (exit ${code}):\n${stdout}\n${stderr}`));
      }
    });
  });
}

describe('the MCP Inspector CLI (2.12, on Node 22) against the bundle', () => {
  let tools: Tools;
  let http: HttpServer;
  beforeAll(async () => {
    tools = (await ensureConformanceTools()) as Tools;
    http = await startHttp();
  }, 600_000);
  afterAll(async () => {
    await http?.stop();
  });

  it('lists the tools over stdio', async () => {
    const { code, json } = await inspect(tools, [process.execPath, BUNDLE, '--method', 'tools/list']);
    expect(code).toBe(0);
    expect((json.tools as { name: string }[]).map((t) => t.name)).toEqual(expect.arrayContaining(['add_numbers', 'search', 'server_dashboard']));
  });

  it('calls add_numbers and search over stdio', async () => {
    const sum = await inspect(tools, [process.execPath, BUNDLE, '--method', 'tools/call', '--tool-name', 'add_numbers', '--tool-arg', 'a=2', '--tool-arg', 'b=3']);
    expect(sum.json.structuredContent).toEqual({ sum: 5 });
    const found = await inspect(tools, [process.execPath, BUNDLE, '--method', 'tools/call', '--tool-name', 'search', '--tool-arg', 'query=semaphore']);
    expect((found.json.structuredContent as { total: number }).total).toBeGreaterThan(0);
  });

  it('lists the tools and calls server_dashboard over HTTP', async () => {
    const listed = await inspect(tools, [http.url, '--transport', 'http', '--method', 'tools/list']);
    expect(listed.code).toBe(0);
    expect((listed.json.tools as { name: string }[]).map((t) => t.name)).toEqual(expect.arrayContaining(['add_numbers', 'search', 'server_dashboard']));
    const dashboard = await inspect(tools, [http.url, '--transport', 'http', '--method', 'tools/call', '--tool-name', 'server_dashboard']);
    expect((dashboard.json.structuredContent as { failures: unknown[] }).failures).toEqual([]);
  });

  it('reads config://settings over HTTP, secrets redacted', async () => {
    const { json } = await inspect(tools, [http.url, '--transport', 'http', '--method', 'resources/read', '--uri', 'config://settings']);
    const text = (json.contents as { text: string }[])[0]!.text;
    expect(JSON.parse(text)).toMatchObject({ REQUEST_STATE_SECRET: '[redacted]' });
    expect(text).not.toContain(SERVER_ENV.REQUEST_STATE_SECRET);
  });
});
