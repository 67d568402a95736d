import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  PROTOCOL_VERSION_META_KEY,
  SUPPORTED_PROTOCOL_VERSIONS,
  WebStandardStreamableHTTPServerTransport,
  type AuthInfo,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type LoggingLevel,
  type Server,
} from '@modelcontextprotocol/server';
import { isDirectToolCall, isPlainObject, LOG_SEVERITY, runDirectCall } from '../direct/call.js';
import type { Logger, TrellisServer } from '@trellis/server';
import { boundedEventStore } from './event-store.js';
import { rpcError, sendJson, writeWebResponse } from './wire.js';

interface Session {
  readonly transport: WebStandardStreamableHTTPServerTransport;
  readonly protocol: Server;
  /** Who opened it: a session is only served to the same principal. */
  readonly principal: string | undefined;
  /** Requests (and open GET streams) in progress; an active session never idles out. */
  active: number;
  timer: NodeJS.Timeout | undefined;
  /** Tool calls served directly, by request id (for cancellation). */
  readonly direct: Map<string | number, AbortController>;
  /** The level the client set with `logging/setLevel` (the SDK keeps its own copy). */
  logLevel: LoggingLevel | undefined;
}

export interface SessionOptions {
  maxSessions: number;
  idleTimeoutMs: number;
  maxEventsPerSession: number;
}

const principalOf = (auth: AuthInfo | undefined) => (auth ? `${auth.clientId}\u0000${String(auth.extra?.sub ?? '')}` : undefined);

function isInitialize(body: unknown): boolean {
  if (Array.isArray(body)) return body.some(isInitialize);
  return typeof body === 'object' && body !== null && (body as { method?: unknown }).method === 'initialize';
}

/**
 * Older-protocol (2025-era) clients: one SDK transport and protocol object per
 * session, so server-to-client requests, notifications and resumption work.
 * Bounded by a cap and an idle timeout.
 */
export class LegacySessions {
  readonly #core: TrellisServer;
  readonly #options: SessionOptions;
  readonly #log: Logger;
  readonly #sessions = new Map<string, Session>();
  /** Sessions being created (initialize in progress), counted against the cap. */
  #opening = 0;
  #closed = false;

