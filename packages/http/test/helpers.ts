import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { lookup as dnsLookup } from 'node:dns';
import net from 'node:net';
import tls from 'node:tls';
import type { Socket } from 'node:net';
import { createServer, definePlugin, ToolError, type AnyPlugin, type TrellisServer } from '@trellis/server';
import { type connectInProcess, textOf, withClient as withInProcessClient } from '@trellis/testing';
import { z } from 'zod';
import { httpClient, HttpClientKey, HttpError, type HttpClientPluginOptions } from '../src/index.js';

export const ERAS = ['legacy', 'modern'] as const;
export type Era = (typeof ERAS)[number];

/** A local HTTP server on 127.0.0.1 that counts requests and tracks sockets, so tests can see what reached it. */
export interface LocalServer {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** host:port, for HTTP_ALLOW_HOSTS. */
  readonly hostPort: string;
  /** Requests received, by path (query included). */
  readonly hits: Map<string, number>;
  /** Every request received, in order, with the time it arrived. */
  readonly log: Array<{ url: string; at: number; headers: IncomingMessage['headers'] }>;
  /** Requests being handled right now, and the most seen at once. */
  readonly inFlight: { now: number; max: number };
  /** Paths of requests whose connection closed before the response was complete (the client gave up). */
  readonly aborted: string[];
  total(): number;
  /** Forgets what was counted so far. */
  reset(): void;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

/** Starts a local HTTP server with `handler`; `close()` destroys every socket it holds. */
export async function startLocalServer(handler: Handler): Promise<LocalServer> {
  const sockets = new Set<Socket>();
  const hits = new Map<string, number>();
  const log: LocalServer['log'] = [];
  const inFlight = { now: 0, max: 0 };
  const aborted: string[] = [];
  const server = createHttpServer((req, res) => {
    res.on('close', () => {
      if (!res.writableFinished) aborted.push(req.url ?? '');
    });
    hits.set(req.url ?? '', (hits.get(req.url ?? '') ?? 0) + 1);
    log.push({ url: req.url ?? '', at: Date.now(), headers: req.headers });
    inFlight.now++;
    inFlight.max = Math.max(inFlight.max, inFlight.now);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      inFlight.now--;
    };
    res.on('finish', finish);
    res.on('close', finish);
    Promise.resolve(handler(req, res)).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(error));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    hits,
    log,
    inFlight,
    aborted,
    total: () => log.length,
    reset() {
      hits.clear();
      log.length = 0;
      inFlight.max = inFlight.now;
      aborted.length = 0;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A TCP server that accepts connections and never says a word (a TLS handshake never completes). */
export async function startSilentTcpServer(): Promise<{
  port: number;
  accepted: { count: number };
  close(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  const accepted = { count: 0 };
  const server = net.createServer((socket) => {
    accepted.count++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const LOCAL_ADDRESSES = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * Belt and braces for SSRF tests: fails any socket the process tries to open to an address
 * that is not this machine — literal hosts directly, names by wrapping the `lookup` that
 * `net.connect` calls — so a broken check can never send a packet to 10.x or
 * 169.254.169.254. Returns the refused attempts and a restore function.
 */
export function guardOutboundConnections(): { attempts: string[]; restore(): void } {
  const attempts: string[] = [];
  const originalNet = net.connect;
  const originalTls = tls.connect;
  const refuse = (what: string): Error => {
    attempts.push(what);
    return new Error(`test guard: refused to open a socket to ${what}`);
  };
  const guardLookup =
    (lookup: net.LookupFunction = dnsLookup as unknown as net.LookupFunction): net.LookupFunction =>
    (hostname, options, callback) =>
      lookup(hostname, options, (error, address, family) => {
        if (error) return callback(error, address, family);
        const list = Array.isArray(address) ? address.map((a) => a.address) : [address];
        const foreign = list.find((a) => !LOCAL_ADDRESSES.has(a));
        if (foreign !== undefined) return callback(refuse(`${hostname} (${foreign})`), '', 0);
        callback(null, address, family);
      });
  const wrap = <F>(original: F): F =>
    ((...args: unknown[]) => {
      const first = args[0];
      if (!first || typeof first !== 'object') throw refuse(`unexpected connect(${String(first)})`);
      const options = first as { host?: string; lookup?: net.LookupFunction; socket?: unknown };
      if (options.socket) return (original as (...a: unknown[]) => unknown)(...args);
      const host = options.host ?? 'localhost';
      if (net.isIP(host) && !LOCAL_ADDRESSES.has(host)) throw refuse(host);
      const guarded = net.isIP(host) ? options : { ...options, lookup: guardLookup(options.lookup) };
      return (original as (...a: unknown[]) => unknown)(guarded, ...args.slice(1));
    }) as F;
  (net as { connect: typeof net.connect }).connect = wrap(originalNet);
  (tls as { connect: typeof tls.connect }).connect = wrap(originalTls);
  return {
    attempts,
    restore() {
      (net as { connect: typeof net.connect }).connect = originalNet;
      (tls as { connect: typeof tls.connect }).connect = originalTls;
    },
  };
}

/** A started Trellis server with the http plugin (and any extra plugins), configured by `env`. */
export async function startTrellis(
  env: Record<string, string>,
  options: HttpClientPluginOptions & { extra?: AnyPlugin[] } = {},
): Promise<TrellisServer> {
  const { extra = [], ...pluginOptions } = options;
  const server = createServer({
    name: 'http-test',
    version: '0.0.0',
    plugins: [httpClient(pluginOptions), ...extra],
    configSources: { argv: [], env: { LOG_LEVEL: 'silent', ...env }, envFiles: [] },
  });
  await server.start();
  return server;
}

type Client = Awaited<ReturnType<typeof connectInProcess>>['client'];

/** Runs `body` with a real client connected in-process, and disconnects it afterwards. */
export async function withClient<T>(server: TrellisServer, era: Era, body: (client: Client) => Promise<T>): Promise<T> {
  return withInProcessClient(server, { era }, body);
}

export { textOf };

/** Calls `http_get` and returns the result. */
export function httpGet(
  client: Client,
  url: string,
  headers?: Record<string, string>,
  options?: { signal?: AbortSignal },
) {
  return client.callTool({ name: 'http_get', arguments: { url, ...(headers && { headers }) } }, options);
}

/** Waits until `check()` is true (polling), or fails after `ms`. */
export async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A plugin that uses the http service the way another plugin would (overflow: 'error' by default). */
export const consumer = () =>
  definePlugin({
    name: 'consumer',
    dependsOn: ['http'],
    setup(scope) {
      const http = scope.service(HttpClientKey);
      scope.tools.add({
        name: 'strict_fetch',
        description: 'Fetches through the http service, failing on bodies over the cap',
        input: z.object({ url: z.string(), method: z.enum(['GET', 'POST']).optional() }),
        async handler({ url, method }, ctx) {
          try {
            const response = await http.request(url, { signal: ctx.signal, ...(method && { method }) });
            return `${response.status} ${response.body.byteLength} bytes`;
          } catch (error) {
            if (error instanceof HttpError) throw new ToolError(`${error.code}: ${error.message}`);
            throw error;
          }
        },
      });
    },
  });
