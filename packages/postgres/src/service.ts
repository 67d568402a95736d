import { setMaxListeners } from 'node:events';
import { Semaphore, SemaphoreTimeoutError } from '@trellis/concurrency';
import type { Logger, ReadyState } from '@trellis/server';
import pg from 'pg';
import Cursor from 'pg-cursor';
import { cancelled, settleOrGiveUp } from './cancellation.js';
import { describeStatement } from './describe-statement.js';
import { PostgresError } from './errors.js';
import { budgetNote, tooLargeError, type CutValue } from './result-budget.js';
import { ResultGuard, type GuardTrip } from './result-guard.js';
import { inspectRole, unsafeRoleMessage, ALLOW_PRIVILEGED_ROLE_SETTING, type RoleInspection } from './role-check.js';
import { isBrokenConnection, scrub, toPostgresError } from './safe-errors.js';
import { checkStatement } from './statement-guard.js';
import { traceStatement } from './tracing.js';
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
  /** Bytes of rows (as sent by the server) one call may receive; see `ResultGuard`. */
  maxBytes: number;
  /** Values longer than this (as text) are cut by PostgreSQL to a preview. */
  maxValueBytes: number;
  /** Serve even when the role has attributes or memberships that reach past table privileges. */
  allowPrivilegedRole?: boolean;
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

/** What a read-only statement returned, capped at `maxRows` rows and `maxBytes` bytes. */
export interface QueryOutcome {
  columns: ResultColumn[];
  rows: Record<string, unknown>[];
  rowCount: number;
  /** True when the statement had more rows than were returned. */
  truncated: boolean;
  /** What cut the rows: the row cap, or the byte budget (then the statement was cancelled). */
  truncatedBy: 'rows' | 'bytes' | null;
  maxRows: number;
  maxBytes: number;
  /** Values longer than `maxValueBytes`, returned as a preview of their first characters. */
  cutValues: CutValue[];
  /** What was cut and how to narrow the query; null when nothing was. */
  note: string | null;
}

/** Options of one operation: its cancellation and, for queries, its caps. */
export interface OperationOptions {
  /** Aborting it cancels the running statement on the server. */
  signal?: AbortSignal;
  maxRows?: number;
  /** Bytes of rows the operation may receive (default: the service's `maxBytes`). */
  maxBytes?: number;
}

const HEALTH_TTL_MS = 2_000;
/** No protocol message may be larger than the call's byte budget, nor than this floor (long error texts). */
const MESSAGE_FLOOR = 256 * 1024;
/** Characters kept of a value that is too long. */
const PREVIEW_CHARS = 1000;

/**
 * Wraps a SELECT so that PostgreSQL returns, per column, the value when its
 * text fits `maxValueBytes`, else a preview and the full size in bytes. The
 * column list renames positionally, so duplicate or odd names do not matter.
 */
