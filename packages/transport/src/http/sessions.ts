import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  Server,
  WebStandardStreamableHTTPServerTransport,
  type AuthInfo,
  type JSONRPCMessage,
  type ServerEvent,
} from '@modelcontextprotocol/server';
import {
  AbortReasons,
  changeOfEvent,
  Connection,
  ErrorCodes,
  legacyChangeNotification,
  principalOf,
  type Logger,
  type SharedSessionStore,
  type SharedSubscriptions,
  type TrellisServer,
} from '@trellis/server';
import { AnswerStream } from '../direct/answer-stream.js';
import { isPlainObject, takesFastPath } from '../direct/eligibility.js';
import { serveFastCall } from '../direct/serve.js';
import { boundedEventStore, sharedSessionEventStore } from './event-store.js';
import { SessionAdmission, type AdmissionOptions, type AdmissionTicket } from './session-admission.js';
import { rpcError, sendJson, writeWebResponse } from './wire.js';

/** The SDK's per-session objects: made for the handshake, and again only when the session needs them. */
interface SdkObjects {
  readonly transport: WebStandardStreamableHTTPServerTransport;
  readonly protocol: Server;
}

/**
 * An older-protocol session as Trellis holds it: a small record. Between
 * requests an ordinary session (handshake done, plain tool calls) holds no
 * SDK objects: the fast path reads what it needs from `connection` (calls in
 * flight, the log level, the client's capabilities). Anything else the client
 * sends (a listing, a GET stream, a subscription, DELETE, a tool that asks the
 * client) makes the SDK's transport and protocol object again, by replaying
 * the client's own handshake into them, and they stay for the session's life.
 * This record is the boundary a shared session store would persist
 * (`docs/architecture.md`, "Older-protocol sessions").
 */
export interface LegacySession {
  /** The `Mcp-Session-Id` (set once the SDK accepts the handshake). */
  id: string;
  /** Who opened it: a session is only served to the same principal. */
  readonly principal: string | undefined;
  /** The session's calls in flight (fast path and SDK alike), its log level, the client's capabilities. */
  readonly connection: Connection;
  /** The client's `initialize` message as it sent it: replayed into SDK objects made later. */
  readonly handshake: unknown;
  /** Requests (and open GET streams) in progress; an active session never idles out. */
  active: number;
  timer: NodeJS.Timeout | undefined;
  /** What `onSessionOpened` returned: called once when the session closes. */
  ended: (() => void) | undefined;
  /** The SDK's objects, while the session has them. */
  sdk: SdkObjects | undefined;
  /** SDK objects being made for the session (requests arriving meanwhile wait for the same ones). */
  attaching: Promise<SdkObjects> | undefined;
  /** Until the handshake's SDK objects are released (once, after `notifications/initialized`). */
  handshaking: boolean;
  /** A shared store only: the record being saved there (the client hears of the session once it is saved). */
  saving: Promise<void> | undefined;
  /** A shared store only: used since the last fleet-wide touch. */
  used: boolean;
  /** A shared store only: the version of the subscriptions the connection holds (an older list never replaces them). */
  subscriptionsVersion: number;
}

export interface SessionOptions extends AdmissionOptions {
  maxEventsPerSession: number;
  /** Serve plain tool calls on the fast path. */
  fastPath: boolean;
  /** Told when a session opens (telemetry); what it returns is called when the session closes. */
  onSessionOpened?: (() => () => void) | undefined;
}

/** A POST carrying only the client's `notifications/initialized` (the end of the handshake). */
function isInitializedNotification(body: unknown): boolean {
  return isPlainObject(body) && body.method === 'notifications/initialized' && !('id' in body);
}

function isInitialize(body: unknown): boolean {
  if (Array.isArray(body)) return body.some(isInitialize);
  return typeof body === 'object' && body !== null && (body as { method?: unknown }).method === 'initialize';
}

/**
 * Older-protocol (2025-era) clients: a session per client, each a small
 * record (`LegacySession`) that holds the SDK's transport and protocol object
 * only while it needs them, so that server-to-client requests, notifications
 * and resumption work. Bounded by a cap and an idle timeout.
 */
