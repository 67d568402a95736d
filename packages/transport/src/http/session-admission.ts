import type { IncomingMessage } from 'node:http';
import type { BlockList } from 'node:net';
import type { AuthInfo } from '@modelcontextprotocol/server';
import { ErrorCodes, type Logger } from '@trellis/server';
import { clientAddress } from './client-address.js';

export interface AdmissionOptions {
  /** Older-protocol sessions held at once, all clients together. */
  maxSessions: number;
  /** Older-protocol sessions one client (principal, else address) may hold at once. */
  maxSessionsPerClient: number;
  /** An unused session is closed after this long; tells a refused client when to retry. */
  idleTimeoutMs: number;
  /** Proxies whose `X-Forwarded-For` names the client; undefined: none. */
  trustProxy: BlockList | undefined;
  /** Sessions open on every instance of a fleet, as last counted (a shared session store); none: this instance only. */
  sharedCount?: (() => number) | undefined;
}

/** Why a new session was refused: the HTTP answer and its JSON-RPC error. */
export interface AdmissionRefusal {
  ok: false;
  status: 429 | 503;
  code: typeof ErrorCodes.TransportRejected;
  message: string;
  data: { limit: 'maxSessions' | 'maxSessionsPerClient'; max: number; retryAfterSeconds: number };
  headers: Record<string, string>;
}

/** A place held for a session being opened: `open` once it has an id, else `release`. */
export interface AdmissionTicket {
  ok: true;
  open(sessionId: string): void;
  release(): void;
}

interface Entry {
  readonly client: string;
  lastSeen: number;
}

/**
 * Who may open an older-protocol session, so that no single client can lock
 * the others out. Two rules:
 * - a per-client cap, by authenticated principal when auth is on, else by
 *   remote address (behind a trusted proxy, the `X-Forwarded-For` client);
 * - at the global cap, sessions that never made a request after `initialize`
 *   are shed, oldest first, before anyone is refused.
 * A refusal names the limit and when to retry (when the client's, or anyone's,
 * least recently used session would idle out).
 * @example
 * const admission = new SessionAdmission(options, log, (id) => sessions.get(id)?.transport.close());
 * const ticket = admission.admit(admission.clientOf(req, auth));
 */
export class SessionAdmission {
  readonly #options: AdmissionOptions;
  readonly #log: Logger;
  readonly #shed: (sessionId: string) => void;
  /** Open sessions, with who holds each and when it was last used. */
  readonly #entries = new Map<string, Entry>();
  /** Sessions with no request since `initialize`, oldest first. */
  readonly #bare = new Set<string>();
  /** Per client: its open sessions and those being opened. */
  readonly #clients = new Map<string, { sessions: Set<string>; opening: number }>();
  #opening = 0;

  constructor(options: AdmissionOptions, log: Logger, shed: (sessionId: string) => void) {
    this.#options = options;
    this.#log = log;
    this.#shed = shed;
  }

  /** Sessions open or being opened. */
  get size(): number {
    return this.#entries.size + this.#opening;
  }

  /** Who the client behind `req` is for the per-client cap: its principal with auth, else its address. */
  clientOf(req: IncomingMessage, auth: AuthInfo | undefined): string {
    return auth
      ? `principal:${auth.clientId}\u0000${String(auth.extra?.sub ?? '')}`
      : `address:${clientAddress(req, this.#options.trustProxy)}`;
  }

  /** Whether a per-client cap applies (one as large as the global cap adds nothing). */
  get capsPerClient(): boolean {
    return this.#options.maxSessionsPerClient < this.#options.maxSessions;
  }

