import type { TrellisServer } from '@trellis/server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HostResolver } from '../src/index.js';
import {
  ERAS,
  guardOutboundConnections,
  httpGet,
  startLocalServer,
  startTrellis,
  textOf,
  withClient,
  type LocalServer,
} from './helpers.js';

let local: LocalServer;
let other: LocalServer;
let guard: ReturnType<typeof guardOutboundConnections>;
let server: TrellisServer | undefined;
const resolved: string[] = [];

/** Resolves `*.test` names without DNS: what the name says, or loopback. */
const resolver: HostResolver = async (hostname) => {
  resolved.push(hostname);
  if (hostname === 'mixed.test')
    return [
      { address: '93.184.216.34', family: 4 },
      { address: '10.0.0.5', family: 4 },
    ];
  if (hostname === 'metadata.test') return [{ address: '169.254.169.254', family: 4 }];
  if (hostname === 'v6.test') return [{ address: '::1', family: 6 }];
  return [{ address: '127.0.0.1', family: 4 }];
};

beforeAll(async () => {
  guard = guardOutboundConnections();
  local = await startLocalServer((_req, res) => res.end('local'));
  other = await startLocalServer((_req, res) => res.end('other'));
});
afterAll(async () => {
  await local.close();
  await other.close();
  guard.restore();
});
afterEach(async () => {
  await server?.close({ graceMs: 100 });
  server = undefined;
  local.reset();
  other.reset();
  expect(guard.attempts, 'a socket to a non-local host was attempted').toEqual([]);
});

describe.each(ERAS)('SSRF protection (%s)', (era) => {
  it('refuses every non-public destination when nothing is allow-listed, before connecting', async () => {
    server = await startTrellis({}, { resolver });
    const p = local.port;
    const refused = [
      [`http://127.0.0.1:${p}/`, 'loopback'],
      [`http://localhost:${p}/`, 'loopback'],
      [`http://2130706433:${p}/`, 'loopback'], // decimal
      [`http://0177.0.0.1:${p}/`, 'loopback'], // octal
      [`http://0x7f.0.0.1:${p}/`, 'loopback'], // hex
      [`http://127.1:${p}/`, 'loopback'], // short form
      [`http://[::1]:${p}/`, 'loopback'],
      [`http://[::ffff:127.0.0.1]:${p}/`, 'IPv4-mapped'],
      [`http://[64:ff9b::7f00:1]:${p}/`, 'NAT64'],
      ['http://10.0.0.1/', 'private (10.0.0.0/8)'],
      ['http://172.16.0.1/', 'private (172.16.0.0/12)'],
      ['http://192.168.1.1/', 'private (192.168.0.0/16)'],
      ['http://169.254.169.254/latest/meta-data/', 'link-local'],
      ['http://100.64.0.1/', 'CGNAT'],
      ['http://0.0.0.0/', 'unspecified'],
      ['http://[fd00::1]/', 'unique local'],
      ['http://[fe80::1]/', 'link-local'],
      ['http://224.0.0.1/', 'multicast'],
      ['http://rebind.test/', 'loopback'], // a name that resolves to loopback
      ['http://metadata.test/', 'link-local'],
      ['http://v6.test/', 'loopback'],
      ['http://mixed.test/', 'private'], // one bad address is enough
    ] as const;
    await withClient(server, era, async (client) => {
      for (const [url, kind] of refused) {
        const result = await httpGet(client, url);
        expect(result.isError, url).toBe(true);
        expect(textOf(result), url).toContain('SSRF_BLOCKED');
        expect(textOf(result), url).toContain(kind);
      }
    });
    expect(local.total()).toBe(0);
    expect(resolved).toEqual(expect.arrayContaining(['rebind.test', 'metadata.test', 'mixed.test']));
  });

  it('names the host and what it resolved to', async () => {
    server = await startTrellis({}, { resolver });
    await withClient(server, era, async (client) => {
      const text = textOf(await httpGet(client, 'http://rebind.test/path'));
      expect(text).toContain(
        'refused http://rebind.test/path: rebind.test resolves to 127.0.0.1, which is a non-public address (loopback (127.0.0.0/8))',
      );
    });
  });

  it('refuses localhost through the system resolver (no injected one)', async () => {
    server = await startTrellis({});
    await withClient(server, era, async (client) => {
      const result = await httpGet(client, `http://localhost:${local.port}/`);
      expect(textOf(result)).toContain('SSRF_BLOCKED');
    });
    expect(local.total()).toBe(0);
  });

  it('refuses other schemes and credentials in the URL', async () => {
    server = await startTrellis({ HTTP_ALLOW_HOSTS: local.hostPort });
    await withClient(server, era, async (client) => {
      for (const url of [
        'file:///etc/passwd',
        'ftp://example.com/x',
        'gopher://127.0.0.1:70/',
        'data:text/plain,hi',
        'javascript:alert(1)',
      ]) {
        const result = await httpGet(client, url);
        expect(result.isError, url).toBe(true);
        expect(textOf(result), url).toContain('UNSUPPORTED_SCHEME');
      }
      const withCredentials = await httpGet(client, `http://user:secret@${local.hostPort}/`);
      expect(textOf(withCredentials)).toContain('INVALID_URL');
      expect(textOf(await httpGet(client, 'not a url'))).toContain('INVALID_URL');
    });
    expect(local.total()).toBe(0);
  });

  it('fetches allow-listed host:port pairs, and only on that port', async () => {
    server = await startTrellis({ HTTP_ALLOW_HOSTS: `${local.hostPort}, allowed.test:${other.port}` }, { resolver });
    await withClient(server, era, async (client) => {
      expect(textOf(await httpGet(client, `${local.origin}/a`))).toContain('local');
      expect(textOf(await httpGet(client, `http://2130706433:${local.port}/b`))).toContain('local'); // same host, other spelling
      expect(textOf(await httpGet(client, `http://allowed.test:${other.port}/c`))).toContain('other'); // a name, resolved by the resolver
      const otherPort = await httpGet(client, `${other.origin}/d`);
      expect(textOf(otherPort)).toContain('SSRF_BLOCKED');
    });
    expect(local.total()).toBe(2);
    expect(other.hits.get('/d')).toBeUndefined();
  });

  it('allows every port of a host listed without one', async () => {
    server = await startTrellis({ HTTP_ALLOW_HOSTS: '127.0.0.1' });
    await withClient(server, era, async (client) => {
      expect(textOf(await httpGet(client, `${local.origin}/`))).toContain('local');
      expect(textOf(await httpGet(client, `${other.origin}/`))).toContain('other');
    });
  });
});

describe('allow-list configuration', () => {
  it('fails start-up on an entry that is not a host or host:port, naming it', async () => {
    await expect(startTrellis({ HTTP_ALLOW_HOSTS: 'ok.example, http://bad.example/' })).rejects.toThrow(
      /HTTP_ALLOW_HOSTS.*http:\/\/bad\.example\//,
    );
  });
});
