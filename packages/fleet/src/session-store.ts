import type { ServerEvent } from '@modelcontextprotocol/server';
import type {
  Logger,
  SharedSessionRecord,
  SharedSessionState,
  SharedSessionStore,
  SharedSubscriptions,
  StreamPosition,
} from '@trellis/server';
import type pg from 'pg';
import { appendToOutbox, inTransaction } from './outbox.js';
import type { FleetTables } from './schema.js';

export interface PostgresSessionStoreOptions {
  readonly pool: pg.Pool;
  readonly tables: FleetTables;
  readonly instanceId: string;
  readonly log: Logger;
  /** The id of the last outbox row this instance read (where its live GET-stream events stand). */
  readonly lastSeen: () => number;
}

/**
 * Older-protocol HTTP sessions in the fleet's `sessions` table, so that any
 * instance serves any session: the transport reads a session here (by its
 * primary key) only when it holds no copy of it. An ended session (DELETE on
 * any instance, or idle on every one) is deleted together with an outbox row
 * naming it, so that every instance drops its copy.
 */
export class PostgresSessionStore implements SharedSessionStore {
  readonly #pool: pg.Pool;
  readonly #t: FleetTables;
  readonly #instanceId: string;
  readonly #log: Logger;
  readonly #listeners = new Set<(id: string) => void>();
  readonly #relayListeners = new Set<(id: string, messages: readonly unknown[]) => void>();
  readonly #subscriptionListeners = new Set<(id: string, subscriptions: SharedSubscriptions) => void>();
  readonly #lastSeen: () => number;
  /** The outbox row whose change is being delivered now (synchronously), if one is. */
  #delivering: number | undefined;
  #count = 0;

  constructor(options: PostgresSessionStoreOptions) {
    this.#pool = options.pool;
    this.#t = options.tables;
    this.#instanceId = options.instanceId;
    this.#log = options.log;
    this.#lastSeen = options.lastSeen;
  }

  get count(): number {
    return this.#count;
  }

  async save(record: SharedSessionRecord): Promise<void> {
    await this.#pool.query(
      `INSERT INTO ${this.#t.sessions} (id, instance_id, principal, handshake, log_level, client) VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        record.id,
        this.#instanceId,
        record.principal === undefined ? null : JSON.stringify(record.principal),
        JSON.stringify(record.handshake),
        record.logLevel ?? null,
        record.client ?? null,
      ],
    );
    this.#count += 1;
  }

  async load(id: string): Promise<SharedSessionRecord | undefined> {
    const { rows } = await this.#pool.query<{
      principal: string | null;
      handshake: string;
      log_level: string | null;
      subscriptions: string[];
      subscriptions_version: string;
      client: string | null;
    }>(
      `SELECT principal, handshake, log_level, subscriptions, subscriptions_version, client FROM ${this.#t.sessions} WHERE id = $1`,
      [id],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      id,
      principal: row.principal === null ? undefined : (JSON.parse(row.principal) as string),
      handshake: JSON.parse(row.handshake) as unknown,
      logLevel: row.log_level ?? undefined,
      subscriptions: row.subscriptions,
      subscriptionsVersion: Number(row.subscriptions_version),
      client: row.client ?? undefined,
    };
  }

