import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP, type BlockList } from 'node:net';
import { localhostAllowedHostnames } from '@modelcontextprotocol/server';
import type { SubjectlessTokenPolicy } from './auth.js';
import { trustedProxies } from './client-address.js';
import type { HttpConfig } from './config.js';

/** Options of `createHttpTransport` / `serveHttp`; each has a default. */
export interface HttpTransportOptions {
  /** Port to listen on; 0 picks a free one. Default 3000. */
  port?: number;
  /** Address to bind. Default 127.0.0.1. */
  host?: string;
  /** Host names accepted in the Host header. Default: localhost names on a loopback bind, any host otherwise (auth required then). */
  allowedHosts?: readonly string[];
  /** Origins (`https://app.example`) or host names accepted in the Origin header. Default: localhost on a loopback bind. */
  allowedOrigins?: readonly string[];
  /** A static bearer token (compared in constant time, never logged). */
  authToken?: string;
  /**
   * OAuth 2.1 resource-server mode: JWT access tokens verified against a JWKS.
   * `subjectless`: a token with no `sub` and no `client_id` gets a principal
   * from `iss` + `jti` (`token-id`, the default) or is refused (`refuse`).
   */
  jwt?: { jwksUrl: string; issuer?: string; audience?: string; subjectless?: SubjectlessTokenPolicy };
  /** Public URL of the MCP endpoint, for the protected resource metadata. Default: http://host:port/mcp. */
  publicUrl?: string;
  /** Largest accepted request body. Default 4 MiB. */
  maxBodyBytes?: number;
  /** Older-protocol sessions held at once. At the cap, sessions never used after `initialize` are closed (oldest first) before a new one is refused. Default 10 000. */
  maxSessions?: number;
  /**
   * Older-protocol sessions one client may hold at once: one principal when
   * auth is on, else one remote address (see `trustProxy`). Default 2 000
   * (at most `maxSessions`): room for a benchmark's 1 000 sessions from 127.0.0.1.
   */
  maxSessionsPerClient?: number;
  /**
   * Proxies whose `X-Forwarded-For` header names the client (addresses, CIDR
   * ranges, or `loopback`). Without it, a server behind a proxy sees every
   * client as the proxy's address, which then shares one per-client cap.
   * Default: none (the header is ignored).
   */
  trustProxy?: readonly string[];
  /** Idle time after which an older-protocol session is closed. Default 30 min. */
  sessionIdleTimeoutMs?: number;
  /** Events kept per session for resumption (Last-Event-ID). Default 256. */
  maxEventsPerSession?: number;
  /** false: older-protocol clients are served statelessly (no sessions). Default true. */
  sessions?: boolean;
  /** false: every tool call goes through the SDK's dispatch instead of the fast path (same answers). Default true. */
  fastPath?: boolean;
  /** Grace period of `close()` when none is given. Default 10 s. */
  shutdownGraceMs?: number;
  /** Time a client has to send the request headers. Default 10 s. */
  headersTimeoutMs?: number;
  /** Time a client has to send the whole request, body included (a dribbling client is cut). Default 30 s. */
  requestTimeoutMs?: number;
  /** Time an idle keep-alive connection stays open between requests. Default 5 s. */
  keepAliveTimeoutMs?: number;
  /** Bytes of a too-large body read and discarded so that the client can read its 413 (within `requestTimeoutMs`). Default 64 MiB. */
  maxDrainBytes?: number;
  /** Telemetry's part of the HTTP server (`run()` passes it when telemetry is on). */
  telemetry?: HttpTelemetry;
}

/** What telemetry adds to the HTTP server: its routes, the HTTP request's trace context, session counts. */
export interface HttpTelemetry {
  /** Whether `/metrics` and `/status` are served here, behind the same checks and auth as `/mcp`. */
  readonly besideMcp: boolean;
  /** Serves a telemetry path; false when `path` is not one. */
  handle(path: string, req: IncomingMessage, res: ServerResponse): boolean;
  /** Runs `serve` (one /mcp request) inside the HTTP request's own trace context. */
  aroundRequest<T>(req: IncomingMessage, serve: () => T): T;
  /** Reports a session opened; the result is called when it closes. */
  sessionOpened(): () => void;
}

