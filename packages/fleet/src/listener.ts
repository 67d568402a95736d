import type { Logger } from '@trellis/server';
import pg from 'pg';
import type { OutboxRow } from './outbox.js';
import type { FleetTables } from './schema.js';

export interface OutboxListenerOptions {
  /** The connection settings of the dedicated LISTEN connection (never a pooled one: no pool reset may drop the LISTEN). */
  connection: pg.ClientConfig;
  /** Where catch-up reads run. */
  pool: pg.Pool;
  tables: FleetTables;
  log: Logger;
  deliver(row: OutboxRow): void;
  /**
   * How often the LISTEN connection is asked `SELECT 1`; one that does not answer within the same time
   * is dropped and opened again (a connection cut without a FIN would otherwise wait for TCP to notice).
   */
  pingIntervalMs: number;
}

const BATCH = 500;

/**
 * This instance's ear on the outbox: one dedicated connection that LISTENs on
 * the fleet's channel. A notification (it carries an id only) triggers a read
 * of every row after the last one seen, so that nothing committed is missed:
 * when the connection drops it reconnects with backoff and, once listening
 * again, reads what was committed meanwhile.
 */
export class OutboxListener {
  readonly #options: OutboxListenerOptions;
  #client: pg.Client | undefined;
  #lastSeen = 0;
  #reading: Promise<void> | undefined;
  #readAgain = false;
  #reconnect: NodeJS.Timeout | undefined;
  #attempts = 0;
  #closed = false;
  #connected = false;
  #ping: NodeJS.Timeout | undefined;

  constructor(options: OutboxListenerOptions) {
    this.#options = options;
  }

  /** Whether the LISTEN connection is up. */
  get connected(): boolean {
    return this.#connected;
  }

  /** The id of the last row delivered. */
  get lastSeen(): number {
    return this.#lastSeen;
  }

  /**
   * Connects and listens; rows already in the outbox are history, not news.
   * Throws when the first connection fails (the start fails with it).
   */
  async start(): Promise<void> {
    const { rows } = await this.#options.pool.query<{ id: string | null }>(
      `SELECT max(id) AS id FROM ${this.#options.tables.outbox}`,
    );
    this.#lastSeen = Number(rows[0]?.id ?? 0);
    await this.#connect();
    this.#ping = setInterval(() => void this.#checkConnection(), this.#options.pingIntervalMs);
    this.#ping.unref();
  }

  async #checkConnection(): Promise<void> {
    const client = this.#client;
    if (!client) return;
    let timer: NodeJS.Timeout | undefined;
    const silent = new Promise<'silent'>((resolve) => {
      timer = setTimeout(resolve, this.#options.pingIntervalMs, 'silent');
    });
    const answer = await Promise.race([
      client.query('SELECT 1').then(
        () => 'ok' as const,
        () => 'failed' as const,
      ),
      silent,
    ]);
    clearTimeout(timer);
    if (answer === 'silent') this.#lost(client, new Error('the LISTEN connection stopped answering'));
  }

  async #connect(): Promise<void> {
    const client = new pg.Client(this.#options.connection);
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client, new Error('the connection ended')));
    client.on('notification', (message) => {
      if (message.channel === this.#options.tables.channel) void this.read();
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${this.#options.tables.channel}"`);
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    this.#connected = true;
    if (this.#attempts > 0) this.#options.log.info({ attempts: this.#attempts }, 'fleet listener reconnected');
    this.#attempts = 0;
    // Whatever was committed while nobody listened.
    await this.read();
  }

  #lost(client: pg.Client, error: Error): void {
    // Errors of a connection not yet (or no longer) in use are handled where it was opened or closed.
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#connected = false;
    client.removeAllListeners('notification');
    client.end().catch(() => undefined);
    if (this.#closed) return;
    this.#options.log.warn({ err: error.message }, 'fleet listener connection lost; reconnecting');
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed || this.#reconnect) return;
    this.#attempts += 1;
    const delay = Math.min(5_000, 100 * 2 ** Math.min(this.#attempts - 1, 6)) * (0.5 + Math.random() / 2);
    this.#reconnect = setTimeout(() => {
      this.#reconnect = undefined;
      this.#connect().catch((error: unknown) => {
        if (this.#attempts === 1 || this.#attempts % 10 === 0)
          this.#options.log.warn(
            { err: (error as Error).message, attempts: this.#attempts },
            'fleet listener could not reconnect',
          );
        this.#schedule();
      });
    }, delay);
    this.#reconnect.unref();
  }

  /** Reads and delivers every row after the last one seen (one read at a time; a request during one reads again after it). */
  read(): Promise<void> {
    if (this.#reading) {
      this.#readAgain = true;
      return this.#reading;
    }
    this.#reading = this.#readAll().finally(() => {
      this.#reading = undefined;
      if (this.#readAgain && !this.#closed) {
        this.#readAgain = false;
        void this.read();
      }
    });
    return this.#reading;
  }

  async #readAll(): Promise<void> {
    const { pool, tables, log, deliver } = this.#options;
    try {
      for (;;) {
        const { rows } = await pool.query<{ id: string; origin: string; event: OutboxRow['event'] }>(
          `SELECT id, origin, event FROM ${tables.outbox} WHERE id > $1 ORDER BY id LIMIT ${BATCH}`,
          [this.#lastSeen],
        );
        for (const row of rows) {
          this.#lastSeen = Number(row.id);
          try {
            deliver({ id: Number(row.id), origin: row.origin, event: row.event });
          } catch (error) {
            log.warn({ err: error }, 'delivering a fleet notification failed');
          }
        }
        if (rows.length < BATCH) return;
      }
    } catch (error) {
      // The pool cannot read now; the next notification or reconnect reads again.
      log.warn({ err: (error as Error).message }, 'reading the fleet outbox failed');
      if (!this.#closed && this.#connected) {
        const retry = setTimeout(() => void this.read(), 500);
        retry.unref();
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#ping);
    clearTimeout(this.#reconnect);
    const client = this.#client;
    this.#client = undefined;
    this.#connected = false;
    if (client) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
    }
    await this.#reading?.catch(() => undefined);
  }
}
