import type { ClientCapabilities, LoggingLevel, Server } from '@modelcontextprotocol/server';
import type { ProtocolEra } from './context.js';

/** How a request reached the server. */
export type TransportKind = 'stdio' | 'http' | 'in-process' | 'task';

type RequestId = string | number;

/** One recorded call: its abort controller, and `done()` to forget it. A class, so no closure is made per call. */
class TrackedCall {
  readonly controller = new AbortController();
  #linked: AbortSignal | undefined;
  #shutdown: ShutdownCalls | undefined;

  constructor(
    readonly id: RequestId,
    readonly owner: { forget(call: TrackedCall): void },
  ) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  link(linked: AbortSignal): void {
    this.#linked = linked;
    linked.addEventListener('abort', this, { once: true });
  }

  follow(shutdown: ShutdownCalls): void {
    this.#shutdown = shutdown;
    shutdown.calls.add(this);
  }

  /** The linked signal aborted (an `EventListener` object: no bound function per call). */
  handleEvent(): void {
    this.controller.abort(this.#linked!.reason);
  }

  /** The call has ended: forget it. */
  done(): void {
    this.#linked?.removeEventListener('abort', this);
    this.#shutdown?.calls.delete(this);
    this.owner.forget(this);
  }
}

/**
 * The calls in flight that stop when the server shuts down, aborted with its
 * reason through one listener on its signal for all of them: tracking a call
 * with it (`Connection.track`) costs a set entry, not a listener of its own.
 */
export class ShutdownCalls {
  /** @internal The calls following it (added and removed by their tracked record). */
  readonly calls = new Set<TrackedCall>();

  constructor(readonly signal: AbortSignal) {
    signal.addEventListener(
      'abort',
      () => {
        for (const call of this.calls) call.controller.abort(signal.reason);
        this.calls.clear();
      },
      { once: true },
    );
  }
}

/**
 * What owns calls in flight: a stdio connection, an older-protocol HTTP
 * session, or one 2026-07-28 HTTP request. Every call served on it, by the
 * fast path or by the SDK, is recorded here, so that closing the owner
 * (stdin closing, a session deleted, a client disconnecting) aborts exactly
 * the calls it owns, with one reason the handler reads from `ctx.signal.reason`.
 * It also holds the one per-connection state the pipeline reads: the log level
 * an older-protocol client set with `logging/setLevel`.
 */
export class Connection {
  readonly transport: TransportKind;
  /** The older-protocol HTTP session id, once the session exists. */
  sessionId: string | undefined;
  /** The era the SDK pinned for this connection (stdio: set when it built the connection's protocol object). */
  era: ProtocolEra | undefined;
  /** The SDK protocol object serving this connection, once the SDK has pinned one. */
  protocol: Server | undefined;
  /**
   * Older protocol: the capabilities the client declared in its handshake, kept
   * here when the SDK objects that negotiated them are released (an idle HTTP
   * session holds no SDK objects; see `http/sessions.ts` in the transport).
   * Otherwise `protocol.getClientCapabilities()` answers.
   */
  clientCapabilities: ClientCapabilities | undefined;
  /**
   * True while a transport replays the client's own handshake into new SDK
   * objects for the connection (an HTTP session making them again): those
   * messages are not the client's requests, so observers are not told of them.
   */
  replaying = false;
  /** Older protocol: the level set with `logging/setLevel` (none set: every level goes out). */
  logLevel: LoggingLevel | undefined;
  /**
   * Older protocol, a session shared by several instances: the resources it
   * subscribed to through any of them (the shared store's copy). Set, it
   * decides which updates this connection hears, in place of this process's
   * own subscriptions (an unsubscribe may have gone to another instance).
   */
  sharedSubscriptions: ReadonlySet<string> | undefined;
  /** With `sharedSubscriptions`: records a `resources/subscribe` or `unsubscribe` in the shared store. */
  shareSubscription: ((uri: string, subscribed: boolean) => Promise<void>) | undefined;
  /** Whether the SDK has dispatched a request to a handler on `protocol` (what pins a 2026-07-28 stdio connection). */
  served = false;
  // Made on first use: a 2026-07-28 HTTP request owns one call and is gone.
  #calls: Set<TrackedCall> | undefined;
  #byId: Map<RequestId, TrackedCall> | undefined;
  #closed: Error | undefined;

  constructor(options: { transport: TransportKind; era?: ProtocolEra; sessionId?: string }) {
    this.transport = options.transport;
    this.era = options.era;
    this.sessionId = options.sessionId;
  }

  /** Calls in flight on this connection. */
  get inflight(): number {
    return this.#calls?.size ?? 0;
  }

  /** Whether a call with this id is in flight (a duplicate id is left to the SDK, which answers it). */
  has(id: RequestId): boolean {
    return this.#byId?.has(id) === true;
  }

  /**
   * Records a call; the returned signal aborts when the call is cancelled,
   * its owner closes, or `linked` aborts: a signal (e.g. the SDK's request
   * signal), or the server's `ShutdownCalls` (with its reason).
   * Call `done()` when the call ends.
   */
  track(id: RequestId, linked?: AbortSignal | ShutdownCalls): { readonly signal: AbortSignal; done(): void } {
    const entry = new TrackedCall(id, this);
    const signal = linked instanceof ShutdownCalls ? linked.signal : linked;
    if (this.#closed) entry.controller.abort(this.#closed);
    else if (signal?.aborted) entry.controller.abort(signal.reason);
    else if (linked instanceof ShutdownCalls) entry.follow(linked);
    else if (linked) entry.link(linked);
    (this.#calls ??= new Set()).add(entry);
    const byId = (this.#byId ??= new Map());
    if (!byId.has(id)) byId.set(id, entry);
    return entry;
  }

  /** @internal Called by a tracked call's `done()`. */
  forget(entry: TrackedCall): void {
    this.#calls?.delete(entry);
    if (this.#byId?.get(entry.id) === entry) this.#byId.delete(entry.id);
  }

  /** Aborts the call with this id (a `notifications/cancelled`, a disconnect of its HTTP request). */
  cancel(id: RequestId, reason: Error): boolean {
    const entry = this.#byId?.get(id);
    if (!entry) return false;
    entry.controller.abort(reason);
    return true;
  }

  /** Aborts every call it owns, and any call recorded later, with `reason`: the owner has gone. */
  close(reason: Error): void {
    this.#closed ??= reason;
    if (this.#calls) for (const entry of this.#calls) entry.controller.abort(reason);
  }

  get closed(): boolean {
    return this.#closed !== undefined;
  }
}

/** Why calls were aborted, as handlers read it from `ctx.signal.reason.message`. */
export const AbortReasons = {
  clientCancelled: 'the client cancelled the request',
  clientDisconnected: 'the client disconnected',
  inputClosed: 'the client closed the connection (stdin ended)',
  connectionClosed: 'the server closed the connection',
  sessionDeleted: 'the client ended the session',
  sessionClosed: 'the session was closed',
  shutdown: 'the server is shutting down',
} as const;