  constructor(core: TrellisServer, options: SessionOptions, log: Logger) {
    this.#core = core;
    this.#options = options;
    this.#log = log;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /**
   * Serves one older-protocol HTTP request. Takes the web `Request` the front
   * door already built (for the era check) and writes the SDK's web `Response`
   * straight to the socket, chunk by chunk, so nothing is converted twice.
   */
  async handle(request: Request, res: ServerResponse, body: unknown, auth: AuthInfo | undefined): Promise<void> {
    const id = request.headers.get('mcp-session-id') ?? undefined;
    if (id !== undefined) {
      const session = this.#sessions.get(id);
      // Another principal's session is answered like an unknown one: its existence is not disclosed.
      if (!session || session.principal !== principalOf(auth)) return sendJson(res, 404, rpcError(-32001, 'Session not found', requestId(body)));
      observe(session, body);
      return this.#serve(session, request, res, body, auth);
    }
    if (request.method !== 'POST' || !isInitialize(body)) {
      return sendJson(res, 400, rpcError(-32000, 'Bad Request: Mcp-Session-Id header is required', requestId(body)));
    }
    if (this.#closed) return sendJson(res, 503, rpcError(-32000, 'Server is shutting down', requestId(body)), { 'retry-after': '5' });
    if (this.#sessions.size + this.#opening >= this.#options.maxSessions) {
      this.#log.warn({ sessions: this.#sessions.size, max: this.#options.maxSessions }, 'session cap reached; refusing a new session');
      return sendJson(
        res,
        503,
        rpcError(-32000, `Server busy: it holds the maximum of ${this.#options.maxSessions} sessions; retry later`, requestId(body), { maxSessions: this.#options.maxSessions }),
        { 'retry-after': '30' },
      );
    }
    this.#opening += 1;
    let opened = false;
    try {
      const session = await this.#open(auth);
      opened = true;
      this.#opening -= 1;
      await this.#serve(session, request, res, body, auth);
    } finally {
      if (!opened) this.#opening -= 1;
    }
  }

  /**
   * Serves a plain `tools/call` on an open session straight from the parsed
   * body (see `direct/call.ts`), without building a web request or going
   * through the SDK transport: answered as JSON, or as an event stream once
   * the tool sends progress or logs. Returns false to leave the request to
   * the SDK path (anything unusual, and handshakes).
   */
  tryDirect(req: IncomingMessage, res: ServerResponse, body: unknown, auth: AuthInfo | undefined, webRequest: () => Request): boolean {
    const header = req.headers['mcp-session-id'];
    if (typeof header !== 'string' || !isDirectToolCall(body, 'legacy')) return false;
    const meta = (body.params as { _meta?: Record<string, unknown> })._meta;
    if (meta && PROTOCOL_VERSION_META_KEY in meta) return false;
    const version = req.headers['mcp-protocol-version'];
    if (version !== undefined && (typeof version !== 'string' || !SUPPORTED_PROTOCOL_VERSIONS.includes(version))) return false;
    const accept = req.headers.accept ?? '';
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) return false;
    const session = this.#sessions.get(header);
    if (!session || session.principal !== principalOf(auth) || session.protocol.getClientCapabilities() === undefined) return false;
    if (session.direct.has(body.id)) return false;
    this.#direct(session, res, body, auth, webRequest).catch((error: unknown) => {
      // Nothing may escape as an unhandled rejection: answer what can still be answered.
      this.#log.error({ err: error }, 'direct tool call failed');
      if (!res.headersSent) sendJson(res, 500, rpcError(-32603, 'Internal error', body.id));
      else res.end();
    });
    return true;
  }

  async #direct(session: Session, res: ServerResponse, message: JSONRPCRequest, auth: AuthInfo | undefined, webRequest: () => Request): Promise<void> {
    const sessionId = session.transport.sessionId!;
    const controller = new AbortController();
    session.direct.set(message.id, controller);
    session.active += 1;
    res.once('close', () => {
      session.active -= 1;
      session.timer?.refresh();
    });
    let streaming = false;
    const stream = (event: JSONRPCMessage) => {
      if (res.destroyed) return;
      if (!streaming) {
        streaming = true;
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'mcp-session-id': sessionId });
      }
      res.write(`event: message\ndata: ${JSON.stringify(event)}\n\n`);
    };
    let outcome;
    try {
      outcome = await runDirectCall(this.#core, session.protocol, 'legacy', message, controller.signal, {
        push: 'handover',
        sessionId,
        ...(auth && { authInfo: auth }),
        notify: async (notification) => stream({ jsonrpc: '2.0', ...notification } as JSONRPCMessage),
        log: async (level, data, logger) => {
          if (session.logLevel !== undefined && LOG_SEVERITY[level] < LOG_SEVERITY[session.logLevel]) return;
          stream({ jsonrpc: '2.0', method: 'notifications/message', params: { level, data, ...(logger !== undefined && { logger }) } });
        },
      });
    } finally {
      session.direct.delete(message.id);
    }
    if (outcome.kind === 'handover') {
      // The SDK runs the call again (it can ask the client). If this response has
      // already begun as an event stream, the SDK's events continue it.
      if (!streaming) return this.handle(webRequest(), res, message, auth);
      const response = await session.transport.handleRequest(webRequest(), { parsedBody: message, ...(auth && { authInfo: auth }) });
      if (response.body && response.headers.get('content-type')?.includes('text/event-stream')) {
        for await (const chunk of response.body) if (!res.destroyed) res.write(chunk);
      } else {
        const text = await response.text();
        if (text && !res.destroyed) res.write(`event: message\ndata: ${text}\n\n`);
      }
      res.end();
      return;
    }
    const answer =
      outcome.kind === 'result'
        ? { jsonrpc: '2.0', id: message.id, result: outcome.result }
        : outcome.kind === 'error'
          ? { jsonrpc: '2.0', id: message.id, error: outcome.error }
          : undefined;
    if (streaming) {
      if (answer) stream(answer as JSONRPCMessage);
      res.end();
    } else if (answer) {
      sendJson(res, 200, JSON.stringify(answer), { 'mcp-session-id': sessionId });
    } else {
      // Cancelled: the client no longer waits for an answer.
      res.writeHead(202, { 'mcp-session-id': sessionId }).end();
    }
  }

  async #open(auth: AuthInfo | undefined): Promise<Session> {
    const protocol = this.#core.createProtocolServer({ era: 'legacy', track: true });
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      eventStore: boundedEventStore(this.#options.maxEventsPerSession),
      onsessioninitialized: (id) => {
        this.#sessions.set(id, session);
        this.#arm(session);
        this.#log.debug({ session: id, sessions: this.#sessions.size }, 'session opened');
      },
      onsessionclosed: (id) => this.#forget(id),
    });
    const session: Session = { transport, protocol, principal: principalOf(auth), active: 0, timer: undefined, direct: new Map(), logLevel: undefined };
    // Set before connect: the protocol object chains its own close handler after this one.
    transport.onclose = () => {
      if (transport.sessionId !== undefined) this.#forget(transport.sessionId);
    };
    await protocol.connect(transport);
    return session;
  }

  async #serve(session: Session, request: Request, res: ServerResponse, body: unknown, auth: AuthInfo | undefined): Promise<void> {
    session.active += 1;
    res.once('close', () => {
      session.active -= 1;
      session.timer?.refresh();
    });
    const response = await session.transport.handleRequest(request, { parsedBody: body, ...(auth && { authInfo: auth }) });
    await writeWebResponse(res, response);
    // An initialize that did not produce a session (rejected by the SDK) leaves nothing behind.
    if (session.transport.sessionId === undefined) await session.protocol.close().catch(() => undefined);
  }

  /** Closes the session after the idle timeout, unless a request or stream is still open. */
  #arm(session: Session): void {
    session.timer = setTimeout(() => {
      if (session.active > 0) {
        session.timer?.refresh();
        return;
      }
      this.#log.debug({ session: session.transport.sessionId }, 'session idle; closing it');
      void session.transport.close().catch(() => undefined);
    }, this.#options.idleTimeoutMs);
    session.timer.unref();
  }

  #forget(id: string): void {
    const session = this.#sessions.get(id);
    if (!session) return;
    clearTimeout(session.timer);
    this.#sessions.delete(id);
    this.#log.debug({ session: id, sessions: this.#sessions.size }, 'session closed');
  }

  /** Closes every session (their open streams end). */
  async closeAll(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#sessions.values()].map((s) => s.transport.close().catch(() => undefined)));
    for (const id of [...this.#sessions.keys()]) this.#forget(id);
  }
}

/** Keeps what the direct path needs to know from messages the SDK serves: log level, cancellations. */
function observe(session: Session, body: unknown): void {
  for (const message of Array.isArray(body) ? body : [body]) {
    if (!isPlainObject(message) || !isPlainObject(message.params)) continue;
    if (message.method === 'logging/setLevel' && typeof message.params.level === 'string' && message.params.level in LOG_SEVERITY) {
      session.logLevel = message.params.level as LoggingLevel;
    } else if (message.method === 'notifications/cancelled') {
      const reason = typeof message.params.reason === 'string' ? message.params.reason : 'the client cancelled the request';
      session.direct.get(message.params.requestId as string | number)?.abort(new Error(reason));
    }
  }
}

function requestId(body: unknown): unknown {
  return body && typeof body === 'object' && !Array.isArray(body) ? (body as { id?: unknown }).id : undefined;
}
