import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JSON_HEADERS, modernCall, startApp, type TestApp } from './fixtures/http-harness.js';
import { buildFixture, RawChild } from './fixtures/stdio-harness.js';

const apps: TestApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.stop();
});

async function app(options: Parameters<typeof startApp>[0] = {}) {
  const started = await startApp(options);
  apps.push(started);
  return started;
}

const MiB = 1024 * 1024;

describe('oversized bodies (server in its own process)', () => {
  let child: RawChild;
  let url: string;
  beforeAll(async () => {
    const fixture = await buildFixture();
    child = new RawChild(fixture, ['--transport', 'http', '--port', '0'], { LOG_LEVEL: 'warn' });
    await child.stderrIncludes('"mcpServers"');
    url = /serving MCP on (http:\/\/\S+)/.exec(child.stderr)![1]!;
  });
  afterAll(async () => {
    child.child.kill('SIGTERM');
    await child.exit;
  });

  it('answers Node fetch with a readable 413 for bodies from the limit to 32 MiB, then keeps serving', async () => {
    const limit = 4 * MiB;
    for (const size of [limit + 1, limit + 512 * 1024, 8 * MiB, 16 * MiB, 32 * MiB]) {
      // A JSON string, as SDK clients send it.
      const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'hello', arguments: { pad: 'x'.repeat(size) } } });
      const res = await fetch(url, { method: 'POST', headers: JSON_HEADERS, body });
      expect(res.status, `${size} bytes`).toBe(413);
      expect(res.headers.get('connection')).toBe('close');
      expect(await res.json()).toMatchObject({ error: { code: -32000, message: expect.stringContaining(`exceeds ${limit} bytes`) } });
    }
    const call = modernCall('hello');
    const after = await fetch(url, { method: 'POST', headers: call.headers, body: call.body });
    expect(after.status).toBe(200);
    expect(await after.text()).toContain('hello');
  });
});

/** A raw connection to the transport's port, for clients that misbehave on purpose. */
function rawSocket(url: string): Promise<{ socket: Socket; received: () => string; closed: Promise<number> }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let text = '';
    const socket = connect({ host: hostname, port: Number(port) }, () => resolve({ socket, received: () => text, closed }));
    const closed = new Promise<number>((done) => socket.on('close', () => done(Date.now() - started)));
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', () => undefined);
    socket.once('error', reject);
  });
}

describe('slow and endless clients', () => {
  it('cuts a body dribbled a byte at a time once the request timeout passes (408), and a slow header too', async () => {
    const { http } = await app({ requestTimeoutMs: 1_500, headersTimeoutMs: 1_000 });
    const { socket, received, closed } = await rawSocket(http.url);
    socket.write(`POST /mcp HTTP/1.1\r\nHost: ${new URL(http.url).host}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`);
    const dribble = setInterval(() => socket.writable && socket.write(' '), 100);
    try {
      // Cut after ~1.5 s (+ Node's check interval); without the timeout it would hold for 5 minutes.
      expect(await closed).toBeLessThan(8_000);
      expect(received()).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      clearInterval(dribble);
    }

    const slowHeaders = await rawSocket(http.url);
    slowHeaders.socket.write('POST /mcp HTTP/1.1\r\n');
    const headerDribble = setInterval(() => slowHeaders.socket.writable && slowHeaders.socket.write('X-Slow: 1\r\n'), 100);
    try {
      expect(await slowHeaders.closed).toBeLessThan(8_000);
    } finally {
      clearInterval(headerDribble);
    }
  });

  it('stops discarding an endless refused body at maxDrainBytes and closes the connection', async () => {
    const { http } = await app({ maxBodyBytes: 1024, maxDrainBytes: 256 * 1024 });
    const { socket, received, closed } = await rawSocket(http.url);
    socket.write(`POST /mcp HTTP/1.1\r\nHost: ${new URL(http.url).host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const chunk = `10000\r\n${'x'.repeat(0x10000)}\r\n`;
    let sent = 0;
    const pump = setInterval(() => {
      for (let i = 0; i < 4 && socket.writable; i++) {
        socket.write(chunk);
        sent += 0x10000;
      }
    }, 5);
    try {
      await closed;
    } finally {
      clearInterval(pump);
    }
    expect(received()).toMatch(/^HTTP\/1\.1 413/);
    expect(received()).toContain('exceeds 1024 bytes');
    // Bounded by the drain budget (plus what sat in socket buffers), not by the client's patience.
    expect(sent).toBeLessThan(64 * MiB);
  });
});

describe('HTTP timeout options', () => {
  it('validates them and maps the configuration', async () => {
    const { resolveHttpOptions, httpOptionsFromConfig } = await import('../src/http/options.js');
    const defaults = resolveHttpOptions({});
    expect(defaults).toMatchObject({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 });
    expect(() => resolveHttpOptions({ headersTimeoutMs: 20_000, requestTimeoutMs: 5_000 })).toThrow(/headersTimeoutMs \(20000\) must not exceed requestTimeoutMs \(5000\)/);
    expect(() => resolveHttpOptions({ requestTimeoutMs: 0 })).toThrow(/requestTimeoutMs must be an integer/);
    expect(resolveHttpOptions({ requestTimeoutMs: 4_000 }).headersTimeoutMs).toBe(4_000);
    expect(httpOptionsFromConfig({ REQUEST_TIMEOUT_MS: 1_000, HEADERS_TIMEOUT_MS: 500, KEEP_ALIVE_TIMEOUT_MS: 2_000 })).toMatchObject({ requestTimeoutMs: 1_000, headersTimeoutMs: 500, keepAliveTimeoutMs: 2_000 });
  });
});
