import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, describe, expect, it } from 'vitest';

// Smoke test only: every server the benchmark runs answers echo and sleep. No timing assertions.
const root = join(import.meta.dirname, '..');
const servers = {
  trellis: {
    script: join(root, 'dist', 'main.js'),
    stdio: [] as string[],
    http: ['--transport', 'http', '--port', '0'],
  },
  'sdk-v1': { script: join(root, 'baselines', 'sdk-v1.mjs'), stdio: ['--stdio'], http: ['--port', '0'] },
  'sdk-v2-sessions': {
    script: join(root, 'baselines', 'sdk-v2-sessions.mjs'),
    stdio: ['--stdio'],
    http: ['--port', '0'],
  },
  'sdk-v2-stateless': {
    script: join(root, 'baselines', 'sdk-v2-stateless.mjs'),
    stdio: undefined,
    http: ['--port', '0'],
  },
};
type Era = 'legacy' | 'modern';
const env = { PATH: process.env.PATH ?? '', LOG_LEVEL: 'error' };

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function newClient(era: Era): Client {
  return new Client(
    { name: 'bench-smoke', version: '0.0.0' },
    era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {},
  );
}

async function exercise(client: Client): Promise<void> {
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name).sort()).toEqual(['echo', 'sleep']);
  const echo = await client.callTool({ name: 'echo', arguments: { text: 'hello bench' } });
  expect(echo.content).toEqual([{ type: 'text', text: 'hello bench' }]);
  const slept = await client.callTool({ name: 'sleep', arguments: { ms: 5 } });
  expect(slept.isError).toBeFalsy();
}

/** Starts a server over HTTP on 127.0.0.1 and resolves with its URL, announced on stderr. */
function startHttp(script: string, args: string[]): Promise<{ url: string; child: ChildProcessWithoutNullStreams }> {
  const child = spawn(process.execPath, [script, ...args], { env });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  );
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      seen += chunk;
      const m = /serving MCP on (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(seen);
      if (m) resolve({ url: m[1]!, child });
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${seen}`)));
  });
}

describe('bench servers', () => {
  it('the Trellis bench bundle is built', () => {
    expect(existsSync(servers.trellis.script)).toBe(true);
  });

  const stdioCases: Array<[string, Era]> = [
    ['trellis', 'legacy'],
    ['trellis', 'modern'],
    ['sdk-v1', 'legacy'],
    ['sdk-v2-sessions', 'legacy'],
    ['sdk-v2-sessions', 'modern'],
  ];
  it.each(stdioCases)('%s answers echo and sleep over stdio (%s)', async (name, era) => {
    const server = servers[name as keyof typeof servers];
    const client = newClient(era);
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [server.script, ...(server.stdio ?? [])],
        env,
        stderr: 'ignore',
      }),
    );
    cleanups.push(() => client.close());
    await exercise(client);
  });

  const httpCases: Array<[string, Era]> = [
    ['trellis', 'legacy'],
    ['trellis', 'modern'],
    ['sdk-v1', 'legacy'],
    ['sdk-v2-sessions', 'legacy'],
    ['sdk-v2-stateless', 'modern'],
  ];
  it.each(httpCases)('%s answers echo and sleep over HTTP (%s)', async (name, era) => {
    const server = servers[name as keyof typeof servers];
    const { url } = await startHttp(server.script, server.http);
    expect(new URL(url).hostname).toBe('127.0.0.1');
    const client = newClient(era);
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    cleanups.push(() => client.close());
    await exercise(client);
  });

  it('the Trellis sleep tool stops when the client cancels it', async () => {
    const client = newClient('legacy');
    await client.connect(
      new StdioClientTransport({ command: process.execPath, args: [servers.trellis.script], env, stderr: 'ignore' }),
    );
    cleanups.push(() => client.close());
    const cancel = new AbortController();
    const call = client.callTool({ name: 'sleep', arguments: { ms: 60_000 } }, { signal: cancel.signal });
    setTimeout(() => cancel.abort(), 100);
    await expect(call).rejects.toThrow();
    const echo = await client.callTool({ name: 'echo', arguments: { text: 'still here' } });
    expect(echo.content).toEqual([{ type: 'text', text: 'still here' }]);
  });
});
