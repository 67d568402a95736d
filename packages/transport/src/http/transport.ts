import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server as NodeHttpServer,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  bearerAuthChallengeResponse,
  createMcpHandler,
  isJsonContentType,
  isLegacyRequest,
  legacyStatelessFallback,
  type AuthInfo,
  type LegacyHttpHandler,
  type McpHttpHandler,
  type Server,
} from '@modelcontextprotocol/server';
import { ErrorCodes, type Logger, type TrellisServer } from '@trellis/server';
import { createAuthenticator, type Authenticator } from './auth.js';
import { rebindingProblem } from './guards.js';
import { tryModernFast } from './direct-modern.js';
import { listenRequestOf, writeObservedListen } from './listen.js';
import { checkMcpParamHeaders } from './mcp-param.js';
import { resolveHttpOptions, type HttpTelemetry, type HttpTransportOptions } from './options.js';
import { LegacySessions } from './sessions.js';
import { nodeServerOptions } from './node-server.js';
import { answerAndDrain, readBody, rpcError, sendJson, webHeaders, writeWebResponse } from './wire.js';

/** The MCP endpoint's path. */
export const MCP_PATH = '/mcp';
const ALLOW = 'GET, POST, DELETE';
const PRM_PATH = '/.well-known/oauth-protected-resource';

/** A running (or ready to run) Streamable HTTP transport. */
export interface HttpTransport {
  /** The local endpoint URL, e.g. `http://127.0.0.1:3000/mcp` (port known after `listen()`); `publicUrl` is only advertised. */
  readonly url: string;
  /** The bound port (known after `listen()`). */
  readonly port: number;
  /** Older-protocol sessions open now. */
  readonly sessions: number;
  /**
   * Of those, the sessions holding the SDK's per-session objects now. The
   * others are small records: a session lets go of its SDK objects after the
   * handshake and makes them again only when it sends more than plain tool calls.
   */
  readonly sessionsWithSdkObjects: number;
  /** The Node request listener, for mounting in a server of your own instead of `listen()`. */
  readonly requestListener: (req: IncomingMessage, res: ServerResponse) => void;
  /** Binds the port. Rejects if the port is taken or the server is not running. */
  listen(): Promise<void>;
  /**
   * Graceful shutdown: stops accepting connections, lets in-flight calls
   * finish for `graceMs` (default SHUTDOWN_GRACE_MS), then closes the core
   * server (which aborts what is left and closes plugins), the sessions and
   * every connection. Calling it again returns the same promise.
   */
  close(options?: { graceMs?: number }): Promise<void>;
}

function isTelemetryPath(path: string): boolean {
  return path === '/metrics' || path === '/status' || path.startsWith('/status/');
}

function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * Streamable HTTP for a Trellis server on one endpoint, `/mcp`: 2026-07-28
 * requests are served statelessly by the SDK's `createMcpHandler`; older
 * clients get sessions (or stateless serving with `sessions: false`). Host,
 * Origin, body size, content type and auth are checked before the SDK runs;
 * `/healthz`, `/readyz` and the protected resource metadata sit outside auth.
 * @example
 * await server.start();
 * const http = createHttpTransport(server, { port: 3000 });
 * await http.listen();
 * process.once('SIGTERM', () => http.close({ graceMs: 10_000 }));
 */
