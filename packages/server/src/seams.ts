import type { ServerEvent, ServerEventBus } from '@modelcontextprotocol/server';
import type { TaskStore } from '@trellis/tasks';
import { serviceKey } from './services.js';

/** What any instance needs to serve an older-protocol HTTP session it did not open. */
export interface SharedSessionRecord {
  readonly id: string;
  /** Who opened it (the transport serves a session only to the same principal). */
  readonly principal: string | undefined;
  /** The client's `initialize` message as it sent it: replayed to make the session's SDK objects anywhere. */
  readonly handshake: unknown;
  /** The level the client set with `logging/setLevel`, if any. */
  readonly logLevel: string | undefined;
  /** The resources the session subscribed to (`resources/subscribe`, through any instance). */
  readonly subscriptions: readonly string[];
  /** Counts the changes of `subscriptions`: a copy is replaced only by a newer one. */
  readonly subscriptionsVersion: number;
  /** Who holds it for the per-client cap (principal, else address); recorded by `save`. */
  readonly client?: string | undefined;
}

/** What a session held here reads of its record on each request (see `SharedSessionStore.check`). */
export interface SharedSessionState {
  readonly logLevel: string | undefined;
  /** Present only when newer than the copy's. */
  readonly subscriptions: SharedSubscriptions | undefined;
}

/** A session's subscriptions as one change left them. */
export interface SharedSubscriptions {
  readonly uris: readonly string[];
  /** Grows with each change: a copy with a lower version is stale. */
  readonly version: number;
}

/** Where a GET-stream event stands in a fleet's one order of changes (see `SharedSessionStore.changesAfter`). */
export interface StreamPosition {
  /** The change being delivered now when `exact`; else the last change this instance delivered. */
  readonly change: number;
  readonly exact: boolean;
}

/**
 * Older-protocol HTTP sessions shared by several instances (the fleet plugin
 * keeps them in PostgreSQL). Without one, sessions live in the process that
 * opened them, as before. The transport keeps a local copy of each session it
 * serves; this store is read only on a local miss.
 */
export interface SharedSessionStore {
  /** Records a session opened here; the client is answered once this resolves. */
  save(record: SharedSessionRecord): Promise<void>;
  /** The session, or undefined when no instance holds it (never opened, deleted, expired). */
  load(id: string): Promise<SharedSessionRecord | undefined>;
  /**
   * What may have changed of a session held here, on each of its requests: undefined when it
   * ended anywhere; its subscriptions only when newer than `subscriptionsVersion` (the copy's).
   */
  check(id: string, subscriptionsVersion: number): Promise<SharedSessionState | undefined>;
  /** Records the client's log level for the session. */
  setLogLevel(id: string, level: string): Promise<void>;
  /**
   * Adds `uri` to the session's subscriptions or removes it; resolves to the session's
   * subscriptions afterwards (every instance is told them too, see `onSubscriptions`).
   */
  setSubscribed(id: string, uri: string, subscribed: boolean): Promise<SharedSubscriptions>;
  /** Told a session's subscriptions each time they change (through this instance or another). Returns the unsubscribe. */
  onSubscriptions(listener: (id: string, subscriptions: SharedSubscriptions) => void): () => void;
  /** Sessions open on every instance for one client (`SharedSessionRecord.client`): the per-client cap counts them. */
  clientSessions(client: string): Promise<number>;
  /**
   * The position of a message being sent now on a GET stream, read synchronously while
   * it is sent: exact while a change from the fleet is being delivered.
   */
  streamPosition(): StreamPosition;
  /**
   * The last `limit` changes committed after `position`, oldest first, as long as they
   * are kept: what a GET stream resumed on another instance (`Last-Event-ID`) missed.
   */
  changesAfter(position: number, limit: number): Promise<readonly { position: number; event: ServerEvent }[]>;
  /** Marks the sessions as used now (what keeps them from idling out fleet-wide). */
  touch(ids: readonly string[]): Promise<void>;
  /** Ends the session on every instance (a DELETE, or this instance closing it for good). */
  remove(id: string): Promise<void>;
  /** Ends the sessions unused for `idleMs` on every instance. */
  expire(idleMs: number): Promise<void>;
  /** Sessions open on every instance, as last counted (the fleet-wide cap reads it; never a query per call). */
  readonly count: number;
  /** Told the id of each session ended anywhere, so that local copies go too. Returns the unsubscribe. */
  onRemoved(listener: (id: string) => void): () => void;
  /**
   * Hands messages the client sent for the session (answers to server-to-client requests,
   * `notifications/cancelled`) to every instance, the one whose handler waits or whose call runs among them.
   */
  relay(id: string, messages: readonly unknown[]): Promise<void>;
  /** Told the messages relayed for a session (this instance's own included). Returns the unsubscribe. */
  onRelayed(listener: (id: string, messages: readonly unknown[]) => void): () => void;
}

/**
 * What the core keeps in this process unless a plugin provides a shared
 * implementation (the fleet plugin provides both, on PostgreSQL). The core
 * reads them once every plugin is set up; a second provider fails the start.
 * @example
 * scope.provide(CoreServices.changeBus, myBus);   // every change now goes through myBus
 */
export const CoreServices = Object.freeze({
  /**
   * The change feed: list changes and resource updates are published here, and
   * what arrives here reaches every listener in this process (older-protocol
   * sessions, stdio, `subscriptions/listen` streams through the SDK's handler,
   * which subscribes to the same bus). In memory by default.
   */
  changeBus: serviceKey<ServerEventBus>('trellis.core.change-bus'),
  /** Where task state lives when no `tasks.store` option is given. In memory by default. */
  taskStore: serviceKey<TaskStore>('trellis.core.task-store'),
  /** Where older-protocol HTTP sessions are shared between instances. None by default: each instance holds its own. */
  sessionStore: serviceKey<SharedSessionStore>('trellis.core.session-store'),
});
