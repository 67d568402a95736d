import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { WebStandardStreamableHTTPServerTransport, type AuthInfo, type Server } from '@modelcontextprotocol/server';
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
    const session: Session = { transport, protocol, principal: principalOf(auth), active: 0, timer: undefined };
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

function requestId(body: unknown): unknown {
  return body && typeof body === 'object' && !Array.isArray(body) ? (body as { id?: unknown }).id : undefined;
}