export function createHttpTransport(server: TrellisServer, options: HttpTransportOptions = {}): HttpTransport {
  const opts = resolveHttpOptions(options);
  let log: Logger | undefined;
  const logger = () => (log ??= server.logger.child({ component: 'http' }));
  let localUrl = `http://${hostForUrl(opts.host)}:${opts.port}${MCP_PATH}`;
  let auth: Authenticator | undefined;
  let modern: McpHttpHandler | undefined;
  /** An SDK protocol object for the 2026-07-28 fast path: result projection only, never connected. */
  let modernProjector: Server | undefined;
  let statelessLegacy: LegacyHttpHandler | undefined;
  let sessions: LegacySessions | undefined;
  let closing: Promise<void> | undefined;
  let port = opts.port;
  const listener: NodeHttpServer = createHttpServer(nodeServerOptions(opts), (req, res) => void handle(req, res));

  /** Built on first use so the core logger and registries exist (the core must be running). */
  function init(): void {
    if (modern) return;
    auth = createAuthenticator(opts, opts.publicUrl ?? localUrl);
    const onerror = (error: Error) => logger().debug({ err: error }, 'mcp request rejected or failed');
    modern = createMcpHandler(() => server.createProtocolServer({ era: 'modern', track: false }), {
      legacy: 'reject',
      onerror,
      // The core publishes every change on this bus (shared by a fleet's instances): listen streams subscribe to it.
      bus: server.changeBus,
      maxRequestBodySize: opts.maxBodyBytes,
    });
    if (opts.sessions) {
      sessions = new LegacySessions(
        server,
        {
          maxSessions: opts.maxSessions,
          maxSessionsPerClient: opts.maxSessionsPerClient,
          trustProxy: opts.trustProxy,
          idleTimeoutMs: opts.sessionIdleTimeoutMs,
          maxEventsPerSession: opts.maxEventsPerSession,
          fastPath: opts.fastPath,
          onSessionOpened: opts.telemetry?.sessionOpened,
        },
        logger(),
      );
    } else {
      // Tracked so that each per-request instance detaches from the registries when it closes.
      statelessLegacy = legacyStatelessFallback(
        () => server.createProtocolServer({ era: 'legacy', track: true }),
        onerror,
        { maxRequestBodySize: opts.maxBodyBytes },
      );
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = pathOf(req.url);
      if (path === '/healthz') return sendJson(res, 200, '{"status":"ok"}', { 'cache-control': 'no-store' });
      if (path === '/readyz') return await readiness(res);
      if (auth?.metadata && (path === PRM_PATH || path === `${PRM_PATH}${MCP_PATH}`)) {
        if (req.method !== 'GET' && req.method !== 'HEAD')
          return sendJson(res, 405, '{"error":"method_not_allowed"}', { allow: 'GET, HEAD' });
        return sendJson(res, 200, JSON.stringify(auth.metadata), {
          'access-control-allow-origin': '*',
          'cache-control': 'max-age=3600',
        });
      }
      if (path !== MCP_PATH) {
        if (opts.telemetry?.besideMcp && isTelemetryPath(path))
          return await serveTelemetry(path, req, res, opts.telemetry);
        return sendJson(res, 404, '{"error":"not_found"}');
      }
      await serveMcp(req, res);
    } catch (error) {
      logger().error({ err: error }, 'http request failed');
      if (!res.headersSent) sendJson(res, 500, rpcError(ErrorCodes.InternalError, 'Internal error'));
      else res.end();
    }
  }

  async function readiness(res: ServerResponse): Promise<void> {
    if (closing)
      return sendJson(
        res,
        503,
        JSON.stringify({ ready: false, checks: [{ plugin: 'http', ok: false, detail: 'shutting down' }] }),
        { 'cache-control': 'no-store' },
      );
    // With JWT auth, the key set is a dependency like a plugin's database.
    const [core, jwks] = await Promise.all([server.ready(), auth?.readiness?.()]);
    const state = jwks ? { ready: core.ready && jwks.ok, checks: [...core.checks, jwks] } : core;
    sendJson(
      res,
      state.ready ? 200 : 503,
      JSON.stringify(state.ready ? state : { ready: false, checks: state.checks.filter((c) => !c.ok) }),
      { 'cache-control': 'no-store' },
    );
  }

  function projector(): Server {
    modernProjector ??= server.createProtocolServer({ era: 'modern', track: false });
    return modernProjector;
  }

  /** `/metrics` and `/status` beside `/mcp`: the same Host/Origin checks and the same auth. */
  async function serveTelemetry(
    path: string,
    req: IncomingMessage,
    res: ServerResponse,
    telemetry: HttpTelemetry,
  ): Promise<void> {
    const problem = rebindingProblem(req, opts);
    if (problem) return sendJson(res, 403, '{"error":"forbidden"}');
    if (auth) {
      try {
        await auth.authenticate(req.headers.authorization);
      } catch (error) {
        return await writeWebResponse(
          res,
          bearerAuthChallengeResponse(
            error,
            auth.resourceMetadataUrl ? { resourceMetadataUrl: auth.resourceMetadataUrl } : {},
          ),
        );
      }
    }
    if (!telemetry.handle(path, req, res)) sendJson(res, 404, '{"error":"not_found"}');
  }

  async function serveMcp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (closing)
      return sendJson(res, 503, rpcError(ErrorCodes.TransportRejected, 'Server is shutting down'), {
        connection: 'close',
        'retry-after': '5',
      });
    const problem = rebindingProblem(req, opts);
    if (problem) return sendJson(res, 403, rpcError(ErrorCodes.TransportRejected, `Forbidden: ${problem}`));
    const method = req.method ?? 'GET';
    if (method !== 'POST' && method !== 'GET' && method !== 'DELETE') {
      return sendJson(res, 405, rpcError(ErrorCodes.TransportRejected, `Method not allowed: ${method}`), {
        allow: ALLOW,
      });
    }
    let authInfo: AuthInfo | undefined;
    if (auth) {
      try {
        authInfo = await auth.authenticate(req.headers.authorization);
      } catch (error) {
        return await writeWebResponse(
          res,
          bearerAuthChallengeResponse(
            error,
            auth.resourceMetadataUrl ? { resourceMetadataUrl: auth.resourceMetadataUrl } : {},
          ),
        );
      }
    }
    let body: unknown;
    if (method === 'POST') {
      if (!isJsonContentType(req.headers['content-type'])) {
        return sendJson(
          res,
          415,
          rpcError(ErrorCodes.TransportRejected, 'Unsupported Media Type: Content-Type must be application/json'),
          { connection: 'close' },
        );
      }
      const read = await readBody(req, opts.maxBodyBytes);
      if (!read.ok && read.status === 413) {
        const refusal = rpcError(
          ErrorCodes.TransportRejected,
          `Payload Too Large: the body exceeds ${opts.maxBodyBytes} bytes`,
        );
        return answerAndDrain(req, res, 413, refusal, { maxBytes: opts.maxDrainBytes, maxMs: opts.requestTimeoutMs });
      }
      if (!read.ok)
        return sendJson(
          res,
          read.status,
          rpcError(ErrorCodes.TransportRejected, 'Bad Request: the body could not be read'),
          { connection: 'close' },
        );
      try {
        body = JSON.parse(read.text);
      } catch {
        return sendJson(res, 400, rpcError(ErrorCodes.ParseError, 'Parse error: the body is not valid JSON'));
      }
    }
    // The HTTP request's own trace context (a `traceparent` header) is linked from the MCP spans of what it carries.
    if (opts.telemetry) {
      const { telemetry } = opts;
      return telemetry.aroundRequest(req, () => dispatchMcp(req, res, method, body, authInfo));
    }
    return dispatchMcp(req, res, method, body, authInfo);
  }

  /** Serves a checked, authenticated MCP request whose body is read: the fast paths, else the SDK. */
  async function dispatchMcp(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    body: unknown,
    authInfo: AuthInfo | undefined,
  ): Promise<void> {
    // One body-less web Request serves the era check and the SDK; its signal
    // aborts the exchange (and the handler's ctx.signal) on disconnect.
    const toWebRequest = () => {
      const abort = new AbortController();
      res.once('close', () => {
        if (!res.writableFinished) abort.abort(new Error('the client disconnected'));
      });
      return new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? MCP_PATH}`, {
        method,
        headers: webHeaders(req),
        signal: abort.signal,
      });
    };
    // A plain tool call (the one fast-path rule decides) needs neither.
    if (method === 'POST') {
      if (sessions?.tryDirect(req, res, body, authInfo)) return;
      if (opts.fastPath && tryModernFast(server, projector, req, res, body, authInfo)) return;
    }
    const request = toWebRequest();
    if (await isLegacyRequest(request, body)) {
      if (sessions) return sessions.handle(request, res, body, authInfo);
      return writeWebResponse(
        res,
        await statelessLegacy!(request, { parsedBody: body, ...(authInfo && { authInfo }) }),
      );
    }
    const bad = checkMcpParamHeaders(req.headers, body, (name) => server.tools.describe(name) as never);
    if (bad)
      return sendJson(res, 400, rpcError(ErrorCodes.HeaderMismatch, bad.message, bad.id, { header: bad.header }));
    const answer = () => modern!.fetch(request, { parsedBody: body, ...(authInfo && { authInfo }) });
    const listen = listenRequestOf(body);
    if (listen) return writeObservedListen(server, listen, res, answer);
    await writeWebResponse(res, await answer());
  }

  async function shutdown(graceMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
    listener.closeIdleConnections();
    try {
      // The core waits for in-flight calls up to graceMs, then aborts them and closes plugins.
      await server.close({ graceMs });
    } finally {
      await modern?.close().catch(() => undefined);
      await sessions?.closeAll();
      // Let aborted calls flush their answers, then cut whatever is still open.
      listener.closeIdleConnections();
      const timer = setTimeout(() => listener.closeAllConnections(), 1_000);
      if (listener.listening) await closed;
      clearTimeout(timer);
      logger().info('http transport closed');
    }
  }

  return {
    get url() {
      return localUrl;
    },
    get port() {
      return port;
    },
    get sessions() {
      return sessions?.size ?? 0;
    },
    get sessionsWithSdkObjects() {
      return sessions?.withSdkObjects ?? 0;
    },
    requestListener: (req, res) => {
      init();
      void handle(req, res);
    },
    async listen() {
      if (server.state !== 'running')
        throw new Error(`the Trellis server is ${server.state}; call start() before listen()`);
      await new Promise<void>((resolve, reject) => {
        listener.once('error', reject);
        listener.listen(opts.port, opts.host, () => {
          listener.off('error', reject);
          resolve();
        });
      });
      port = (listener.address() as AddressInfo).port;
      localUrl = `http://${hostForUrl(opts.host)}:${port}${MCP_PATH}`;
      init();
      logger().info(
        {
          url: localUrl,
          ...(opts.publicUrl && { publicUrl: opts.publicUrl }),
          sessions: opts.sessions,
          auth: opts.jwt ? 'oauth' : opts.authToken ? 'token' : 'none',
        },
        'listening',
      );
    },
    close(options = {}) {
      closing ??= shutdown(options.graceMs ?? opts.shutdownGraceMs);
      return closing;
    },
  };
}

/**
 * Creates the HTTP transport and starts listening.
 * @example
 * const http = await serveHttp(server, httpOptionsFromConfig(server.config));
 */
export async function serveHttp(server: TrellisServer, options: HttpTransportOptions = {}): Promise<HttpTransport> {
  const transport = createHttpTransport(server, options);
  await transport.listen();
  return transport;
}
