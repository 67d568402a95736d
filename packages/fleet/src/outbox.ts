import type { ServerEvent } from '@modelcontextprotocol/server';
import type { Logger } from '@trellis/server';
import type pg from 'pg';
import type { FleetTables } from './schema.js';

/** What one outbox row carries: a change for every instance, or a signal for the one that runs a task. */
export type OutboxEvent =
  | { type: 'change'; event: ServerEvent }
  | { type: 'task'; instance: string; taskId: string; signal: 'ended' | 'resumed' }
  | { type: 'sessions-removed'; ids: string[] }
  | { type: 'session-messages'; session: string; messages: unknown[] }
  | { type: 'session-subscriptions'; session: string; uris: readonly string[]; version?: number };

export interface OutboxRow {
  readonly id: number;
  readonly origin: string;
  readonly event: OutboxEvent;
}

/**
 * Writes outbox rows and announces them, in the caller's transaction. The
 * advisory lock makes rows commit in the order of their ids, so that a reader
 * that has seen id N has seen every id below it (a sequence alone hands out ids
 * in one order and commits in another). NOTIFY carries the highest id only:
 * readers fetch what is new from the table.
 */
export async function appendToOutbox(
  client: pg.ClientBase,
  t: FleetTables,
  origin: string,
  events: readonly OutboxEvent[],
): Promise<void> {
  if (events.length === 0) return;
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`trellis.fleet.outbox:${t.schema}`]);
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO ${t.outbox} (origin, event) SELECT $1, e FROM jsonb_array_elements($2::jsonb) AS e RETURNING id`,
    [origin, JSON.stringify(events)],
  );
  const last = rows.reduce((max, row) => (Number(row.id) > max ? Number(row.id) : max), 0);
  await client.query('SELECT pg_notify($1, $2)', [t.channel, String(last)]);
}

/** Runs `work` in a transaction on a pooled connection. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // The pool listens for errors of idle connections only: one that dies while held (between two
  // statements) would otherwise throw in the process. Its next statement fails, and that is handled.
  const ignore = () => undefined;
  client.on('error', ignore);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.off('error', ignore);
    client.release();
  }
}

export interface OutboxWriterOptions {
  pool: pg.Pool;
  tables: FleetTables;
  origin: string;
  log: Logger;
  /** Events kept while the database is unreachable; past it the oldest are dropped (and logged). */
  maxPending?: number;
}

/**
 * Publishes events from a synchronous `publish()` (the SDK's bus interface):
 * queued, written in batches, retried with backoff while the database is away.
 * An event is acknowledged once its row is committed; listeners (this
 * instance's too) hear it from the outbox, never before.
 */
export class OutboxWriter {
  readonly #options: OutboxWriterOptions;
  readonly #pending: OutboxEvent[] = [];
  #flushing: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #failures = 0;
  #closed = false;

  constructor(options: OutboxWriterOptions) {
    this.#options = options;
  }

  /** Events waiting to be committed. */
  get pending(): number {
    return this.#pending.length;
  }

  publish(event: OutboxEvent): void {
    if (this.#closed) return;
    const max = this.#options.maxPending ?? 10_000;
    if (this.#pending.length >= max) {
      this.#pending.shift();
      this.#options.log.warn({ max }, 'fleet outbox queue full: dropped the oldest unsent notification');
    }
    this.#pending.push(event);
    if (!this.#retry) void this.flush();
  }

  /** Writes what is queued; resolves when the queue is empty or a write failed (then a retry is scheduled). */
  flush(): Promise<void> {
    this.#flushing ??= this.#drain().finally(() => (this.#flushing = undefined));
    return this.#flushing;
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.slice(0, 100);
      try {
        const { pool, tables, origin } = this.#options;
        await inTransaction(pool, (client) => appendToOutbox(client, tables, origin, batch));
        this.#pending.splice(0, batch.length);
        this.#failures = 0;
      } catch (error) {
        this.#failures += 1;
        const delay = Math.min(5_000, 100 * 2 ** Math.min(this.#failures, 6)) * (0.5 + Math.random() / 2);
        if (this.#failures === 1 || this.#failures % 20 === 0)
          this.#options.log.warn(
            { err: (error as Error).message, pending: this.#pending.length, retryMs: Math.round(delay) },
            'fleet outbox write failed; retrying',
          );
        if (!this.#closed) {
          this.#retry = setTimeout(() => {
            this.#retry = undefined;
            void this.flush();
          }, delay);
          this.#retry.unref();
        }
        return;
      }
    }
  }

  /** Stops retrying; a last flush is attempted first (bounded by the caller's deadline). */
  async close(): Promise<void> {
    clearTimeout(this.#retry);
    this.#retry = undefined;
    await this.flush().catch(() => undefined);
    this.#closed = true;
    clearTimeout(this.#retry);
  }
}
