import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bundle = join(import.meta.dirname, '..', 'dist', 'main.js');

let upstream: Server;
let origin: string;
let hostPort: string;
const hits: string[] = [];

beforeAll(async () => {
  upstream = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/missing') return void res.writeHead(404).end('no');
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`hello from ${req.url}`);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const { port } = upstream.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  hostPort = `127.0.0.1:${port}`;
});
afterAll(async () => {
  upstream.closeAllConnections();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

function textOf(result: { content?: unknown }): string {
  return ((result.content ?? []) as Array<{ type: string; text?: string }>).map((block) => block.text ?? '').join('\n');
}

async function connect(era: 'legacy' | 'modern', env: Record<string, string>): Promise<Client> {
  const client = new Client(
    { name: 'fetch-app-test', version: '0.0.0' },
    era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {},
  );
  await client.connect(
    new StdioClientTransport({ command: process.execPath, args: [bundle], env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'error', ...env }, stderr: 'ignore' }),
  );
  return client;
}

describe('trellis-fetch bundle', () => {
  it('is built', () => {
    expect(existsSync(bundle)).toBe(true);
  });

  describe.each(['legacy', 'modern'] as const)('over stdio (%s)', (era) => {
    it('lists the tools and the settings resource', async () => {
      const client = await connect(era, { HTTP_ALLOW_HOSTS: hostPort });
      try {
        const { tools } = await client.listTools();
        expect(tools.map((tool) => tool.name).sort()).toEqual(['bulk_fetch', 'http_get']);
        const settings = await client.readResource({ uri: 'config://settings' });
        expect(JSON.stringify(settings.contents)).toContain(hostPort);
      } finally {
        await client.close();
      }
    });

    it('fetches an allow-listed local server and refuses non-public destinations', async () => {
      const client = await connect(era, { HTTP_ALLOW_HOSTS: hostPort });
      hits.length = 0;
      try {
        const ok = await client.callTool({ name: 'http_get', arguments: { url: `${origin}/page` } });
        expect(ok.isError).toBeFalsy();
        expect(textOf(ok)).toContain('hello from /page');
        for (const url of ['http://169.254.169.254/latest/meta-data/', `http://localhost:${new URL(origin).port}/secret`, 'http://2130706433/secret']) {
          const refused = await client.callTool({ name: 'http_get', arguments: { url } });
          expect(refused.isError, url).toBe(true);
          expect(textOf(refused), url).toContain('SSRF_BLOCKED');
        }
        const bulk = await client.callTool({ name: 'bulk_fetch', arguments: { urls: [`${origin}/a`, 'http://10.0.0.1/', `${origin}/missing`] } });
        expect(bulk.isError).toBeFalsy();
        expect(textOf(bulk)).toMatch(/^Fetched 2 of 3 URLs \(1 failed\)\./);
        expect((bulk.structuredContent as { results: Array<{ status?: number; error?: { code: string } }> }).results.map((r) => r.error?.code ?? r.status)).toEqual([200, 'SSRF_BLOCKED', 404]);
      } finally {
        await client.close();
      }
      expect(hits.sort()).toEqual(['/a', '/missing', '/page']);
    });
  });

  it('refuses to start with a malformed allow-list, naming the entry', () => {
    const result = spawnSync(process.execPath, [bundle], { env: { PATH: process.env.PATH ?? '', HTTP_ALLOW_HOSTS: 'http://bad/' }, input: '', encoding: 'utf8', timeout: 15_000 });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('HTTP_ALLOW_HOSTS');
    expect(result.stderr).toContain('http://bad/');
  });
});
