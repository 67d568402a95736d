import { createServer as createNodeServer, request as httpRequest, type Server as NodeServer } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
  initializeBody,
  JSON_HEADERS,
  modernCall,
  startApp,
  type RawResponse,
  type TestApp,
} from './fixtures/http-harness.js';
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
      const body = JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'hello', arguments: { pad: 'x'.repeat(size) } },
      });
      const res = await fetch(url, { method: 'POST', headers: JSON_HEADERS, body });
      expect(res.status, `${size} bytes`).toBe(413);
      expect(res.headers.get('connection')).toBe('close');
      expect(await res.json()).toMatchObject({
        error: { code: -32000, message: expect.stringContaining(`exceeds ${limit} bytes`) },
      });
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
    const socket = connect({ host: hostname, port: Number(port) }, () =>
      resolve({ socket, received: () => text, closed }),
    );
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
    socket.write(
      `POST /mcp HTTP/1.1\r\nHost: ${new URL(http.url).host}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`,
    );
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
    const headerDribble = setInterval(
      () => slowHeaders.socket.writable && slowHeaders.socket.write('X-Slow: 1\r\n'),
      100,
    );
    try {
      expect(await slowHeaders.closed).toBeLessThan(8_000);
    } finally {
      clearInterval(headerDribble);
    }
  });

  it('stops discarding an endless refused body at maxDrainBytes and closes the connection', async () => {
    const { http } = await app({ maxBodyBytes: 1024, maxDrainBytes: 256 * 1024 });
    const { socket, received, closed } = await rawSocket(http.url);
    socket.write(
      `POST /mcp HTTP/1.1\r\nHost: ${new URL(http.url).host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
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
    expect(() => resolveHttpOptions({ headersTimeoutMs: 20_000, requestTimeoutMs: 5_000 })).toThrow(
      /headersTimeoutMs \(20000\) must not exceed requestTimeoutMs \(5000\)/,
    );
    expect(() => resolveHttpOptions({ requestTimeoutMs: 0 })).toThrow(/requestTimeoutMs must be an integer/);
    expect(resolveHttpOptions({ requestTimeoutMs: 4_000 }).headersTimeoutMs).toBe(4_000);
    expect(
      httpOptionsFromConfig({ REQUEST_TIMEOUT_MS: 1_000, HEADERS_TIMEOUT_MS: 500, KEEP_ALIVE_TIMEOUT_MS: 2_000 }),
    ).toMatchObject({ requestTimeoutMs: 1_000, headersTimeoutMs: 500, keepAliveTimeoutMs: 2_000 });
    expect(resolveHttpOptions({ maxSessions: 50 }).maxSessionsPerClient).toBe(50);
    expect(defaults.maxSessionsPerClient).toBe(2_000);
    expect(() => resolveHttpOptions({ trustProxy: ['10.0.0.0/33'] })).toThrow(
      /trustProxy: "10.0.0.0\/33" is not an IP address, a CIDR range/,
    );
    expect(() => resolveHttpOptions({ trustProxy: ['nginx'] })).toThrow(/trustProxy: "nginx"/);
    expect(httpOptionsFromConfig({ TRUST_PROXY: ['loopback'], MAX_SESSIONS_PER_CLIENT: 7 })).toMatchObject({
      trustProxy: ['loopback'],
      maxSessionsPerClient: 7,
    });
  });

  it('finds the client address past trusted proxies only', async () => {
    const { clientAddress, trustedProxies } = await import('../src/http/client-address.js');
    const req = (remoteAddress: string, xff?: string) =>
      ({ socket: { remoteAddress }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } }) as never;
    const proxies = trustedProxies(['10.0.0.0/8', '::1']);
    expect(clientAddress(req('::ffff:203.0.113.1', '1.2.3.4'), proxies)).toBe('203.0.113.1');
    expect(clientAddress(req('10.1.1.1', '198.51.100.7, 10.2.2.2'), proxies)).toBe('198.51.100.7');
    // A client that forges hops to the left of the real one changes nothing.
    expect(clientAddress(req('10.1.1.1', '6.6.6.6, 198.51.100.7'), proxies)).toBe('198.51.100.7');
    expect(clientAddress(req('10.1.1.1', 'not-an-ip, 10.3.3.3'), proxies)).toBe('10.3.3.3');
    expect(clientAddress(req('10.1.1.1'), proxies)).toBe('10.1.1.1');
    expect(clientAddress(req('10.1.1.1', '198.51.100.7'), undefined)).toBe('10.1.1.1');
  });
});

/** A request sent from a chosen loopback address (the server still listens on 127.0.0.1 only). */
function from(
  localAddress: string,
  url: string,
  init: { headers?: Record<string, string>; body?: string; method?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: init.method ?? 'POST', headers: { ...JSON_HEADERS, ...init.headers }, localAddress, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) }),
        );
      },
    );
    req.on('error', reject);
    req.end(init.body ?? initializeBody());
  });
}

const SESSION = (id: string) => ({ 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' });

/** Opens a session from `address` and uses it (initialized, then a request), so it is never shed. */
async function usedSession(address: string, url: string): Promise<string> {
  const init = await from(address, url);
  expect(init.status).toBe(200);
  const id = init.headers['mcp-session-id'] as string;
  await from(address, url, {
    headers: SESSION(id),
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  expect(
    (
      await from(address, url, {
        headers: SESSION(id),
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
      })
    ).status,
  ).toBe(200);
  return id;
}

async function flood(
  address: string,
  url: string,
  count: number,
  headers: Record<string, string> = {},
): Promise<RawResponse[]> {
  const answers: RawResponse[] = [];
  for (let i = 0; i < count; i += 10) {
    answers.push(
      ...(await Promise.all(Array.from({ length: Math.min(10, count - i) }, () => from(address, url, { headers })))),
    );
  }
  return answers;
}

describe('session fairness', () => {
  it('caps the sessions of one address: a flood from 127.0.0.1 leaves 127.0.0.2 able to open one', async () => {
    const { http } = await app({ maxSessionsPerClient: 20 });
    const answers = await flood('127.0.0.1', http.url, 60);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(20);
    const refused = answers.filter((a) => a.status === 429);
    expect(refused).toHaveLength(40);
    const retryAfter = Number(refused[0]!.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(refused[0]!.json()).toMatchObject({
      id: 1,
      error: {
        code: -32000,
        message: expect.stringMatching(
          /maximum of 20 \(maxSessionsPerClient, MAX_SESSIONS_PER_CLIENT\).*retry in \d+ s/,
        ),
        data: { limit: 'maxSessionsPerClient', max: 20, retryAfterSeconds: retryAfter },
      },
    });
    const other = await from('127.0.0.2', http.url);
    expect(other.status).toBe(200);
    expect(other.headers['mcp-session-id']).toBeDefined();
    // Closing a session frees a place for its client.
    const first = answers.find((a) => a.status === 200)!.headers['mcp-session-id'] as string;
    expect((await from('127.0.0.1', http.url, { method: 'DELETE', headers: SESSION(first), body: '' })).status).toBe(
      200,
    );
    expect((await from('127.0.0.1', http.url)).status).toBe(200);
  });

  it('at the global cap, sheds sessions never used after initialize (oldest first), never a used one', async () => {
    const { http } = await app({ maxSessions: 12 });
    const used = await usedSession('127.0.0.2', http.url);
    const answers = await flood('127.0.0.1', http.url, 40);
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(http.sessions).toBeLessThanOrEqual(12);
    // The oldest bare sessions went first.
    const oldest = answers[0]!.headers['mcp-session-id'] as string;
    expect(
      (
        await from('127.0.0.1', http.url, {
          headers: SESSION(oldest),
          body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }),
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await from('127.0.0.2', http.url, {
          headers: SESSION(used),
          body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }),
        })
      ).status,
    ).toBe(200);
    expect((await from('127.0.0.2', http.url)).status).toBe(200);
  });

  it('refuses with 503 naming the cap and when to retry once every session is in use', async () => {
    const { http } = await app({ maxSessions: 3, sessionIdleTimeoutMs: 120_000 });
    for (let i = 0; i < 3; i++) await usedSession('127.0.0.1', http.url);
    const refused = await from('127.0.0.2', http.url);
    expect(refused.status).toBe(503);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(60);
    expect(retryAfter).toBeLessThanOrEqual(120);
    expect(refused.json()).toMatchObject({
      error: {
        message: expect.stringMatching(
          /maximum of 3 sessions \(maxSessions, MAX_SESSIONS\), all in use; retry in \d+ s/,
        ),
        data: { limit: 'maxSessions', max: 3 },
      },
    });
  });

  it('behind a trusted proxy, counts the X-Forwarded-For client; without one, ignores the header', async () => {
    const trusting = await app({ maxSessionsPerClient: 2, trustProxy: ['loopback'] });
    const viaProxy = (client: string) => ({ 'x-forwarded-for': `${client}, 127.0.0.9` });
    expect(
      (await flood('127.0.0.1', trusting.http.url, 3, viaProxy('203.0.113.5'))).map((a) => a.status).sort(),
    ).toEqual([200, 200, 429]);
    expect((await from('127.0.0.1', trusting.http.url, { headers: viaProxy('203.0.113.6') })).status).toBe(200);

    const plain = await app({ maxSessionsPerClient: 2 });
    expect(
      (await flood('127.0.0.1', plain.http.url, 2, { 'x-forwarded-for': '203.0.113.5' })).map((a) => a.status),
    ).toEqual([200, 200]);
    expect((await from('127.0.0.1', plain.http.url, { headers: { 'x-forwarded-for': '203.0.113.6' } })).status).toBe(
      429,
    );
  });
});

describe('JWT identities and JWKS readiness', () => {
  let jwks: NodeServer;
  let jwksUrl: string;
  let issuer: string;
  let privateKey: CryptoKey;
  let jwkSet: string;
  const audience = 'https://mcp.example.com/mcp';

  const listenJwks = async (port = 0) => {
    jwks = createNodeServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(jwkSet);
    });
    await new Promise<void>((resolve) => jwks.listen(port, '127.0.0.1', resolve));
    return (jwks.address() as AddressInfo).port;
  };
  const stopJwks = async () => {
    jwks.closeAllConnections();
    await new Promise((resolve) => jwks.close(resolve));
  };

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    jwkSet = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] });
    issuer = `http://127.0.0.1:${await listenJwks()}`;
    jwksUrl = `${issuer}/jwks.json`;
  });
  afterAll(async () => {
    if (jwks.listening) await stopJwks();
  });

  const sign = (claims: JWTPayload) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setExpirationTime('5m')
      .sign(privateKey);
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const whoami = (url: string, token: string) => {
    const call = modernCall('whoami');
    return from('127.0.0.1', url, { headers: { ...call.headers, ...bearer(token) }, body: call.body });
  };

  it('gives a token without sub or client_id a principal of its own (iss + jti), so holders cannot share sessions', async () => {
    const { http } = await app({ jwt: { jwksUrl, issuer, audience }, publicUrl: audience });
    const first = await sign({ jti: 'token-a' });
    const second = await sign({ jti: 'token-b' });
    expect((await whoami(http.url, first)).body).toContain(`token:${issuer}#token-a`);
    const init = await from('127.0.0.1', http.url, { headers: bearer(first) });
    expect(init.status).toBe(200);
    const session = SESSION(init.headers['mcp-session-id'] as string);
    const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    expect((await from('127.0.0.1', http.url, { headers: { ...session, ...bearer(first) }, body: list })).status).toBe(
      200,
    );
    expect((await from('127.0.0.1', http.url, { headers: { ...session, ...bearer(second) }, body: list })).status).toBe(
      404,
    );
    // No stable identity at all: refused.
    const anonymous = await from('127.0.0.1', http.url, { headers: bearer(await sign({})) });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/invalid_token.*no stable identity/);
  });

  it('with auth on, caps sessions per principal, not per address', async () => {
    const { http } = await app({ jwt: { jwksUrl, issuer, audience }, publicUrl: audience, maxSessionsPerClient: 2 });
    const alice = bearer(await sign({ sub: 'alice' }));
    const bob = bearer(await sign({ sub: 'bob' }));
    expect((await flood('127.0.0.1', http.url, 3, alice)).map((a) => a.status).sort()).toEqual([200, 200, 429]);
    // Same address, another principal: not affected.
    expect((await flood('127.0.0.1', http.url, 2, bob)).map((a) => a.status)).toEqual([200, 200]);
  });

  it('refuses subject-less tokens outright when configured to', async () => {
    const { http } = await app({ jwt: { jwksUrl, issuer, audience, subjectless: 'refuse' }, publicUrl: audience });
    const refused = await from('127.0.0.1', http.url, { headers: bearer(await sign({ jti: 'token-c' })) });
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toMatch(/names no subject \(sub\) or client \(client_id\)/);
    expect((await from('127.0.0.1', http.url, { headers: bearer(await sign({ sub: 'user-1' })) })).status).toBe(200);
    const { resolveHttpOptions } = await import('../src/http/options.js');
    expect(() => resolveHttpOptions({ jwt: { jwksUrl, subjectless: 'nobody' as never } })).toThrow(
      /jwt.subjectless must be "token-id" or "refuse"/,
    );
  });

  it('reports the JWKS in /readyz: not ready while it cannot be fetched, ready again when it can', async () => {
    const { http } = await app({ jwt: { jwksUrl, issuer, audience }, publicUrl: audience });
    const readyz = new URL('/readyz', http.url).href;
    expect((await fetch(readyz)).status).toBe(200);
    const port = Number(new URL(issuer).port);
    await stopJwks();
    try {
      let answer: Response | undefined;
      await eventually(async () => (answer = await fetch(readyz)).status === 503, 10_000);
      expect(await answer!.json()).toEqual({
        ready: false,
        checks: [{ plugin: 'http', ok: false, detail: expect.stringContaining(`JWKS at ${issuer} cannot be fetched`) }],
      });
    } finally {
      await listenJwks(port);
    }
    await eventually(async () => (await fetch(readyz)).status === 200, 10_000);
  });
});
