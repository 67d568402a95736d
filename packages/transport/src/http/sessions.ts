import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  WebStandardStreamableHTTPServerTransport,
  type AuthInfo,
  type JSONRPCRequest,
  type Server,
} from '@modelcontextprotocol/server';
import { AbortReasons, Connection, ErrorCodes, type Logger, type TrellisServer } from '@trellis/server';
import { AnswerStream } from '../direct/answer-stream.js';
import { isPlainObject, takesFastPath } from '../direct/eligibility.js';
import { serveFastCall } from '../direct/serve.js';
import { boundedEventStore } from './event-store.js';
import { SessionAdmission, type AdmissionOptions, type AdmissionTicket } from './session-admission.js';
import { rpcError, sendJson, writeWebResponse } from './wire.js';

interface Session {
  readonly transport: WebStandardStreamableHTTPServerTransport;
  readonly protocol: Server;
  /** Who opened it: a session is only served to the same principal. */
  readonly principal: string | undefined;
  /** Requests (and open GET streams) in progress; an active session never idles out. */
  active: number;
  timer: NodeJS.Timeout | undefined;
  /** The session's calls in flight (fast path and SDK alike), its log level. */
  readonly connection: Connection;
  /** What `onSessionOpened` returned: called once when the session closes. */
  ended?: (() => void) | undefined;
}

export interface SessionOptions extends AdmissionOptions {
  maxEventsPerSession: number;
  /** Serve plain tool calls on the fast path. */
  fastPath: boolean;
  /** Told when a session opens (telemetry); what it returns is called when the session closes. */
  onSessionOpened?: (() => () => void) | undefined;
}

