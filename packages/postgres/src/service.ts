import { setMaxListeners } from 'node:events';
import { Semaphore, SemaphoreTimeoutError } from '@trellis/concurrency';
import type { Logger, ReadyState } from '@trellis/server';
import pg from 'pg';
import Cursor from 'pg-cursor';
import { cancelled, settleOrGiveUp } from './cancellation.js';
import { PostgresError } from './errors.js';
import { isBrokenConnection, scrub, toPostgresError } from './safe-errors.js';
import { assertReadingStatement } from './statement-guard.js';
import { jsonValue, resultTypes, uniqueNames } from './values.js';

/** How the service reaches the database and how hard it works it. */
export interface PostgresServiceOptions {
  /** `pg` connection settings: a `connectionString`, or host/port/user/database. */
  connection: pg.ClientConfig;
  poolSize: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  statementTimeoutMs: number;
  queueTimeoutMs: number;
  applicationName: string;
  maxRows: number;
  log: Logger;
  /** Texts that must never appear in messages (the password). */
  secrets?: readonly string[];
  /** Set when there is no database to reach: every call fails with this message. */
  unavailable?: string;
}

/** One column of a result: its name and its PostgreSQL type. */
export interface ResultColumn {
  name: string;
  type: string;
}

/** What a read-only statement returned, capped at `maxRows`. */
export interface QueryOutcome {
  columns: ResultColumn[];
  rows: Record<string, unknown>[];
  rowCount: number;
  /** True when the statement had more rows than were returned. */
  truncated: boolean;
  maxRows: number;
}

/** Options of one operation: its cancellation and, for queries, its row cap. */
export interface OperationOptions {
  /** Aborting it cancels the running statement on the server. */
  signal?: AbortSignal;
  maxRows?: number;
}

const HEALTH_TTL_MS = 2_000;

/**
 * The database of the postgres plugin: a `pg` pool behind a FIFO queue, read-only
 * transactions with a statement timeout, cancellation that reaches the backend,
 * health for readiness, and a close that waits for (or cancels) what runs.
 * Other plugins get it through `PostgresServiceKey`.
 */
export class PostgresService {
  /** The underlying pool, for plugins that need more than reading. */
  readonly pool: pg.Pool;
  readonly #options: PostgresServiceOptions;
  readonly #slots: Semaphore;
  readonly #secrets: readonly string[];
  readonly #closing = new AbortController();
  readonly #running = new Set<Promise<unknown>>();
  readonly #typeNames = new Map<number, string>();
  #health: { at: number; state: Promise<ReadyState> } | undefined;

