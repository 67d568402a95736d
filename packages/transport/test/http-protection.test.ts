import { createServer as createNodeServer, type Server as NodeServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createServer } from '@trellis/server';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHttpTransport, HttpConfigError } from '../src/http/index.js';
import { initializeBody, JSON_HEADERS, raw, startApp, type TestApp } from './fixtures/http-harness.js';

const apps: TestApp[] = [];
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close().catch(() => undefined);
  for (const app of apps.splice(0)) await app.stop();
});

async function app(options: Parameters<typeof startApp>[0] = {}) {
  const started = await startApp(options);
  apps.push(started);
  return started;
}

const hostOf = (url: string) => new URL(url).host;
const textOf = (result: unknown) => (result as { content: { text: string }[] }).content[0]!.text;

describe('DNS rebinding protection', () => {
  it('refuses a foreign Host or Origin with 403 and accepts localhost', async () => {
    const { http } = await app();
    const evilHost = await raw(http.url, {
      method: 'POST',
      headers: { ...JSON_HEADERS, host: 'evil.example.com' },
      body: initializeBody(),
    });
    expect(evilHost.status).toBe(403);
    const evilOrigin = await raw(http.url, {
      method: 'POST',
      headers: { ...JSON_HEADERS, origin: 'http://evil.example.com' },
      body: initializeBody(),
    });
    expect(evilOrigin.status).toBe(403);
    const ok = await raw(http.url, {
      method: 'POST',
      headers: { ...JSON_HEADERS, host: hostOf(http.url), origin: 'http://localhost:5173' },
      body: initializeBody(),
    });
    expect(ok.status).toBe(200);
  });

  it('uses ALLOWED_HOSTS / ALLOWED_ORIGINS when given', async () => {
    const { http } = await app({ allowedHosts: ['mcp.example.com'], allowedOrigins: ['https://app.example.com'] });
    const local = await raw(http.url, { method: 'POST', headers: JSON_HEADERS, body: initializeBody() });
    expect(local.status).toBe(403);
    const listed = await raw(http.url, {
      method: 'POST',
      headers: { ...JSON_HEADERS, host: 'mcp.example.com', origin: 'https://app.example.com' },
      body: initializeBody(),
    });
    expect(listed.status).toBe(200);
    const otherOrigin = await raw(http.url, {
      method: 'POST',
      headers: { ...JSON_HEADERS, host: 'mcp.example.com', origin: 'https://evil.example.com' },
      body: initializeBody(),
    });
    expect(otherOrigin.status).toBe(403);
  });

  it('refuses to start on a non-loopback address with neither an allow-list nor auth', async () => {
    const server = createServer({
      name: 't',
      version: '1.0.0',
      plugins: [],
      configSources: { argv: [], env: { LOG_LEVEL: 'silent' }, envFiles: [] },
    });
    expect(() => createHttpTransport(server, { host: '0.0.0.0' })).toThrow(HttpConfigError);
    expect(() => createHttpTransport(server, { host: '0.0.0.0' })).toThrow(/ALLOWED_HOSTS.*AUTH_TOKEN/s);
    expect(() => createHttpTransport(server, { host: '0.0.0.0', allowedHosts: ['mcp.example.com'] })).not.toThrow();
    expect(() =>
      createHttpTransport(server, { host: '0.0.0.0', authToken: 'a-long-enough-secret-token' }),
    ).not.toThrow();
  });
});

describe('request checks', () => {
  it('answers a body over the limit with 413, by declared length or by streaming', async () => {
    const { http } = await app({ maxBodyBytes: 1024 });
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { pad: 'x'.repeat(4096) } });
    const declared = await raw(http.url, { method: 'POST', headers: JSON_HEADERS, body: big });
    expect(declared.status).toBe(413);
    const chunked = await raw(http.url, {
      method: 'POST',
      headers: { ...JSON_HEADERS, 'transfer-encoding': 'chunked' },
      body: big,
    });
    expect(chunked.status).toBe(413);
    const small = await raw(http.url, { method: 'POST', headers: JSON_HEADERS, body: initializeBody() });
    expect(small.status).toBe(200);
  });

  it('answers a non-JSON content type with 415, an unknown method with 405 + Allow, bad JSON with 400 (-32700)', async () => {
    const { http } = await app();
    const text = await raw(http.url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', accept: JSON_HEADERS.accept },
      body: initializeBody(),
    });
    expect(text.status).toBe(415);
    const put = await raw(http.url, { method: 'PUT', headers: JSON_HEADERS, body: '{}' });
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe('GET, POST, DELETE');
    const bad = await raw(http.url, { method: 'POST', headers: JSON_HEADERS, body: '{"jsonrpc":' });
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: -32700 } });
  });

  it('leaves the Accept check to the SDK (406 without text/event-stream on a session request)', async () => {
    const { http } = await app();
    const res = await raw(http.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/html' },
      body: initializeBody(),
    });
    expect(res.status).toBe(406);
  });

  it('answers other paths with 404', async () => {
    const { http } = await app();
    expect((await raw(new URL('/nope', http.url).href)).status).toBe(404);
  });
});