  async check(id: string, subscriptionsVersion: number): Promise<SharedSessionState | undefined> {
    // Run on every request of a session held here: a prepared statement, and neither the handshake nor an
    // unchanged subscription list crosses the wire.
    const { rows } = await this.#pool.query<{
      log_level: string | null;
      subscriptions: string[] | null;
      subscriptions_version: string;
    }>({
      name: 'trellis-fleet-session-check',
      text: `SELECT log_level, subscriptions_version,
               CASE WHEN subscriptions_version > $2 THEN subscriptions END AS subscriptions
             FROM ${this.#t.sessions} WHERE id = $1`,
      values: [id, subscriptionsVersion],
    });
    const row = rows[0];
    if (!row) return undefined;
    return {
      logLevel: row.log_level ?? undefined,
      subscriptions:
        row.subscriptions === null
          ? undefined
          : { uris: row.subscriptions, version: Number(row.subscriptions_version) },
    };
  }

  async clientSessions(client: string): Promise<number> {
    const { rows } = await this.#pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${this.#t.sessions} WHERE client = $1`,
      [client],
    );
    return Number(rows[0]?.n ?? 0);
  }

  streamPosition(): StreamPosition {
    return this.#delivering === undefined
      ? { change: this.#lastSeen(), exact: false }
      : { change: this.#delivering, exact: true };
  }

  /** Delivers the change of outbox row `id` (synchronously): what is sent meanwhile on GET streams stands at `id`. */
  deliverChange(id: number, deliver: () => void): void {
    this.#delivering = id;
    try {
      deliver();
    } finally {
      this.#delivering = undefined;
    }
  }

  async changesAfter(position: number, limit: number): Promise<readonly { position: number; event: ServerEvent }[]> {
    if (limit <= 0) return [];
    // The newest `limit`: a client further behind than the window gets what is left, as from a local store.
    const { rows } = await this.#pool.query<{ id: string; event: { event: ServerEvent } }>(
      `SELECT id, event FROM ${this.#t.outbox} WHERE id > $1 AND event->>'type' = 'change' ORDER BY id DESC LIMIT $2`,
      [position, limit],
    );
    return rows.reverse().map((row) => ({ position: Number(row.id), event: row.event.event }));
  }

  async setSubscribed(id: string, uri: string, subscribed: boolean): Promise<SharedSubscriptions> {
    return inTransaction(this.#pool, async (client) => {
      // The row lock orders concurrent changes: each outbox row carries the list as its change left it, and
      // its version, so that a copy never goes back to an older list (a read and a notice may cross).
      const { rows } = await client.query<{ subscriptions: string[]; subscriptions_version: string }>(
        subscribed
          ? `UPDATE ${this.#t.sessions} SET subscriptions = CASE WHEN $2 = ANY(subscriptions) THEN subscriptions
               ELSE array_append(subscriptions, $2) END, subscriptions_version = subscriptions_version + 1,
               last_activity = now() WHERE id = $1 RETURNING subscriptions, subscriptions_version`
          : `UPDATE ${this.#t.sessions} SET subscriptions = array_remove(subscriptions, $2),
               subscriptions_version = subscriptions_version + 1, last_activity = now()
               WHERE id = $1 RETURNING subscriptions, subscriptions_version`,
        [id, uri],
      );
      const row = rows[0];
      if (!row) return { uris: [], version: 0 };
      const changed = { uris: row.subscriptions, version: Number(row.subscriptions_version) };
      await appendToOutbox(client, this.#t, this.#instanceId, [
        { type: 'session-subscriptions', session: id, ...changed },
      ]);
      return changed;
    });
  }

  onSubscriptions(listener: (id: string, subscriptions: SharedSubscriptions) => void): () => void {
    this.#subscriptionListeners.add(listener);
    return () => void this.#subscriptionListeners.delete(listener);
  }

  /** A session's subscriptions as some instance changed them, read from the outbox. */
  deliverSubscriptions(id: string, subscriptions: SharedSubscriptions): void {
    for (const listener of [...this.#subscriptionListeners]) {
      try {
        listener(id, subscriptions);
      } catch (error) {
        this.#log.warn({ err: error }, 'a session subscriptions listener failed');
      }
    }
  }

  async setLogLevel(id: string, level: string): Promise<void> {
    await this.#pool.query(`UPDATE ${this.#t.sessions} SET log_level = $2, last_activity = now() WHERE id = $1`, [
      id,
      level,
    ]);
  }

  async touch(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.#pool.query(`UPDATE ${this.#t.sessions} SET last_activity = now() WHERE id = ANY($1::text[])`, [ids]);
  }

  async remove(id: string): Promise<void> {
    await inTransaction(this.#pool, async (client) => {
      const { rowCount } = await client.query(`DELETE FROM ${this.#t.sessions} WHERE id = $1`, [id]);
      if (rowCount) await appendToOutbox(client, this.#t, this.#instanceId, [{ type: 'sessions-removed', ids: [id] }]);
    });
  }

  async expire(idleMs: number): Promise<void> {
    const ids = await inTransaction(this.#pool, async (client) => {
      // SKIP LOCKED: instances sweeping at once share the rows instead of waiting for one another.
      const { rows } = await client.query<{ id: string }>(
        `DELETE FROM ${this.#t.sessions} WHERE id IN (
           SELECT id FROM ${this.#t.sessions} WHERE last_activity < now() - make_interval(secs => $1::double precision / 1000)
           FOR UPDATE SKIP LOCKED LIMIT 1000)
         RETURNING id`,
        [idleMs],
      );
      const removed = rows.map((row) => row.id);
      if (removed.length > 0)
        await appendToOutbox(client, this.#t, this.#instanceId, [{ type: 'sessions-removed', ids: removed }]);
      return removed;
    });
    if (ids.length > 0) this.#log.debug({ sessions: ids.length }, 'idle sessions expired fleet-wide');
    const { rows } = await this.#pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.#t.sessions}`);
    this.#count = Number(rows[0]?.n ?? 0);
  }

  onRemoved(listener: (id: string) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  async relay(id: string, messages: readonly unknown[]): Promise<void> {
    await inTransaction(this.#pool, (client) =>
      appendToOutbox(client, this.#t, this.#instanceId, [
        { type: 'session-messages', session: id, messages: [...messages] },
      ]),
    );
  }

  onRelayed(listener: (id: string, messages: readonly unknown[]) => void): () => void {
    this.#relayListeners.add(listener);
    return () => void this.#relayListeners.delete(listener);
  }

  /** Messages relayed for a session by some instance, read from the outbox. */
  deliverRelayed(id: string, messages: readonly unknown[]): void {
    for (const listener of [...this.#relayListeners]) {
      try {
        listener(id, messages);
      } catch (error) {
        this.#log.warn({ err: error }, 'a session message listener failed');
      }
    }
  }

  /** Sessions ended on some instance, read from the outbox. */
  deliverRemoved(ids: readonly string[]): void {
    for (const id of ids)
      for (const listener of [...this.#listeners]) {
        try {
          listener(id);
        } catch (error) {
          this.#log.warn({ err: error }, 'a session removal listener failed');
        }
      }
  }
}