  constructor(options: PostgresServiceOptions) {
    this.#options = options;
    this.#secrets = options.secrets ?? [];
    this.#slots = new Semaphore(options.poolSize);
    // Every running or queued call listens for the close; there may be many.
    setMaxListeners(0, this.#closing.signal);
    this.pool = new pg.Pool({
      ...options.connection,
      max: options.poolSize,
      connectionTimeoutMillis: options.connectTimeoutMs,
      idleTimeoutMillis: options.idleTimeoutMs,
      application_name: options.applicationName,
      types: resultTypes,
    });
    // An idle connection whose server went away emits here; the pool drops it and opens a new one later.
    this.pool.on('error', (error) => options.log.warn({ err: this.scrub(error.message) }, 'an idle database connection failed; it will be replaced'));
  }

  /** Calls waiting for a free connection, and calls holding one. */
  get load(): { active: number; waiting: number } {
    return { active: this.#slots.active, waiting: this.#slots.pending };
  }

  /** Removes the password (and any URL password) from a text. */
  scrub(text: string): string {
    return scrub(text, this.#secrets);
  }

  /**
   * Runs one reading statement with positional parameters (`$1…`) in a READ ONLY
   * transaction, returning at most `maxRows` rows. Writes, multiple statements
   * and non-queries are refused with a `PostgresError` coded `READ_ONLY`.
   * @example
   * const { rows } = await db.query('SELECT * FROM users WHERE id = $1', [42], { signal });
   */
  async query(sql: string, params: readonly unknown[] = [], options: OperationOptions = {}): Promise<QueryOutcome> {
    assertReadingStatement(sql);
    const maxRows = options.maxRows ?? this.#options.maxRows;
    return this.readOnly(async (client) => {
      // A cursor always uses the extended protocol, which refuses a second statement in the text.
      const cursor = client.query(new Cursor(sql, params.map(toParam), { rowMode: 'array', types: resultTypes }));
      const { rows, fields } = await new Promise<{ rows: unknown[][]; fields: pg.FieldDef[] }>((resolve, reject) => {
        cursor.read(maxRows + 1, (error, rows, result) => (error ? reject(error) : resolve({ rows: rows as unknown[][], fields: result?.fields ?? [] })));
      });
      await cursor.close();
      const truncated = rows.length > maxRows;
      const names = uniqueNames(fields.map((f) => f.name));
      const types = await this.#typeNamesOf(client, fields.map((f) => f.dataTypeID));
      const kept = truncated ? rows.slice(0, maxRows) : rows;
      return {
        columns: fields.map((f, i) => ({ name: names[i]!, type: types.get(f.dataTypeID) ?? String(f.dataTypeID) })),
        rows: kept.map((row) => Object.fromEntries(names.map((name, i) => [name, jsonValue(row[i])]))),
        rowCount: kept.length,
        truncated,
        maxRows,
      };
    }, options);
  }

  /**
   * Runs `fn` with a pooled connection inside a READ ONLY transaction that is
   * always rolled back. When `signal` aborts, the backend's statement is
   * cancelled and the connection goes back to the pool healthy. A connection
   * that broke (the server restarted) is replaced and `fn` tried once more.
   */
  async readOnly<T>(fn: (client: pg.PoolClient) => Promise<T>, options: OperationOptions = {}): Promise<T> {
    if (this.#options.unavailable !== undefined) throw new PostgresError('DB_UNAVAILABLE', this.#options.unavailable);
    if (this.#closing.signal.aborted) throw new PostgresError('DB_UNAVAILABLE', 'The database connection is closing with the server.');
    const signal = options.signal ? AbortSignal.any([options.signal, this.#closing.signal]) : this.#closing.signal;
    const work = (async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.#attempt(fn, signal);
        } catch (error) {
          if (signal.aborted) throw cancelled(signal, error);
          if (attempt < 2 && isBrokenConnection(error)) continue;
          throw toPostgresError(error, this.#secrets);
        }
      }
    })();
    this.#running.add(work);
    try {
      return await work;
    } finally {
      this.#running.delete(work);
    }
  }

  async #attempt<T>(fn: (client: pg.PoolClient) => Promise<T>, signal: AbortSignal): Promise<T> {
    let release: () => void;
    try {
      release = await this.#slots.acquire({ signal, timeoutMs: this.#options.queueTimeoutMs });
    } catch (error) {
      if (error instanceof SemaphoreTimeoutError) {
        throw new PostgresError('DB_UNAVAILABLE', `Every database connection stayed busy for ${this.#options.queueTimeoutMs} ms (${this.#slots.active} running, ${this.#slots.pending} waiting). Retry shortly.`);
      }
      throw error;
    }
    try {
      const client = await this.pool.connect();
      return await this.#inTransaction(client, fn, signal);
    } finally {
      release();
    }
  }

  async #inTransaction<T>(client: pg.PoolClient, fn: (client: pg.PoolClient) => Promise<T>, signal: AbortSignal): Promise<T> {
    const log = this.#options.log;
    const onClientError = (error: Error) => log.warn({ err: this.scrub(error.message) }, 'a database connection failed during a call');
    client.on('error', onClientError);
    let pid: number | undefined;
    let cancelling: Promise<void> | undefined;
    let broken: Error | undefined;
    const onAbort = () => {
      if (pid !== undefined) cancelling ??= this.#cancelBackend(pid);
    };
    try {
      if (signal.aborted) throw signal.reason;
      await client.query('BEGIN TRANSACTION READ ONLY');
      // A SELECT takes the transaction's snapshot, so a later SET TRANSACTION READ WRITE is refused.
      const started = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid, set_config('statement_timeout', $1, true)", [String(this.#options.statementTimeoutMs)]);
      pid = started.rows[0]!.pid;
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) onAbort();
      return await settleOrGiveUp(fn(client), signal, () => {
        broken = new Error('the statement did not stop after its cancel request');
      });
    } catch (error) {
      if (isBrokenConnection(error)) broken ??= error as Error;
      throw error;
    } finally {
      signal.removeEventListener('abort', onAbort);
      await cancelling;
      if (!broken) {
        try {
          await client.query('ROLLBACK');
        } catch (error) {
          broken = error as Error;
        }
      }
      client.off('error', onClientError);
      // A connection in doubt is closed rather than handed to the next call.
      client.release(broken ?? undefined);
    }
  }

  /** Cancels what backend `pid` runs, from a connection of its own (the pool may be full). */
  async #cancelBackend(pid: number): Promise<void> {
    const canceller = new pg.Client({ ...this.#options.connection, connectionTimeoutMillis: this.#options.connectTimeoutMs, application_name: `${this.#options.applicationName}:cancel` });
    canceller.on('error', () => undefined);
    try {
      await canceller.connect();
      await canceller.query('SELECT pg_cancel_backend($1)', [pid]);
      this.#options.log.debug({ pid }, 'cancelled a running statement');
    } catch (error) {
      this.#options.log.warn({ pid, err: this.scrub((error as Error).message ?? String(error)) }, 'could not cancel a running statement');
    } finally {
      await canceller.end().catch(() => undefined);
    }
  }

  async #typeNamesOf(client: pg.PoolClient, oids: number[]): Promise<Map<number, string>> {
    const missing = [...new Set(oids)].filter((oid) => !this.#typeNames.has(oid));
    if (missing.length > 0) {
      const { rows } = await client.query<{ oid: number; name: string }>('SELECT oid::int AS oid, format_type(oid, NULL) AS name FROM pg_type WHERE oid = ANY($1::oid[])', [missing]);
      for (const row of rows) this.#typeNames.set(row.oid, row.name);
    }
    return this.#typeNames;
  }

  /**
   * Whether the database answers, from a connection of its own so that a busy
   * pool does not look like a dead database. Cached for two seconds.
   */
  health(): Promise<ReadyState> {
    const now = Date.now();
    if (this.#health && now - this.#health.at < HEALTH_TTL_MS) return this.#health.state;
    const state = this.#probe();
    this.#health = { at: now, state };
    return state;
  }

  async #probe(): Promise<ReadyState> {
    if (this.#options.unavailable !== undefined) return { ok: false, detail: this.#options.unavailable };
    if (this.#closing.signal.aborted) return { ok: false, detail: 'closing' };
    const probe = new pg.Client({ ...this.#options.connection, connectionTimeoutMillis: this.#options.connectTimeoutMs, application_name: `${this.#options.applicationName}:health` });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.query('SELECT 1');
      const { totalCount, idleCount } = this.pool;
      return { ok: true, detail: `database answers; pool ${totalCount - idleCount} busy, ${idleCount} idle, ${this.#slots.pending} waiting` };
    } catch (error) {
      return { ok: false, detail: toPostgresError(error, this.#secrets).message };
    } finally {
      await probe.end().catch(() => undefined);
    }
  }

  /** Cancels what still runs, waits for it to roll back, then closes every connection. */
  async close(): Promise<void> {
    if (!this.#closing.signal.aborted) this.#closing.abort(new Error('the server is shutting down'));
    await Promise.allSettled([...this.#running]);
    await this.pool.end();
  }
}

function toParam(value: unknown): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? JSON.stringify(value) : value;
}