export class LegacySessions {
  readonly #core: TrellisServer;
  readonly #options: SessionOptions;
  readonly #log: Logger;
  readonly #sessions = new Map<string, LegacySession>();
  /** The session caps (global and per client), see session-admission.ts. */
  readonly #admission: SessionAdmission;
  /** Projects fast-path results for sessions holding no SDK objects (the older era's codec; never connected). */
  #projector: Server | undefined;
  #closed = false;
  /** Sessions shared with other instances (the fleet plugin); none: every session lives here only. */
  readonly #store: SharedSessionStore | undefined;
  /** Sessions of other instances being read from the store (requests arriving meanwhile share the read). */
  readonly #adopting = new Map<string, Promise<LegacySession | undefined>>();
  #stopStore: (() => void)[] = [];
  #sweeper: NodeJS.Timeout | undefined;
  /**
   * A shared store only: this instance's mark on the ids of its requests to clients (elicitation,
   * sampling) and on its GET-stream events, so that they are unique in the fleet: the client's answer
   * reaches every instance, and only the one that asked takes it.
   */
  readonly #tag = randomBytes(4).toString('hex');

  constructor(core: TrellisServer, options: SessionOptions, log: Logger) {
    this.#core = core;
    this.#options = options;
    this.#log = log;
    this.#store = core.sessionStore;
    const store = this.#store;
    this.#admission = new SessionAdmission(
      { ...options, ...(store && { sharedCount: () => store.count }) },
      log,
      (id) => {
        const session = this.#sessions.get(id);
        if (session) this.#close(session, AbortReasons.sessionClosed);
      },
    );
    if (store) {
      // A session ended anywhere (DELETE on another instance, fleet-wide idle expiry) ends its copy here.
      this.#stopStore.push(
        store.onRemoved((id) => {
          const session = this.#sessions.get(id);
          if (session) this.#close(session, AbortReasons.sessionDeleted);
        }),
        // What a client sent to another instance for a call or a request of this one: a cancel, an answer.
        store.onRelayed((id, messages) => {
          const session = this.#sessions.get(id);
          if (!session) return;
          observeCancellations(session, messages);
          const answers = this.#ownAnswers(messages);
          if (answers.length > 0 && session.sdk) void this.#feed(session.sdk, session.id, answers);
        }),
        // A subscription made or dropped through any instance: the one holding the GET stream hears it here.
        store.onSubscriptions((id, subscriptions) => {
          const session = this.#sessions.get(id);
          if (session) applySubscriptions(session, subscriptions);
        }),
      );
      // Marks the sessions used here as used fleet-wide, then expires the idle ones; a few times per idle timeout.
      const every = Math.max(250, Math.min(15_000, Math.floor(options.idleTimeoutMs / 4)));
      this.#sweeper = setInterval(() => void this.#sweep(store), every);
      this.#sweeper.unref();
    }
  }

  /** Hands answers relayed from another instance to the session's SDK objects, whose handler waits for them. */
  async #feed(sdk: SdkObjects, id: string, answers: readonly unknown[]): Promise<void> {
    try {
      const headers = {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': id,
      };
      const response = await sdk.transport.handleRequest(
        new Request('http://localhost/mcp', { method: 'POST', headers }),
        { parsedBody: answers.length === 1 ? answers[0] : answers },
      );
      await response.body?.cancel();
    } catch (error) {
      this.#log.debug({ err: error, session: id }, 'a relayed answer could not be delivered');
    }
  }

  /**
   * With a shared store, a session held here is checked there on each request
   * (one indexed read): a session ended on another instance is not served
   * here, and the log level set through another instance applies here.
   */
  async #verify(session: LegacySession): Promise<boolean> {
    const state = await this.#store!.check(session.id, session.subscriptionsVersion);
    if (!state) {
      this.#close(session, AbortReasons.sessionDeleted);
      return false;
    }
    session.connection.logLevel = state.logLevel as Connection['logLevel'];
    if (state.subscriptions) applySubscriptions(session, state.subscriptions);
    return true;
  }

  /**
   * The answers among relayed messages that answer this instance's requests, with the ids its
   * protocol object gave them (see `#tagRequests`); answers to other instances' requests are theirs.
   */
  #ownAnswers(messages: readonly unknown[]): unknown[] {
    const mark = `${this.#tag}-`;
    const own: unknown[] = [];
    for (const message of messages) {
      if (!isResponse(message)) continue;
      const { id } = message as { id: unknown };
      if (typeof id !== 'string' || !id.startsWith(mark)) continue;
      const untagged = Number(id.slice(mark.length));
      if (Number.isSafeInteger(untagged)) own.push({ ...(message as object), id: untagged });
    }
    return own;
  }

  /**
   * Marks the ids of the requests the session's protocol object sends the client (and of its cancels
   * of them) with this instance's tag: two instances' protocol objects number their requests alike.
   */
  #tagRequests(transport: WebStandardStreamableHTTPServerTransport): void {
    const send = transport.send.bind(transport);
    const tag = this.#tag;
    transport.send = (message, options) => send(tagged(message, tag), options);
  }

  /**
   * A shared session's subscriptions live in the store: a `resources/subscribe`
   * served here is recorded there, and whichever instance holds the session's
   * GET stream delivers the updates for them (the bus brings every update to
   * every instance; the store tells every instance each change of the list).
   */
  #shareSubscriptions(session: LegacySession, subscriptions: SharedSubscriptions): void {
    const store = this.#store!;
    const { connection } = session;
    applySubscriptions(session, subscriptions);
    connection.shareSubscription = async (uri, subscribed) => {
      applySubscriptions(session, await store.setSubscribed(session.id, uri, subscribed));
    };
  }

  async #sweep(store: SharedSessionStore): Promise<void> {
    const used: string[] = [];
    for (const session of this.#sessions.values()) {
      if (!session.used && session.active === 0) continue;
      session.used = false;
      used.push(session.id);
    }
    try {
      if (used.length > 0) await store.touch(used);
      await store.expire(this.#options.idleTimeoutMs);
    } catch (error) {
      this.#log.warn({ err: error }, 'the shared session store could not be updated; retrying');
    }
  }

  /**
   * A session this instance does not hold: read from the shared store (one
   * indexed read), then served here like one opened here, from a local copy
   * that goes when it idles here or ends anywhere.
   */
  #adopt(id: string): Promise<LegacySession | undefined> {
    const store = this.#store;
    if (!store || this.#closed) return Promise.resolve(undefined);
    let adopting = this.#adopting.get(id);
    if (!adopting) {
      adopting = store
        .load(id)
        .then((record) => {
          if (!record || this.#closed) return undefined;
          const existing = this.#sessions.get(id);
          if (existing) return existing;
          const connection = new Connection({ transport: 'http', era: 'legacy', sessionId: id });
          connection.clientCapabilities = capabilitiesOf(record.handshake);
          connection.logLevel = record.logLevel as Connection['logLevel'];
          this.#projector ??= new Server(this.#core.serverInfo, {});
          connection.protocol = this.#projector;
          const session: LegacySession = {
            id,
            principal: record.principal,
            connection,
            handshake: record.handshake,
            active: 0,
            timer: undefined,
            ended: undefined,
            sdk: undefined,
            attaching: undefined,
            handshaking: false,
            saving: undefined,
            used: true,
            subscriptionsVersion: -1,
          };
          this.#shareSubscriptions(session, { uris: record.subscriptions, version: record.subscriptionsVersion });
          this.#sessions.set(id, session);
          this.#arm(session);
          this.#log.debug({ session: id, sessions: this.#sessions.size }, 'session served from the shared store');
          return session;
        })
        .finally(() => this.#adopting.delete(id));
      this.#adopting.set(id, adopting);
    }
    return adopting;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Sessions holding the SDK's objects now (the others are records only). */
  get withSdkObjects(): number {
    let n = 0;
    for (const session of this.#sessions.values()) if (session.sdk) n += 1;
    return n;
  }

  /**
   * Serves one older-protocol HTTP request. Takes the web `Request` the front
   * door already built (for the era check) and writes the SDK's web `Response`
   * straight to the socket, chunk by chunk, so nothing is converted twice.
   */
  async handle(request: Request, res: ServerResponse, body: unknown, auth: AuthInfo | undefined): Promise<void> {
    const id = request.headers.get('mcp-session-id') ?? undefined;
    if (id !== undefined) {
      let session = this.#sessions.get(id);
      if (this.#store) {
        try {
          if (!session) session = await this.#adopt(id);
          else if (!(await this.#verify(session))) session = undefined;
        } catch (error) {
          this.#log.warn({ err: error }, 'the shared session store could not be read');
          return sendJson(
            res,
            503,
            rpcError(ErrorCodes.TransportRejected, 'Session store unavailable; retry', requestId(body)),
            { 'retry-after': '1' },
          );
        }
      }
      // Another principal's session is answered like an unknown one: its existence is not disclosed.
      if (!session || session.principal !== principalOf(auth))
        return sendJson(res, 404, rpcError(ErrorCodes.SessionNotFound, 'Session not found', requestId(body)));
      this.#admission.seen(id, request.method, body);
      observeCancellations(session, body);
      if (this.#store) {
        session.used = true;
        if (request.method === 'POST' && isRelayable(body)) {
          // Answers and cancels go to every instance: the handler waiting for them may run on another one.
          try {
            await this.#store.relay(id, Array.isArray(body) ? body : [body]);
          } catch (error) {
            this.#log.warn({ err: error, session: id }, 'a message for another instance could not be relayed');
            return sendJson(
              res,
              503,
              rpcError(ErrorCodes.TransportRejected, 'Session store unavailable; retry', requestId(body)),
              { 'retry-after': '1' },
            );
          }
          res.writeHead(202).end();
          return;
        }
        const level = logLevelSet(body);
        if (level !== undefined)
          await this.#store.setLogLevel(id, level).catch((error: unknown) => {
            this.#log.warn({ err: error, session: id }, 'the log level could not be shared');
          });
        // A copy of a session opened elsewhere makes no SDK objects for what needs none: a plain call takes
        // the fast path, and the client's `notifications/initialized` (the copy's objects, when made, replay
        // the handshake with it) is only acknowledged.
        if (!session.sdk && !session.handshaking && request.method === 'POST') {
          if (this.#options.fastPath && takesFastPath(this.#core, session.connection, body, res.req.headers)) {
            this.#direct(session, res, body, auth);
            return;
          }
          if (isInitializedNotification(body)) {
            res.writeHead(202).end();
            return;
          }
        }
      }
      await this.#serve(session, request, res, body, auth);
      // The handshake is over: until it needs them again, the session holds no SDK objects.
      if (session.handshaking && isInitializedNotification(body)) this.#release(session);
      return;
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
    const client = this.#admission.clientOf(res.req, auth);
    let held = 0;
    if (this.#store && this.#admission.capsPerClient) {
      // The client's sessions on every instance (one indexed count): the per-client cap holds fleet-wide.
      try {
        held = await this.#store.clientSessions(client);
      } catch (error) {
        this.#log.warn({ err: error }, 'the shared session store could not be read');
        return sendJson(
          res,
          503,
          rpcError(ErrorCodes.TransportRejected, 'Session store unavailable; retry', requestId(body)),
          { 'retry-after': '1' },
        );
      }
    }
    const ticket = this.#admission.admit(client, held);
    if (!ticket.ok)
      return sendJson(
        res,
        ticket.status,
        rpcError(ticket.code, ticket.message, requestId(body), ticket.data),
        ticket.headers,
      );
    try {
      const session: LegacySession = {
        id: '',
        principal: principalOf(auth),
        connection: new Connection({ transport: 'http', era: 'legacy' }),
        handshake: body,
        active: 0,
        timer: undefined,
        ended: undefined,
        sdk: undefined,
        attaching: undefined,
        handshaking: true,
        saving: undefined,
        used: true,
        subscriptionsVersion: -1,
      };
      await this.#attach(session, ticket, client);
      await this.#serve(session, request, res, body, auth);
      // Shared: the client's `notifications/initialized` may go to another instance, so the handshake's
      // objects go now (a later `initialized` here is acknowledged without them, see above).
      if (this.#store && session.id !== '' && this.#sessions.get(session.id) === session) this.#release(session);
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
    if (!this.#store) {
      this.#direct(session, res, body, auth);
      return true;
    }
    // Shared sessions: served once the store says the session still exists (one indexed read).
    session.used = true;
    this.#verify(session).then(
      (live) => {
        if (live) this.#direct(session, res, body, auth);
        else sendJson(res, 404, rpcError(ErrorCodes.SessionNotFound, 'Session not found', body.id));
      },
      (error: unknown) => {
        this.#log.warn({ err: error }, 'the shared session store could not be read');
        sendJson(res, 503, rpcError(ErrorCodes.TransportRejected, 'Session store unavailable; retry', body.id), {
          'retry-after': '1',
        });
      },
    );
    return true;
  }

  /** Serves a fast-path call (no async frame, no promise link of its own: the answer stream is the call's sink). */
  #direct(
    session: LegacySession,
    res: ServerResponse,
    body: Parameters<typeof serveFastCall>[2],
    auth: AuthInfo | undefined,
  ): void {
    const { connection } = session;
    session.active += 1;
    // `on`, not `once`: a response closes once, and `once` would add a wrapper per call.
    res.on('close', () => {
      session.active -= 1;
      session.timer?.refresh();
      if (!res.writableFinished) connection.cancel(body.id, new Error(AbortReasons.clientDisconnected));
    });
    serveFastCall(
      this.#core,
      connection,
      body,
      new AnswerStream(res, body.id, this.#log, { 'mcp-session-id': session.id }),
      auth,
    );
  }

  /**
   * Makes the session's SDK transport and protocol object. For a new session
   * (`ticket`) they serve the client's `initialize`; for an open one that
   * released them, the client's handshake is replayed into them first, so
   * that they hold the same negotiated state the first ones did.
   */
  #attach(session: LegacySession, ticket?: AdmissionTicket, client?: string): Promise<SdkObjects> {
    if (session.sdk) return Promise.resolve(session.sdk);
    session.attaching ??= this.#makeSdkObjects(session, ticket, client).finally(() => (session.attaching = undefined));
    return session.attaching;
  }

  /**
   * A session's event store (`Last-Event-ID`): in memory, or, with a shared store, one whose GET-stream
   * event ids are positions in the fleet's order of changes, resumable on any instance.
   */
  #eventStore(session: LegacySession) {
    const max = this.#options.maxEventsPerSession;
    if (!this.#store) return boundedEventStore(max);
    const subscribed = (uri: string) => session.connection.sharedSubscriptions?.has(uri) ?? false;
    return sharedSessionEventStore({
      max,
      store: this.#store,
      instanceTag: this.#tag,
      notificationOf: (event: ServerEvent) => {
        const notification = legacyChangeNotification(
          changeOfEvent(event, () => []),
          subscribed,
        );
        return notification && ({ jsonrpc: '2.0', ...notification } as JSONRPCMessage);
      },
    });
  }

  async #makeSdkObjects(
    session: LegacySession,
    ticket: AdmissionTicket | undefined,
    client: string | undefined,
  ): Promise<SdkObjects> {
    const { connection } = session;
    const protocol = this.#core.createProtocolServer({ era: 'legacy', track: true, connection });
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: ticket ? randomUUID : () => session.id,
      eventStore: this.#eventStore(session),
      onsessioninitialized: (id) => {
        if (!ticket) return;
        session.id = id;
        connection.sessionId = id;
        this.#sessions.set(id, session);
        session.ended = this.#options.onSessionOpened?.();
        ticket.open(id);
        this.#arm(session);
        if (this.#store) this.#shareSubscriptions(session, { uris: [], version: 0 });
        session.saving = this.#store?.save({
          id,
          principal: session.principal,
          handshake: session.handshake,
          logLevel: undefined,
          subscriptions: [],
          subscriptionsVersion: 0,
          client,
        });
        this.#log.debug({ session: id, sessions: this.#sessions.size }, 'session opened');
      },
      // A DELETE from the client: its calls in flight end with it.
      onsessionclosed: async (id) => {
        connection.close(new Error(AbortReasons.sessionDeleted));
        this.#forget(id);
        // Gone on every instance before the client hears that it is (the SDK waits for this).
        await this.#store?.remove(id).catch((error: unknown) => {
          this.#log.warn({ err: error, session: id }, 'the session could not be removed from the shared store');
        });
      },
    });
    if (this.#store) this.#tagRequests(transport);
    const sdk: SdkObjects = { transport, protocol };
    session.sdk = sdk;
    // Set before connect: the protocol object chains its own close handler after this one.
    transport.onclose = () => {
      // Objects the session released close without ending it.
      if (session.sdk !== sdk) return;
      connection.close(new Error(this.#closed ? AbortReasons.shutdown : AbortReasons.sessionClosed));
      if (transport.sessionId !== undefined) this.#forget(transport.sessionId);
    };
    await protocol.connect(transport);
    if (!ticket) {
      // The client's own handshake, answered again by the new objects (the answers go nowhere, observers are not told).
      const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
      const url = 'http://localhost/mcp';
      connection.replaying = true;
      try {
        const init = await transport.handleRequest(new Request(url, { method: 'POST', headers }), {
          parsedBody: session.handshake,
        });
        // Read to the end: the handler has run (and the flag still holds) once the stream closes.
        await init.text();
        const done = await transport.handleRequest(
          new Request(url, { method: 'POST', headers: { ...headers, 'mcp-session-id': session.id } }),
          { parsedBody: { jsonrpc: '2.0', method: 'notifications/initialized' } },
        );
        await done.body?.cancel();
      } finally {
        connection.replaying = false;
      }
      if (transport.sessionId !== session.id || protocol.getClientCapabilities() === undefined) {
        session.sdk = undefined;
        await protocol.close().catch(() => undefined);
        throw new Error(`the handshake of session ${session.id} could not be replayed`);
      }
    }
    return sdk;
  }

  /**
   * Lets go of the session's SDK objects once the handshake is over: what the
   * fast path needs stays on the connection, and a shared, never-connected
   * protocol object projects results for the era. Kept when anything still
   * uses them (a request or a GET stream open, a call in flight).
   */
  #release(session: LegacySession): void {
    session.handshaking = false;
    const sdk = session.sdk;
    if (!sdk || session.active > 1 || session.connection.inflight > 0 || this.#closed) return;
    const capabilities = sdk.protocol.getClientCapabilities();
    if (capabilities === undefined) return;
    session.connection.clientCapabilities = capabilities;
    session.sdk = undefined;
    this.#projector ??= new Server(this.#core.serverInfo, {});
    session.connection.protocol = this.#projector;
    // Closing them detaches their handlers and change listeners; the session itself stays open.
    void sdk.protocol.close().catch(() => undefined);
  }

  async #serve(
    session: LegacySession,
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
    // Objects still being made (their handshake replay under way) are not ready for the client's request: wait for them.
    const sdk = session.attaching ? await session.attaching : (session.sdk ?? (await this.#attach(session)));
    const response = await sdk.transport.handleRequest(request, {
      parsedBody: body,
      ...(auth && { authInfo: auth }),
    });
    if (session.saving) {
      // A new session: the client's next request may land on another instance, which must find it.
      const saving = session.saving;
      session.saving = undefined;
      try {
        await saving;
      } catch (error) {
        this.#log.warn({ err: error, session: session.id }, 'the new session could not be shared; refusing it');
        await response.body?.cancel();
        this.#close(session, AbortReasons.sessionClosed);
        return sendJson(
          res,
          503,
          rpcError(ErrorCodes.TransportRejected, 'Session store unavailable; retry', requestId(body)),
          { 'retry-after': '1' },
        );
      }
    }
    await writeWebResponse(res, response);
    // An initialize that did not produce a session (rejected by the SDK) leaves nothing behind.
    if (sdk.transport.sessionId === undefined) await sdk.protocol.close().catch(() => undefined);
  }

  /** Closes the session after the idle timeout, unless a request or stream is still open. */
  #arm(session: LegacySession): void {
    session.timer = setTimeout(() => {
      if (session.active > 0) {
        session.timer?.refresh();
        return;
      }
      this.#log.debug({ session: session.id }, 'session idle; closing it');
      this.#close(session, AbortReasons.sessionClosed);
    }, this.#options.idleTimeoutMs);
    session.timer.unref();
  }

  /** Ends a session: through its SDK objects when it has them (their streams end), else the record alone. */
  #close(session: LegacySession, reason: string): void {
    if (session.sdk) {
      void session.sdk.transport.close().catch(() => undefined);
      return;
    }
    session.connection.close(new Error(reason));
    this.#forget(session.id);
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
    // The shared records stay: the other instances go on serving the sessions.
    for (const stop of this.#stopStore.splice(0)) stop();
    clearInterval(this.#sweeper);
    await Promise.all(
      [...this.#sessions.values()].map(async (session) => {
        if (session.sdk) await session.sdk.transport.close().catch(() => undefined);
        else this.#close(session, AbortReasons.shutdown);
      }),
    );
    for (const id of [...this.#sessions.keys()]) this.#forget(id);
  }
}

/** A client's `notifications/cancelled` aborts the call on the session's in-flight record, whichever path serves it. */
function observeCancellations(session: LegacySession, body: unknown): void {
  for (const message of Array.isArray(body) ? body : [body]) {
    if (!isPlainObject(message) || message.method !== 'notifications/cancelled' || !isPlainObject(message.params))
      continue;
    const reason = typeof message.params.reason === 'string' ? message.params.reason : AbortReasons.clientCancelled;
    session.connection.cancel(message.params.requestId as string | number, new Error(reason));
  }
}

/** Takes a shared session's subscriptions unless the connection holds a newer list already. */
function applySubscriptions(session: LegacySession, subscriptions: SharedSubscriptions): void {
  if (subscriptions.version < session.subscriptionsVersion) return;
  session.subscriptionsVersion = subscriptions.version;
  session.connection.sharedSubscriptions = new Set(subscriptions.uris);
}

/** A message to the client with the ids of the server's own requests marked `<tag>-<id>` (see `#tagRequests`). */
function tagged(message: JSONRPCMessage, tag: string): JSONRPCMessage {
  const m = message as { method?: unknown; id?: unknown; params?: unknown };
  if (typeof m.method !== 'string') return message;
  if (typeof m.id === 'number' || typeof m.id === 'string')
    return { ...message, id: `${tag}-${m.id}` } as JSONRPCMessage;
  if (m.method === 'notifications/cancelled' && isPlainObject(m.params)) {
    const { requestId } = m.params;
    if (typeof requestId === 'number' || typeof requestId === 'string')
      return { ...message, params: { ...m.params, requestId: `${tag}-${requestId}` } } as JSONRPCMessage;
  }
  return message;
}

/** A JSON-RPC response (the client's answer to a server-to-client request). */
function isResponse(message: unknown): boolean {
  return (
    isPlainObject(message) && !('method' in message) && 'id' in message && ('result' in message || 'error' in message)
  );
}

/** A body of answers and cancels only: what another instance may be waiting for. */
function isRelayable(body: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return (
    messages.length > 0 &&
    messages.every((m) => isResponse(m) || (isPlainObject(m) && m.method === 'notifications/cancelled' && !('id' in m)))
  );
}

/** The level of a `logging/setLevel` request in a POST body, if there is one. */
function logLevelSet(body: unknown): string | undefined {
  for (const message of Array.isArray(body) ? body : [body]) {
    if (isPlainObject(message) && message.method === 'logging/setLevel' && isPlainObject(message.params)) {
      const level = message.params.level;
      if (typeof level === 'string') return level;
    }
  }
  return undefined;
}

/** The capabilities a client declared in its `initialize` message. */
function capabilitiesOf(handshake: unknown): Connection['clientCapabilities'] {
  for (const message of Array.isArray(handshake) ? handshake : [handshake]) {
    if (isPlainObject(message) && message.method === 'initialize' && isPlainObject(message.params)) {
      const capabilities = message.params.capabilities;
      if (isPlainObject(capabilities)) return capabilities as Connection['clientCapabilities'];
    }
  }
  return undefined;
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