export interface ResolvedHttpOptions {
  port: number;
  host: string;
  /** undefined: the Host header is not checked. */
  allowedHosts: readonly string[] | undefined;
  /** undefined: the Origin header is not checked. */
  allowedOrigins: { origins: ReadonlySet<string>; hostnames: readonly string[] } | undefined;
  authToken: string | undefined;
  jwt: { jwksUrl: string; issuer?: string; audience?: string; subjectless?: SubjectlessTokenPolicy } | undefined;
  publicUrl: string | undefined;
  maxBodyBytes: number;
  maxSessions: number;
  maxSessionsPerClient: number;
  trustProxy: BlockList | undefined;
  sessionIdleTimeoutMs: number;
  maxEventsPerSession: number;
  sessions: boolean;
  fastPath: boolean;
  shutdownGraceMs: number;
  telemetry: HttpTelemetry | undefined;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxDrainBytes: number;
}

/** Maps the loaded `httpConfigSchema` values to transport options. */
export function httpOptionsFromConfig(config: Readonly<Record<string, unknown>>): HttpTransportOptions {
  const c = config as unknown as Partial<HttpConfig>;
  const jwksUrl = c.AUTH_JWKS_URL;
  return {
    ...(c.PORT !== undefined && { port: c.PORT }),
    ...(c.HOST !== undefined && { host: c.HOST }),
    ...(c.ALLOWED_HOSTS !== undefined && { allowedHosts: c.ALLOWED_HOSTS }),
    ...(c.ALLOWED_ORIGINS !== undefined && { allowedOrigins: c.ALLOWED_ORIGINS }),
    ...(c.AUTH_TOKEN !== undefined && { authToken: c.AUTH_TOKEN }),
    ...(jwksUrl !== undefined && {
      jwt: {
        jwksUrl,
        ...(c.AUTH_ISSUER !== undefined && { issuer: c.AUTH_ISSUER }),
        ...(c.AUTH_AUDIENCE !== undefined && { audience: c.AUTH_AUDIENCE }),
        ...(c.AUTH_SUBJECTLESS_TOKENS !== undefined && { subjectless: c.AUTH_SUBJECTLESS_TOKENS }),
      },
    }),
    ...(c.PUBLIC_URL !== undefined && { publicUrl: c.PUBLIC_URL }),
    ...(c.MAX_BODY_BYTES !== undefined && { maxBodyBytes: c.MAX_BODY_BYTES }),
    ...(c.MAX_SESSIONS !== undefined && { maxSessions: c.MAX_SESSIONS }),
    ...(c.MAX_SESSIONS_PER_CLIENT !== undefined && { maxSessionsPerClient: c.MAX_SESSIONS_PER_CLIENT }),
    ...(c.TRUST_PROXY !== undefined && { trustProxy: c.TRUST_PROXY }),
    ...(c.SESSION_IDLE_TIMEOUT_MS !== undefined && { sessionIdleTimeoutMs: c.SESSION_IDLE_TIMEOUT_MS }),
    ...(c.SESSIONS !== undefined && { sessions: c.SESSIONS === 'on' }),
    ...(c.SHUTDOWN_GRACE_MS !== undefined && { shutdownGraceMs: c.SHUTDOWN_GRACE_MS }),
    ...(c.HEADERS_TIMEOUT_MS !== undefined && { headersTimeoutMs: c.HEADERS_TIMEOUT_MS }),
    ...(c.REQUEST_TIMEOUT_MS !== undefined && { requestTimeoutMs: c.REQUEST_TIMEOUT_MS }),
    ...(c.KEEP_ALIVE_TIMEOUT_MS !== undefined && { keepAliveTimeoutMs: c.KEEP_ALIVE_TIMEOUT_MS }),
  };
}

/** Whether `host` names this machine only (a loopback address or `localhost`). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || bare === '0:0:0:0:0:0:0:1' || bare.startsWith('::ffff:127.');
  return false;
}

/** Thrown at start when the options would expose an unprotected server. */
export class HttpConfigError extends Error {
  readonly code = 'HTTP_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'HttpConfigError';
  }
}

function positiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min)
    throw new TypeError(`option ${name} must be an integer ≥ ${min}, got ${String(value)}`);
  return value;
}