  /**
   * Holds a place for a new session of `client` (see `clientOf`), or says why not. `held`: the
   * sessions the client holds on every instance of a fleet (a shared store's count, which lags by
   * the sessions being opened elsewhere meanwhile), when known.
   */
  admit(client: string, heldFleetWide = 0): AdmissionTicket | AdmissionRefusal {
    const mine = this.#clients.get(client);
    const { maxSessions, maxSessionsPerClient } = this.#options;
    // A per-client cap as large as the global one adds nothing: the global rule (shedding unused sessions first) decides.
    if (
      this.capsPerClient &&
      Math.max(mine?.sessions.size ?? 0, heldFleetWide) + (mine?.opening ?? 0) >= maxSessionsPerClient
    ) {
      this.#log.warn(
        { client: client.startsWith('principal:') ? 'principal' : client, max: maxSessionsPerClient },
        'per-client session cap reached; refusing a new session',
      );
      const retry = this.#retryAfter(mine?.sessions ?? []);
      return refusal(
        429,
        'maxSessionsPerClient',
        maxSessionsPerClient,
        retry,
        `Too many sessions: this client holds the maximum of ${maxSessionsPerClient} (maxSessionsPerClient, MAX_SESSIONS_PER_CLIENT); close unused sessions with DELETE, or retry in ${retry} s`,
      );
    }
    // The fleet's count lags (it is refreshed by the store), so it only refuses: shedding is decided here.
    const sharedCount = this.#options.sharedCount;
    const full =
      this.size >= maxSessions
        ? !this.#shedOne()
        : sharedCount !== undefined && sharedCount() + this.#opening >= maxSessions;
    if (full) {
      this.#log.warn(
        { sessions: this.#entries.size, max: maxSessions },
        'session cap reached and every session is in use; refusing a new session',
      );
      const retry = this.#retryAfter(this.#entries.keys());
      return refusal(
        503,
        'maxSessions',
        maxSessions,
        retry,
        `Server busy: it holds the maximum of ${maxSessions} sessions (maxSessions, MAX_SESSIONS), all in use; retry in ${retry} s`,
      );
    }
    const slot = mine ?? { sessions: new Set<string>(), opening: 0 };
    if (!mine) this.#clients.set(client, slot);
    slot.opening += 1;
    this.#opening += 1;
    let held = true;
    const unhold = () => {
      if (!held) return false;
      held = false;
      slot.opening -= 1;
      this.#opening -= 1;
      return true;
    };
    return {
      ok: true,
      open: (sessionId) => {
        if (!unhold()) return;
        slot.sessions.add(sessionId);
        this.#entries.set(sessionId, { client, lastSeen: Date.now() });
        this.#bare.add(sessionId);
      },
      release: () => {
        if (unhold() && slot.sessions.size === 0 && slot.opening === 0) this.#clients.delete(client);
      },
    };
  }

  /**
   * Notes a request on an open session: a GET stream or any JSON-RPC request
   * (not a notification such as `notifications/initialized`) makes it used.
   * On every request, so O(1) and allocation-free: the time is stamped, and the
   * least recently seen session is found by a scan only when someone is refused.
   */
  seen(sessionId: string, method: string, body: unknown): void {
    const entry = this.#entries.get(sessionId);
    if (!entry) return;
    entry.lastSeen = Date.now();
    if (this.#bare.size !== 0 && (method === 'GET' || carriesRequest(body))) this.#bare.delete(sessionId);
  }

  /** Forgets a closed session. */
  closed(sessionId: string): void {
    const entry = this.#entries.get(sessionId);
    if (!entry) return;
    this.#entries.delete(sessionId);
    this.#bare.delete(sessionId);
    const slot = this.#clients.get(entry.client);
    slot?.sessions.delete(sessionId);
    if (slot && slot.sessions.size === 0 && slot.opening === 0) this.#clients.delete(entry.client);
  }

  /** Closes the oldest session never used after `initialize`; false when there is none. */
  #shedOne(): boolean {
    const oldest = this.#bare.values().next();
    if (oldest.done) return false;
    const id = oldest.value;
    this.#log.info(
      { session: id, max: this.#options.maxSessions },
      'session cap reached; closing the oldest session never used after initialize',
    );
    this.closed(id);
    this.#shed(id);
    return true;
  }

  /** Seconds until the least recently seen of `sessions` idles out (at least 1); a scan, run only to word a refusal. */
  #retryAfter(sessions: Iterable<string>): number {
    let lastSeen = Number.POSITIVE_INFINITY;
    for (const id of sessions) lastSeen = Math.min(lastSeen, this.#entries.get(id)?.lastSeen ?? lastSeen);
    if (lastSeen === Number.POSITIVE_INFINITY) lastSeen = Date.now();
    return Math.max(1, Math.ceil((lastSeen + this.#options.idleTimeoutMs - Date.now()) / 1000));
  }
}

function refusal(
  status: 429 | 503,
  limit: AdmissionRefusal['data']['limit'],
  max: number,
  retryAfterSeconds: number,
  message: string,
): AdmissionRefusal {
  return {
    ok: false,
    status,
    code: ErrorCodes.TransportRejected,
    message,
    data: { limit, max, retryAfterSeconds },
    headers: { 'retry-after': String(retryAfterSeconds) },
  };
}

function carriesRequest(body: unknown): boolean {
  if (Array.isArray(body)) return body.some(carriesRequest);
  return typeof body === 'object' && body !== null && 'method' in body && 'id' in body;
}
