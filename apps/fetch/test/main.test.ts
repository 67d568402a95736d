import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import {
  CLIENT_KINDS,
  connectBundle,
  copyDistAlone,
  inspectorCli,
  prepareInspector,
  runBundle,
  startHttpBundle,
  type BundleConnection,
  type ClientKind,
  type HttpBundle,
} from '@trellis/testing/apps';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textOf } from '@trellis/testing';

const dist = join(import.meta.dirname, '..', 'dist');
const bundle = join(dist, 'main.js');

let upstream: Server;
let origin: string;
let hostPort: string;
const hits: string[] = [];
/** One HTTP app for the whole file, allowed to reach the local upstream. */
let http: HttpBundle;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url?.endsWith('/missing')) return void res.writeHead(404).end('no');
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`hello from ${req.url}`);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const { port } = upstream.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  hostPort = `127.0.0.1:${port}`;
  http = await startHttpBundle({ bundle, env: { HTTP_ALLOW_HOSTS: hostPort, LOG_LEVEL: 'error' } });
});
afterAll(async () => {
  await http?.stop();
  upstream.closeAllConnections();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

function connect(transport: 'stdio' | 'http', kind: ClientKind): Promise<BundleConnection> {
  return transport === 'stdio'
    ? connectBundle({ bundle, transport, client: kind, env: { HTTP_ALLOW_HOSTS: hostPort, LOG_LEVEL: 'error' } })
    : connectBundle({ transport, client: kind, url: http.url });
}

// v1 is @modelcontextprotocol/sdk 1.32.2; v2 the 2025 handshake; v2-modern pins 2026-07-28.
const MATRIX = (['stdio', 'http'] as const).flatMap((transport) =>
  CLIENT_KINDS.map((kind) => [transport, kind] as const),
);

describe('trellis-fetch bundle', () => {
  it('is built', () => {
    expect(existsSync(bundle)).toBe(true);
  });

  describe.each(MATRIX)('over %s with the %s client', (transport, kind) => {
    it('lists the tools and the settings resource', async () => {
      const client = await connect(transport, kind);
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
      // One HTTP app serves every client and caches successful GETs: a path of its own per case.
      const path = `/${transport}-${kind}`;
      const client = await connect(transport, kind);
      hits.length = 0;
      try {
        const ok = await client.callTool({ name: 'http_get', arguments: { url: `${origin}${path}/page` } });
        expect(ok.isError).toBeFalsy();
        expect(textOf(ok)).toContain(`hello from ${path}/page`);
        for (const url of [
          'http://169.254.169.254/latest/meta-data/',
          `http://localhost:${new URL(origin).port}/secret`,
          'http://2130706433/secret',
        ]) {
          const refused = await client.callTool({ name: 'http_get', arguments: { url } });
          expect(refused.isError, url).toBe(true);
          expect(textOf(refused), url).toContain('SSRF_BLOCKED');
        }
        const bulk = await client.callTool({
          name: 'bulk_fetch',
          arguments: { urls: [`${origin}${path}/a`, 'http://10.0.0.1/', `${origin}${path}/missing`] },
        });
        expect(bulk.isError).toBeFalsy();
        expect(textOf(bulk)).toMatch(/^Fetched 2 of 3 URLs \(1 failed\)\./);
        expect(
          (bulk.structuredContent as { results: Array<{ status?: number; error?: { code: string } }> }).results.map(
            (r) => r.error?.code ?? r.status,
          ),
        ).toEqual([200, 'SSRF_BLOCKED', 404]);
      } finally {
        await client.close();
      }
      expect(hits.sort()).toEqual([`${path}/a`, `${path}/missing`, `${path}/page`]);
    });
  });

  it('answers /healthz on HTTP', async () => {
    expect((await fetch(`${http.base}/healthz`)).status).toBe(200);
  });

  it('refuses to start with a malformed allow-list, naming the entry', () => {
    const result = runBundle(bundle, [], { HTTP_ALLOW_HOSTS: 'http://bad/' }, 15_000);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('HTTP_ALLOW_HOSTS');
    expect(result.stderr).toContain('http://bad/');
  });
});

describe('the MCP Inspector CLI (on the isolated Node 22)', () => {
  beforeAll(async () => {
    await prepareInspector();
  }, 600_000);

  it('lists the tools and fetches the allow-listed server over stdio', async () => {
    const stdio = (...args: string[]) =>
      inspectorCli([process.execPath, bundle, ...args], {
        serverEnv: { HTTP_ALLOW_HOSTS: hostPort, LOG_LEVEL: 'error' },
      });
    const listed = await stdio('--method', 'tools/list');
    expect((listed.json.tools as { name: string }[]).map((t) => t.name).sort()).toEqual(['bulk_fetch', 'http_get']);
    const called = await stdio(
      '--method',
      'tools/call',
      '--tool-name',
      'http_get',
      '--tool-arg',
      `url=${origin}/inspector-stdio`,
    );
    expect(called.json.isError).toBeFalsy();
    expect(textOf(called.json)).toContain('hello from /inspector-stdio');
  }, 180_000);

  it('lists the tools and fetches the allow-listed server over HTTP', async () => {
    const overHttp = (...args: string[]) => inspectorCli([http.url, '--transport', 'http', ...args]);
    const listed = await overHttp('--method', 'tools/list');
    expect((listed.json.tools as { name: string }[]).map((t) => t.name).sort()).toEqual(['bulk_fetch', 'http_get']);
    const called = await overHttp(
      '--method',
      'tools/call',
      '--tool-name',
      'http_get',
      '--tool-arg',
      `url=${origin}/inspector-http`,
    );
    expect(textOf(called.json)).toContain('hello from /inspector-http');
  }, 180_000);
});

describe('dist/ copied alone into an empty folder', () => {
  it('runs with only Node and fetches the allow-listed server', async () => {
    const copy = copyDistAlone(dist, 'trellis-fetch-alone-');
    try {
      const env = { HTTP_ALLOW_HOSTS: hostPort, LOG_LEVEL: 'error', PATH: dirname(process.execPath) };
      const client = await connectBundle({ bundle: copy.main, cwd: copy.home, transport: 'stdio', client: 'v2', env });
      try {
        const ok = await client.callTool({ name: 'http_get', arguments: { url: `${origin}/alone` } });
        expect(ok.isError).toBeFalsy();
        expect(textOf(ok)).toContain('hello from /alone');
      } finally {
        await client.close();
      }
    } finally {
      copy.remove();
    }
  });
});
