import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEPLOY_CONFIG,
  ensureNginx,
  findNginx,
  freePort,
  startNginx,
  trellisNginxConfig,
  type Nginx,
} from '../nginx.mjs';

type Handler = (req: IncomingMessage, res: ServerResponse, instance: number) => void;

describe('nginx for tests (tools/nginx.mjs) with the shipped deploy/nginx/trellis-mcp.conf', () => {
  const servers: Server[] = [];
  let handler: Handler = (_req, res, instance) => res.end(`instance ${instance}`);
  let lb: Nginx;

  beforeAll(async () => {
    for (let i = 0; i < 3; i += 1) {
      const server = createServer((req, res) => handler(req, res, i));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers.push(server);
    }
    const port = await freePort();
    const upstreams = servers.map((s) => `127.0.0.1:${(s.address() as { port: number }).port}`);
    lb = await startNginx({ http: trellisNginxConfig({ upstreams, listen: `127.0.0.1:${port}` }), port });
  }, 600_000);

  afterAll(async () => {
    await lb?.stop();
    for (const server of servers) server.closeAllConnections();
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  });

  it('installs (as root, when missing) Debian nginx and runs it as a child process, not the system service', () => {
    const nginx = ensureNginx();
    expect(findNginx()).toBe(nginx);
    expect(spawnSync(nginx, ['-v'], { encoding: 'utf8' }).stderr).toMatch(/nginx version: nginx\/\d+/);
    expect(spawnSync('ps', ['-o', 'ppid=', '-p', String(lb.pid)], { encoding: 'utf8' }).stdout.trim()).toBe(
      String(process.pid),
    );
    expect(lb.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('spreads requests round-robin over every instance, with no stickiness', async () => {
    handler = (_req, res, instance) => res.end(`instance ${instance}`);
    const answers: string[] = [];
    for (let i = 0; i < 6; i += 1) {
      const res = await fetch(`${lb.url}/mcp`, { method: 'POST', body: '{}', headers: { 'mcp-session-id': 'same' } });
      answers.push(await res.text());
    }
    expect(answers.slice(0, 3).sort()).toEqual(['instance 0', 'instance 1', 'instance 2']);
    expect(answers.slice(3)).toEqual(answers.slice(0, 3));
    expect(lb.accessLog()).toMatch(/^POST \/mcp 200 127\.0\.0\.1:\d+$/m);
  });

  it('passes each event of a stream on as it is written, before the stream ends', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
      // The second event (and the end) only after the client has read the first: a buffering proxy
      // would hold the first back and the read below would time out.
      void released.then(() => res.end('data: second\n\n'));
    };
    const res = await fetch(`${lb.url}/mcp`, { headers: { accept: 'text/event-stream' } });
    const reader = res.body!.getReader();
    const first = await Promise.race([
      reader.read(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('first event held back')), 5_000)),
    ]);
    expect(new TextDecoder().decode(first.value)).toContain('data: first');
    release();
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      rest += new TextDecoder().decode(chunk.value);
    expect(rest).toContain('data: second');
  });

  it('lets a body over the instances’ 4 MiB MAX_BODY_BYTES through to them, and refuses one over its own limit', async () => {
    handler = (req, res) => {
      let size = 0;
      req.on('data', (chunk: Buffer) => (size += chunk.length));
      req.on('end', () => res.writeHead(413, { 'content-type': 'application/json' }).end(JSON.stringify({ size })));
    };
    const over = Buffer.alloc(4 * 1024 * 1024 + 1024, 'a');
    const res = await fetch(`${lb.url}/mcp`, { method: 'POST', body: over });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ size: over.length });
    const huge = await fetch(`${lb.url}/mcp`, { method: 'POST', body: Buffer.alloc(6 * 1024 * 1024, 'a') });
    expect(huge.status).toBe(413);
    expect(huge.headers.get('content-type')).toMatch(/text\/html/);
  });

  it('skips an instance that refuses connections', async () => {
    handler = (_req, res, instance) => res.end(`instance ${instance}`);
    const dead = servers[1]!;
    dead.closeAllConnections();
    await new Promise((resolve) => dead.close(resolve));
    const answers = new Set<string>();
    for (let i = 0; i < 6; i += 1) {
      const res = await fetch(`${lb.url}/mcp`, { method: 'POST', body: '{}' });
      expect(res.status).toBe(200);
      answers.add(await res.text());
    }
    expect([...answers].sort()).toEqual(['instance 0', 'instance 2']);
  });
});

describe('trellisNginxConfig', () => {
  it('puts the instances and the port in place of the shipped lines, keeping their parameters', () => {
    const text = trellisNginxConfig({ upstreams: ['127.0.0.1:4001', 'backend-2:4002'], listen: '127.0.0.1:9000' });
    expect(text.match(/^\s*server \S+.*;$/gm)?.map((l) => l.trim())).toEqual([
      'server 127.0.0.1:4001 max_fails=1 fail_timeout=5s;',
      'server backend-2:4002 max_fails=1 fail_timeout=5s;',
    ]);
    expect(text).toMatch(/^\s*listen 127\.0\.0\.1:9000;$/m);
    expect(text).toContain('proxy_buffering off;');
  });

  it('is what the deployment guide quotes: each directive of its excerpt is in the shipped file', () => {
    const guide = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'guides', 'deployment.md'), 'utf8');
    const excerpt = /```nginx\n([\s\S]*?)```/.exec(guide)![1]!;
    const directive = (line: string) => line.replace(/#.*$/, '').replace(/\s+/g, ' ').trim();
    const shipped = new Set(readFileSync(DEPLOY_CONFIG, 'utf8').split('\n').map(directive));
    const quoted = excerpt
      .split('\n')
      .map(directive)
      .filter((line) => line.endsWith(';'));
    expect(quoted.length).toBeGreaterThan(10);
    expect(quoted.filter((line) => !shipped.has(line))).toEqual([]);
  });

  it('names a bad upstream, and a file without the lines it replaces', () => {
    expect(() => trellisNginxConfig({ upstreams: [] })).toThrow(/at least one upstream/);
    expect(() => trellisNginxConfig({ upstreams: ['http://x:1'] })).toThrow(/"http:\/\/x:1" is not host:port/);
    const dir = mkdtempSync(join(tmpdir(), 'trellis-nginx-test-'));
    try {
      const file = join(dir, 'other.conf');
      writeFileSync(file, 'server { listen 80; }\n');
      expect(() => trellisNginxConfig({ upstreams: ['127.0.0.1:1'], file })).toThrow(/no `upstream trellis_mcp/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a configuration nginx rejects, saying why, and leaves nothing behind', async () => {
    const port = await freePort();
    const error = await startNginx({ http: `server { listen 127.0.0.1:${port}; bogus_directive on; }`, port }).catch(
      (e: unknown) => e as Error,
    );
    expect(String(error)).toMatch(/nginx refused its configuration: .*unknown directive "bogus_directive"/s);
  });

  it('stops: the process is gone and its folder removed', async () => {
    const port = await freePort();
    const lb = await startNginx({ http: `server { listen 127.0.0.1:${port}; return 204; }`, port });
    expect((await fetch(lb.url)).status).toBe(204);
    await lb.stop();
    expect(existsSync(lb.dir)).toBe(false);
    expect(() => process.kill(lb.pid, 0)).toThrow();
    await lb.stop();
  });
});