describe('health', () => {
  it('serves /healthz always and /readyz from the plugins’ readiness, outside auth', async () => {
    const { http, probe } = await app({ authToken: 'a-long-enough-secret-token' });
    expect((await raw(new URL('/healthz', http.url).href)).status).toBe(200);
    const ready = await raw(new URL('/readyz', http.url).href);
    expect(ready.status).toBe(200);
    expect(ready.json()).toMatchObject({ ready: true });
    probe.ready = false;
    const notReady = await raw(new URL('/readyz', http.url).href);
    expect(notReady.status).toBe(503);
    expect(notReady.json()).toEqual({
      ready: false,
      checks: [{ plugin: 'http-test', ok: false, detail: 'database unreachable' }],
    });
  });
});

describe('bearer token auth', () => {
  const token = 'test-token-0123456789abcdef';

  it('answers a missing or wrong token with 401 and WWW-Authenticate', async () => {
    const { http } = await app({ authToken: token });
    const missing = await raw(http.url, { method: 'POST', headers: JSON_HEADERS, body: initializeBody() });
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
    const wrong = await raw(http.url, {
      method: 'POST',
      headers: { ...JSON_HEADERS, authorization: `Bearer ${token}x` },
      body: initializeBody(),
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body).not.toContain(token);
  });

  it('lets a valid token through to both eras, and the handler sees ctx.auth', async () => {
    const { http } = await app({ authToken: token });
    const headers = { authorization: `Bearer ${token}` };

    const modern = new Client(
      { name: 'modern', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await modern.connect(new StreamableHTTPClientTransport(new URL(http.url), { requestInit: { headers } }));
    closers.push(() => modern.close());
    expect(JSON.parse(textOf(await modern.callTool({ name: 'whoami' })))).toMatchObject({ clientId: 'static-token' });

    const legacy = new V1Client({ name: 'v1', version: '1.0.0' });
    await legacy.connect(new V1Transport(new URL(http.url), { requestInit: { headers } }));
    closers.push(() => legacy.close());
    expect(JSON.parse(textOf(await legacy.callTool({ name: 'whoami', arguments: {} })))).toMatchObject({
      clientId: 'static-token',
    });
  });
});

describe('OAuth 2.1 resource server (JWT + JWKS)', () => {
  let jwks: NodeServer;
  let jwksUrl: string;
  let issuer: string;
  let privateKey: CryptoKey;
  let otherKey: CryptoKey;
  const audience = 'https://mcp.example.com/mcp';

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    otherKey = (await generateKeyPair('RS256')).privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = createNodeServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`;
    jwksUrl = `${issuer}/jwks.json`;
  });
  afterAll(async () => {
    jwks.closeAllConnections();
    await new Promise((resolve) => jwks.close(resolve));
  });

  const sign = (claims: { aud?: string; exp?: string | number; key?: CryptoKey } = {}) =>
    new SignJWT({ scope: 'mcp:tools read', client_id: 'client-1' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(issuer)
      .setAudience(claims.aud ?? audience)
      .setSubject('user-42')
      .setIssuedAt()
      .setExpirationTime(claims.exp ?? '5m')
      .sign(claims.key ?? privateKey);

  const jwtApp = () => app({ jwt: { jwksUrl, issuer, audience }, publicUrl: audience });

  it('serves the protected resource metadata and advertises it in the 401 challenge', async () => {
    const { http } = await jwtApp();
    const prm = await raw(new URL('/.well-known/oauth-protected-resource', http.url).href);
    expect(prm.status).toBe(200);
    expect(prm.json()).toMatchObject({
      resource: audience,
      authorization_servers: [issuer],
      bearer_methods_supported: ['header'],
    });
    expect((await raw(new URL('/.well-known/oauth-protected-resource/mcp', http.url).href)).status).toBe(200);
    const missing = await raw(http.url, { method: 'POST', headers: JSON_HEADERS, body: initializeBody() });
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toContain(
      'resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource"',
    );
  });

  it('refuses tokens that are expired, for another audience, or signed by an unknown key', async () => {
    const { http } = await jwtApp();
    for (const token of [
      await sign({ exp: Math.floor(Date.now() / 1000) - 60 }),
      await sign({ aud: 'https://other.example.com' }),
      await sign({ key: otherKey }),
      'not-a-jwt',
    ]) {
      const res = await raw(http.url, {
        method: 'POST',
        headers: { ...JSON_HEADERS, authorization: `Bearer ${token}` },
        body: initializeBody(),
      });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/invalid_token/);
    }
  });

  it('accepts a valid token; the handler sees its client, scopes and subject', async () => {
    const { http } = await jwtApp();
    const token = await sign();
    const client = new Client(
      { name: 'modern', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await client.connect(
      new StreamableHTTPClientTransport(new URL(http.url), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    closers.push(() => client.close());
    expect(JSON.parse(textOf(await client.callTool({ name: 'whoami' })))).toEqual({
      clientId: 'client-1',
      scopes: ['mcp:tools', 'read'],
      sub: 'user-42',
    });
  });

  it('serves an older-protocol session only to the principal that opened it', async () => {
    const { http } = await jwtApp();
    const first = await sign();
    const init = await raw(http.url, {
      method: 'POST',
      headers: { ...JSON_HEADERS, authorization: `Bearer ${first}` },
      body: initializeBody(),
    });
    expect(init.status).toBe(200);
    const sessionId = init.headers['mcp-session-id'] as string;
    const other = await new SignJWT({ client_id: 'client-2' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject('intruder')
      .setExpirationTime('5m')
      .sign(privateKey);
    const res = await raw(http.url, {
      method: 'POST',
      headers: {
        ...JSON_HEADERS,
        authorization: `Bearer ${other}`,
        'mcp-session-id': sessionId,
        'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(res.status).toBe(404);
  });
});