function cutLongValues(text: string, columns: number, maxValueBytes: number): string {
  const preview = Math.min(PREVIEW_CHARS, maxValueBytes);
  const index = Array.from({ length: columns }, (_, i) => i + 1);
  const sizes = index.map((i) => `octet_length(q.c${i}::text) AS s${i}`).join(', ');
  const outputs = index
    .map(
      (i) =>
        `CASE WHEN z.s${i} > ${maxValueBytes} THEN NULL ELSE q.c${i} END, CASE WHEN z.s${i} > ${maxValueBytes} THEN left(q.c${i}::text, ${preview}) END, CASE WHEN z.s${i} > ${maxValueBytes} THEN z.s${i} END`,
    )
    .join(', ');
  // OFFSET 0 keeps the statement a subquery of its own (a planner fence), so each value is computed once, not once per use.
  return `SELECT ${outputs} FROM (SELECT * FROM (${text}\n) AS statement OFFSET 0) AS q(${index.map((i) => `c${i}`).join(', ')}) CROSS JOIN LATERAL (SELECT ${sizes}) AS z`;
}

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
  readonly #guards = new WeakMap<pg.ClientBase, ResultGuard>();
  #roleCheck: Promise<RoleInspection> | undefined;
  /** Why the role was refused, once it was: every call and the readiness say so. */
  #refusal: string | undefined;
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
    this.pool.on('error', (error) =>
      options.log.warn({ err: this.scrub(error.message) }, 'an idle database connection failed; it will be replaced'),
    );
    // Every pooled connection reads through a guard, before the driver buffers anything.
    this.pool.on('connect', (client) => {
      this.#guards.set(client, ResultGuard.install(client, MESSAGE_FLOOR));
    });
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
   * transaction. Statements are parsed with PostgreSQL's grammar first: writes,
   * multiple statements, non-queries and calls of denied functions are refused
   * with a `PostgresError` (`READ_ONLY`, `FUNCTION_DENIED`). The answer holds at
   * most `maxRows` rows and `maxBytes` bytes of rows; a SELECT is wrapped so that
   * PostgreSQL cuts values longer than `maxValueBytes` to a preview, and a result
   * past the byte budget stops the statement and answers what fit, with a note.
   * @example
   * const { rows } = await db.query('SELECT * FROM users WHERE id = $1', [42], { signal });
   */
  async query(sql: string, params: readonly unknown[] = [], options: OperationOptions = {}): Promise<QueryOutcome> {
    const statement = await checkStatement(sql);
    const maxRows = options.maxRows ?? this.#options.maxRows;
    const maxBytes = options.maxBytes ?? this.#options.maxBytes;
    const maxValueBytes = this.#options.maxValueBytes;
    const values = params.map(toParam);
    return traceStatement(statement.kind, options.signal, () =>
      this.readOnly(
        async (client) => {
          const guard = this.#guards.get(client)!;
          // A SELECT is measured by PostgreSQL itself: each value longer than maxValueBytes comes back as a preview.
          const shape = statement.kind === 'select' ? await describeStatement(client, statement.text) : undefined;
          const wrapped = shape !== undefined && shape.length > 0;
          const text = wrapped ? cutLongValues(statement.text, shape.length, maxValueBytes) : statement.text;
          // A cursor always uses the extended protocol, which refuses a second statement in the text.
          const cursor = client.query(new Cursor(text, values, { rowMode: 'array', types: resultTypes }));
          const received: unknown[][] = [];
          let fields: pg.FieldDef[] = [];
          // Rows are taken as they are decoded, so a read cut short by the guard keeps the ones that arrived.
          cursor.on('row', (row: unknown[], result: { fields: pg.FieldDef[] }) => {
            fields = result.fields;
            received.push(row);
          });
          try {
            await new Promise<void>((resolve, reject) => {
              cursor.read(maxRows + 1, (error, _rows, result) => {
                if (error) return reject(error);
                if (result?.fields) fields = result.fields;
                resolve();
              });
            });
            await cursor.close();
          } catch (error) {
            if (!guard.trip) throw error;
          }
          const trip = guard.trip;
          const truncatedBy = trip ? 'bytes' : received.length > maxRows ? 'rows' : null;
          const kept = received.length > maxRows ? received.slice(0, maxRows) : received;
          const columnFields = wrapped ? shape : fields;
          const names = uniqueNames(columnFields.map((f) => f.name));
          const types = trip
            ? this.#typeNames
            : await this.#typeNamesOf(
                client,
                columnFields.map((f) => f.dataTypeID),
              );
          const cutValues: CutValue[] = [];
          const rows = kept.map((row, r) =>
            Object.fromEntries(
              names.map((name, i) => {
                if (!wrapped) return [name, jsonValue(row[i])];
                const bytes = row[3 * i + 2];
                if (bytes === null || bytes === undefined) return [name, jsonValue(row[3 * i])];
                cutValues.push({ row: r, column: name, bytes: Number(bytes) });
                return [name, row[3 * i + 1]];
              }),
            ),
          );
          return {
            columns: columnFields.map((f, i) => ({
              name: names[i]!,
              type: types.get(f.dataTypeID) ?? String(f.dataTypeID),
            })),
            rows,
            rowCount: rows.length,
            truncated: truncatedBy !== null,
            truncatedBy,
            maxRows,
            maxBytes,
            cutValues,
            note: budgetNote({ rowCount: rows.length, truncatedBy, maxRows, maxBytes, maxValueBytes, trip, cutValues }),
          };
        },
        { ...options, maxBytes },
      ),
    );
  }

  /**
   * Runs `fn` with a pooled connection inside a READ ONLY transaction that is
   * always rolled back. When `signal` aborts, the backend's statement is
   * cancelled and the connection goes back to the pool healthy. A connection
   * that broke (the server restarted) is replaced and `fn` tried once more.
   */
  async readOnly<T>(fn: (client: pg.PoolClient) => Promise<T>, options: OperationOptions = {}): Promise<T> {
    if (this.#options.unavailable !== undefined) throw new PostgresError('DB_UNAVAILABLE', this.#options.unavailable);
    if (this.#closing.signal.aborted)
      throw new PostgresError('DB_UNAVAILABLE', 'The database connection is closing with the server.');
    const signal = options.signal ? AbortSignal.any([options.signal, this.#closing.signal]) : this.#closing.signal;
    const maxBytes = options.maxBytes ?? this.#options.maxBytes;
    const work = (async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.#attempt(fn, signal, maxBytes);
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

  async #attempt<T>(fn: (client: pg.PoolClient) => Promise<T>, signal: AbortSignal, maxBytes: number): Promise<T> {
    let release: () => void;
    try {
      release = await this.#slots.acquire({ signal, timeoutMs: this.#options.queueTimeoutMs });
    } catch (error) {
      if (error instanceof SemaphoreTimeoutError) {
        throw new PostgresError(
          'DB_UNAVAILABLE',
          `Every database connection stayed busy for ${this.#options.queueTimeoutMs} ms (${this.#slots.active} running, ${this.#slots.pending} waiting). Retry shortly.`,
        );
      }
      throw error;
    }
    try {
      const client = await this.pool.connect();
      return await this.#inTransaction(client, fn, signal, maxBytes);
    } finally {
      release();
    }
  }

  async #inTransaction<T>(
    client: pg.PoolClient,
    fn: (client: pg.PoolClient) => Promise<T>,
    signal: AbortSignal,
    maxBytes: number,
  ): Promise<T> {
    const log = this.#options.log;
    const guard = this.#guards.get(client)!;
    const onClientError = (error: Error) =>
      log.warn({ err: this.scrub(error.message) }, 'a database connection failed during a call');
    client.on('error', onClientError);
    let pid: number | undefined;
    let cancelling: Promise<void> | undefined;
    let broken: Error | undefined;
    const onAbort = () => {
      if (pid !== undefined) cancelling ??= this.#cancelBackend(pid);
    };
    const onTrip = (trip: GuardTrip) => {
      log.warn(
        { pid, reason: trip.reason, announcedBytes: trip.announcedBytes, receivedBytes: trip.receivedBytes },
        'a result passed its byte budget; cancelling the statement and dropping the connection',
      );
      broken ??= new Error('the connection was dropped by the result guard');
      onAbort();
    };
    try {
      if (signal.aborted) throw signal.reason;
      await this.#verifyRole(client);
      // One round trip. A SELECT takes the transaction's snapshot, so a later SET TRANSACTION READ WRITE is refused.
      const started = (await client.query(
        `BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = ${Math.trunc(this.#options.statementTimeoutMs)}; SELECT pg_backend_pid() AS pid`,
      )) as unknown as pg.QueryResult<{ pid: number }>[];
      pid = started[2]!.rows[0]!.pid;
      guard.arm(maxBytes, onTrip);
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) onAbort();
      return await settleOrGiveUp(fn(client), signal, () => {
        broken = new Error('the statement did not stop after its cancel request');
      });
    } catch (error) {
      if (guard.trip) throw tooLargeError(guard.trip, maxBytes, error);
      if (isBrokenConnection(error)) broken ??= error as Error;
      throw error;
    } finally {
      guard.disarm();
      signal.removeEventListener('abort', onAbort);
      await cancelling;
      if (!broken) {
        try {
          await client.query('ROLLBACK');
          // Session state a statement may leave behind (advisory locks, settings, prepared plans) goes before reuse.
          await client.query('DISCARD ALL');
        } catch (error) {
          broken = error as Error;
        }
      }
      client.off('error', onClientError);
      // A connection in doubt is closed rather than handed to the next call.
      client.release(broken ?? undefined);
    }
  }

  /**
   * Checks the role of the connection once: a role with privileges past table
   * reading fails every call (and the start) unless the operator allowed it.
   */
  #verifyRole(client: pg.ClientBase): Promise<RoleInspection> {
    this.#roleCheck ??= inspectRole(client).then(
      (inspection) => {
        if (inspection.findings.length > 0) {
          if (!this.#options.allowPrivilegedRole) {
            this.#refusal = unsafeRoleMessage(inspection);
            throw new PostgresError('UNSAFE_ROLE', this.#refusal);
          }
          this.#options.log.warn(
            { role: inspection.role, privileges: inspection.findings, setting: ALLOW_PRIVILEGED_ROLE_SETTING },
            `${ALLOW_PRIVILEGED_ROLE_SETTING} is set: serving a model with role "${inspection.role}", which has ${inspection.findings.join(', ')}. The model can use these privileges.`,
          );
        }
        return inspection;
      },
      (error: unknown) => {
        // Not a verdict: the next call checks again.
        this.#roleCheck = undefined;
        throw error;
      },
    );
    return this.#roleCheck;
  }

  /**
   * Inspects the connection's role now (the plugin does it at start). Throws a
   * `PostgresError` coded `UNSAFE_ROLE` when it is refused, `DB_UNAVAILABLE` when
   * the database cannot be reached (then the first call checks again).
   */
  async verifyRole(): Promise<RoleInspection> {
    if (this.#options.unavailable !== undefined) throw new PostgresError('DB_UNAVAILABLE', this.#options.unavailable);
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw toPostgresError(error, this.#secrets);
    }
    try {
      return await this.#verifyRole(client);
    } catch (error) {
      throw toPostgresError(error, this.#secrets);
    } finally {
      client.release();
    }
  }

  /** Cancels what backend `pid` runs, from a connection of its own (the pool may be full). */
  async #cancelBackend(pid: number): Promise<void> {
    const canceller = new pg.Client({
      ...this.#options.connection,
      connectionTimeoutMillis: this.#options.connectTimeoutMs,
      application_name: `${this.#options.applicationName}:cancel`,
    });
    canceller.on('error', () => undefined);
    try {
      await canceller.connect();
      await canceller.query('SELECT pg_cancel_backend($1)', [pid]);
      this.#options.log.debug({ pid }, 'cancelled a running statement');
    } catch (error) {
      this.#options.log.warn(
        { pid, err: this.scrub((error as Error).message ?? String(error)) },
        'could not cancel a running statement',
      );
    } finally {
      await canceller.end().catch(() => undefined);
    }
  }

  async #typeNamesOf(client: pg.PoolClient, oids: number[]): Promise<Map<number, string>> {
    const missing = [...new Set(oids)].filter((oid) => !this.#typeNames.has(oid));
    if (missing.length > 0) {
      const { rows } = await client.query<{ oid: number; name: string }>(
        'SELECT oid::int AS oid, format_type(oid, NULL) AS name FROM pg_type WHERE oid = ANY($1::oid[])',
        [missing],
      );
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
    if (this.#refusal !== undefined) return { ok: false, detail: this.#refusal };
    if (this.#closing.signal.aborted) return { ok: false, detail: 'closing' };
    const probe = new pg.Client({
      ...this.#options.connection,
      connectionTimeoutMillis: this.#options.connectTimeoutMs,
      application_name: `${this.#options.applicationName}:health`,
    });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.query('SELECT 1');
      const { totalCount, idleCount } = this.pool;
      return {
        ok: true,
        detail: `database answers; pool ${totalCount - idleCount} busy, ${idleCount} idle, ${this.#slots.pending} waiting`,
      };
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