/** Validates options (a TypeError names the bad one) and fills in defaults. */
export function resolveHttpOptions(options: HttpTransportOptions): ResolvedHttpOptions {
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host.length === 0)
    throw new TypeError(`option host must be a non-empty string, got ${String(host)}`);
  const port = positiveInt('port', options.port, 3000, 0);
  if (port > 65535) throw new TypeError(`option port must be at most 65535, got ${port}`);
  if (options.authToken !== undefined && (typeof options.authToken !== 'string' || options.authToken.length < 16)) {
    throw new TypeError('option authToken must be a string of at least 16 characters');
  }
  if (options.jwt) {
    try {
      new URL(options.jwt.jwksUrl);
    } catch {
      throw new TypeError(`option jwt.jwksUrl must be an absolute URL, got ${JSON.stringify(options.jwt.jwksUrl)}`);
    }
    const { subjectless } = options.jwt;
    if (subjectless !== undefined && subjectless !== 'token-id' && subjectless !== 'refuse') {
      throw new TypeError(`option jwt.subjectless must be "token-id" or "refuse", got ${JSON.stringify(subjectless)}`);
    }
  }
  const loopback = isLoopbackHost(host);
  const auth = options.authToken !== undefined || options.jwt !== undefined;
  const listed = (list: readonly string[] | undefined) => (list && list.length > 0 ? list : undefined);
  let allowedHosts = listed(options.allowedHosts)?.map((h) => h.trim().toLowerCase());
  if (!allowedHosts && !loopback && !auth) {
    throw new HttpConfigError(
      `refusing to serve HTTP on ${host} without protection: anyone who can reach it could use every tool. ` +
        'Set ALLOWED_HOSTS (the host names clients use, e.g. mcp.example.com) and ALLOWED_ORIGINS, or enable auth with AUTH_TOKEN or AUTH_JWKS_URL, ' +
        'or bind a loopback address (HOST=127.0.0.1).',
    );
  }
  if (!allowedHosts && loopback) allowedHosts = localhostAllowedHostnames();
  const originList = listed(options.allowedOrigins) ?? (loopback ? localhostAllowedHostnames() : allowedHosts);
  let allowedOrigins: ResolvedHttpOptions['allowedOrigins'];
  if (originList) {
    const origins = new Set<string>();
    const hostnames: string[] = [];
    for (const item of originList) {
      const value = item.trim();
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) origins.add(new URL(value).origin);
      else hostnames.push(value.toLowerCase());
    }
    allowedOrigins = { origins, hostnames };
  }
  const maxSessions = positiveInt('maxSessions', options.maxSessions, 10_000);
  const requestTimeoutMs = positiveInt('requestTimeoutMs', options.requestTimeoutMs, 30_000);
  const headersTimeoutMs = positiveInt(
    'headersTimeoutMs',
    options.headersTimeoutMs,
    Math.min(10_000, requestTimeoutMs),
  );
  // Node refuses a headers timeout longer than the request timeout (which covers the headers too).
  if (headersTimeoutMs > requestTimeoutMs)
    throw new TypeError(
      `option headersTimeoutMs (${headersTimeoutMs}) must not exceed requestTimeoutMs (${requestTimeoutMs})`,
    );
  return {
    port,
    host,
    allowedHosts,
    allowedOrigins,
    authToken: options.authToken,
    jwt: options.jwt,
    publicUrl: options.publicUrl,
    maxBodyBytes: positiveInt('maxBodyBytes', options.maxBodyBytes, 4 * 1024 * 1024),
    maxSessions,
    maxSessionsPerClient: positiveInt(
      'maxSessionsPerClient',
      options.maxSessionsPerClient,
      Math.min(2_000, maxSessions),
    ),
    trustProxy: options.trustProxy && options.trustProxy.length > 0 ? trustedProxies(options.trustProxy) : undefined,
    sessionIdleTimeoutMs: positiveInt('sessionIdleTimeoutMs', options.sessionIdleTimeoutMs, 30 * 60_000),
    maxEventsPerSession: positiveInt('maxEventsPerSession', options.maxEventsPerSession, 256, 0),
    sessions: options.sessions ?? true,
    fastPath: options.fastPath ?? true,
    shutdownGraceMs: positiveInt('shutdownGraceMs', options.shutdownGraceMs, 10_000, 0),
    telemetry: options.telemetry,
    headersTimeoutMs,
    requestTimeoutMs,
    keepAliveTimeoutMs: positiveInt('keepAliveTimeoutMs', options.keepAliveTimeoutMs, 5_000),
    maxDrainBytes: positiveInt('maxDrainBytes', options.maxDrainBytes, 64 * 1024 * 1024, 0),
  };
}