const principalOf = (auth: AuthInfo | undefined) =>
  auth ? `${auth.clientId}\u0000${String(auth.extra?.sub ?? '')}` : undefined;

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
  /** The session caps (global and per client), see session-admission.ts. */
  readonly #admission: SessionAdmission;
  #closed = false;

  constructor(core: TrellisServer, options: SessionOptions, log: Logger) {
    this.#core = core;
    this.#options = options;
    this.#log = log;
    this.#admission = new SessionAdmission(
      options,
      log,
      (id) =>
        void this.#sessions
          .get(id)
          ?.transport.close()
          .catch(() => undefined),
    );
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
      if (!session || session.principal !== principalOf(auth))
        return sendJson(res, 404, rpcError(ErrorCodes.SessionNotFound, 'Session not found', requestId(body)));
      this.#admission.seen(id, request.method, body);
      observeCancellations(session, body);
      return this.#serve(session, request, res, body, auth);
    }
    if (request.method !== 'POST' || !isInitialize(body)) {
      return sendJson(
        res,
        400,
        rpcError(ErrorCodes.TransportRejected, 'Bad Request: Mcp-Session-Id header is required', requestId(body)),
      );
    }
    if (this.#closed)
      return sendJson(res, 503, rpcError(ErrorCodes.TransportRejected, 'Server is shutting down', requestId(body)), {
        'retry-after': '5',
      });
    const ticket = this.#admission.admit(res.req, auth);
    if (!ticket.ok)
      return sendJson(
        res,
        ticket.status,
        rpcError(ticket.code, ticket.message, requestId(body), ticket.data),
        ticket.headers,
      );
    try {
      const session = await this.#open(auth, ticket);
      await this.#serve(session, request, res, body, auth);
    } finally {
      // A no-op once the session has its id.
      ticket.release();
    }
  }

  /**
   * Serves a plain `tools/call` on an open session straight from the parsed
   * body when the one fast-path rule accepts it (`direct/eligibility.ts`),
   * without building a web request or going through the SDK transport:
   * answered as JSON, or as an event stream once the tool sends progress or
   * logs. Returns false to leave the request to the SDK path.
   */
  tryDirect(req: IncomingMessage, res: ServerResponse, body: unknown, auth: AuthInfo | undefined): boolean {
    if (!this.#options.fastPath) return false;
    const header = req.headers['mcp-session-id'];
    if (typeof header !== 'string') return false;
    const session = this.#sessions.get(header);
    if (
      !session ||
      session.principal !== principalOf(auth) ||
      !takesFastPath(this.#core, session.connection, body, req.headers)
    )
      return false;
    this.#admission.seen(header, 'POST', body);
    this.#direct(session, res, body, auth).catch((error: unknown) => {
      // Nothing may escape as an unhandled rejection: answer what can still be answered.
      this.#log.error({ err: error }, 'fast tool call failed');
      if (!res.headersSent) sendJson(res, 500, rpcError(ErrorCodes.InternalError, 'Internal error', body.id));
      else res.end();
    });
    return true;
  }

  async #direct(
    session: Session,
    res: ServerResponse,
    message: JSONRPCRequest,
    auth: AuthInfo | undefined,
  ): Promise<void> {
    const { connection } = session;
    session.active += 1;
    res.once('close', () => {
      session.active -= 1;
      session.timer?.refresh();
      if (!res.writableFinished) connection.cancel(message.id, new Error(AbortReasons.clientDisconnected));
    });
    const stream = new AnswerStream(res, { 'mcp-session-id': session.transport.sessionId! });
    const answer = await serveFastCall(this.#core, connection, message, stream.event, auth);
    stream.finish(answer.message, 200);
  }

  async #open(auth: AuthInfo | undefined, ticket: AdmissionTicket): Promise<Session> {
    const connection = new Connection({ transport: 'http', era: 'legacy' });
    const protocol = this.#core.createProtocolServer({ era: 'legacy', track: true, connection });
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      eventStore: boundedEventStore(this.#options.maxEventsPerSession),
      onsessioninitialized: (id) => {
        connection.sessionId = id;
        this.#sessions.set(id, session);
        session.ended = this.#options.onSessionOpened?.();
        ticket.open(id);
        this.#arm(session);
        this.#log.debug({ session: id, sessions: this.#sessions.size }, 'session opened');
      },
      // A DELETE from the client: its calls in flight end with it.
      onsessionclosed: (id) => {
        connection.close(new Error(AbortReasons.sessionDeleted));
        this.#forget(id);
      },
    });
    const session: Session = {
      transport,
      protocol,
      principal: principalOf(auth),
      active: 0,
      timer: undefined,
      connection,
    };
    // Set before connect: the protocol object chains its own close handler after this one.
    transport.onclose = () => {
      connection.close(new Error(this.#closed ? AbortReasons.shutdown : AbortReasons.sessionClosed));
      if (transport.sessionId !== undefined) this.#forget(transport.sessionId);
    };
    await protocol.connect(transport);
    return session;
  }

  async #serve(
    session: Session,
    request: Request,
    res: ServerResponse,
    body: unknown,
    auth: AuthInfo | undefined,
  ): Promise<void> {
    session.active += 1;
    res.once('close', () => {
      session.active -= 1;
      session.timer?.refresh();
      // The client went away before its answers: the calls of this POST end, as on the fast path.
      if (!res.writableFinished)
        for (const id of requestIds(body)) session.connection.cancel(id, new Error(AbortReasons.clientDisconnected));
    });
    const response = await session.transport.handleRequest(request, {
      parsedBody: body,
      ...(auth && { authInfo: auth }),
    });
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
    session.ended?.();
    this.#sessions.delete(id);
    this.#admission.closed(id);
    this.#log.debug({ session: id, sessions: this.#sessions.size }, 'session closed');
  }

  /** Closes every session (their open streams end). */
  async closeAll(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#sessions.values()].map((s) => s.transport.close().catch(() => undefined)));
    for (const id of [...this.#sessions.keys()]) this.#forget(id);
  }
}

/** A client's `notifications/cancelled` aborts the call on the session's in-flight record, whichever path serves it. */
function observeCancellations(session: Session, body: unknown): void {
  for (const message of Array.isArray(body) ? body : [body]) {
    if (!isPlainObject(message) || message.method !== 'notifications/cancelled' || !isPlainObject(message.params))
      continue;
    const reason = typeof message.params.reason === 'string' ? message.params.reason : AbortReasons.clientCancelled;
    session.connection.cancel(message.params.requestId as string | number, new Error(reason));
  }
}

/** The ids of the requests in a POST body. */
function requestIds(body: unknown): (string | number)[] {
  const ids: (string | number)[] = [];
  for (const message of Array.isArray(body) ? body : [body]) {
    if (
      isPlainObject(message) &&
      typeof message.method === 'string' &&
      (typeof message.id === 'string' || typeof message.id === 'number')
    )
      ids.push(message.id);
  }
  return ids;
}

function requestId(body: unknown): unknown {
  return body && typeof body === 'object' && !Array.isArray(body) ? (body as { id?: unknown }).id : undefined;
}
