import {
  isTerminal,
  TaskLimitError,
  type AppliedResponses,
  type JsonObject,
  type NewTask,
  type TaskPatch,
  type TaskRecord,
  type TaskSignal,
  type TaskStatus,
  type TaskStore,
  type TaskWrite,
} from '@trellis/tasks';
import type pg from 'pg';
import { appendToOutbox, inTransaction } from './outbox.js';
import type { FleetTables } from './schema.js';

interface TaskRow {
  id: string;
  instance_id: string;
  owner: string | null;
  tool: string;
  arguments: JsonObject | null;
  status: TaskStatus;
  status_message: string | null;
  created_at: string;
  last_updated_at: string;
  ttl_ms: string;
  poll_interval_ms: string;
  input_requests: JsonObject | null;
  input_responses: JsonObject | null;
  request_state: string | null;
  result: JsonObject | null;
  error: TaskRecord['error'];
  rerunnable: boolean;
}

function recordOf(row: TaskRow): TaskRecord {
  return {
    id: row.id,
    owner: row.owner,
    tool: row.tool,
    arguments: row.arguments,
    status: row.status,
    statusMessage: row.status_message,
    createdAt: Number(row.created_at),
    lastUpdatedAt: Number(row.last_updated_at),
    ttlMs: Number(row.ttl_ms),
    pollIntervalMs: Number(row.poll_interval_ms),
    inputRequests: row.input_requests,
    inputResponses: row.input_responses,
    requestState: row.request_state,
    result: row.result,
    error: row.error,
    ...(row.rerunnable && { rerunnable: true }),
  };
}

/** Columns a `TaskPatch` may set, and how each is written. */
const PATCH_COLUMNS: Record<keyof TaskPatch, { column: string; json: boolean }> = {
  status: { column: 'status', json: false },
  statusMessage: { column: 'status_message', json: false },
  inputRequests: { column: 'input_requests', json: true },
  inputResponses: { column: 'input_responses', json: true },
  requestState: { column: 'request_state', json: false },
  result: { column: 'result', json: true },
  error: { column: 'error', json: true },
};

export interface PostgresTaskStoreOptions {
  pool: pg.Pool;
  tables: FleetTables;
  /** This instance: the one that runs the tasks it creates. */
  instanceId: string;
}

/**
 * The task store of a fleet: every instance reads and writes the same rows, so
 * `tasks/get`, `tasks/update` and `tasks/cancel` work wherever a request
 * lands. A task is run by the instance that created it (`instance_id`): when
 * another instance cancels it, or answers its last pending input, the change
 * and a signal to that instance commit together (through the outbox), and the
 * fleet hands the signal to `watch` there. Status changes are compare-and-set
 * in one statement, so races between instances resolve in the database.
 */
export class PostgresTaskStore implements TaskStore {
  readonly #options: PostgresTaskStoreOptions;
  readonly #watchers = new Set<(signal: TaskSignal) => void>();

  constructor(options: PostgresTaskStoreOptions) {
    this.#options = options;
  }

  async create(task: NewTask, options: { liveLimit: number }): Promise<void> {
    const { pool, tables, instanceId } = this.#options;
    await inTransaction(pool, async (client) => {
      // The cap is fleet-wide: creations take turns while they count.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`trellis.fleet.tasks:${tables.schema}`]);
      const { rows } = await client.query<{ live: number }>(
        `SELECT count(*)::int AS live FROM ${tables.tasks} WHERE status IN ('working', 'input_required') AND expires_at > $1`,
        [Date.now()],
      );
      const live = rows[0]!.live;
      if (live >= options.liveLimit) throw new TaskLimitError(live, options.liveLimit);
      await client.query(
        `INSERT INTO ${tables.tasks} (id, instance_id, owner, tool, arguments, status, status_message, created_at,
           last_updated_at, ttl_ms, expires_at, poll_interval_ms, input_requests, input_responses, request_state, result, error,
           rerunnable)
         VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14::jsonb, $15, $16::jsonb, $17::jsonb,
           $18)`,
        [
          task.id,
          instanceId,
          task.owner,
          task.tool,
          json(task.arguments),
          task.status,
          task.statusMessage,
          task.createdAt,
          task.lastUpdatedAt,
          task.ttlMs,
          task.createdAt + task.ttlMs,
          task.pollIntervalMs,
          json(task.inputRequests),
          json(task.inputResponses),
          task.requestState,
          json(task.result),
          json(task.error),
          task.rerunnable === true,
        ],
      );
    });
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    const { rows } = await this.#options.pool.query<TaskRow>(
      `SELECT * FROM ${this.#options.tables.tasks} WHERE id = $1 AND expires_at > $2`,
      [id, Date.now()],
    );
    return rows[0] && recordOf(rows[0]);
  }

  /** A runner's write (`write.runner`) applies only while this instance still runs the task. */
  async compareAndSet(
    id: string,
    from: readonly TaskStatus[],
    patch: TaskPatch,
    write: TaskWrite = {},
  ): Promise<TaskRecord | undefined> {
    const { pool, tables, instanceId } = this.#options;
    const values: unknown[] = [id, [...from], Date.now()];
    const sets = ['last_updated_at = $3'];
    for (const [key, value] of Object.entries(patch) as [keyof TaskPatch, unknown][]) {
      const spec = PATCH_COLUMNS[key];
      if (!spec || value === undefined) continue;
      values.push(spec.json ? json(value) : value);
      sets.push(`${spec.column} = $${values.length}${spec.json ? '::jsonb' : ''}`);
    }
    if (write.runner) values.push(instanceId);
    const fence = write.runner ? ` AND instance_id = $${values.length}` : '';
    const update = `UPDATE ${tables.tasks} SET ${sets.join(', ')}
      WHERE id = $1 AND status = ANY($2::text[]) AND expires_at > $3${fence} RETURNING *`;
    // Only an end decided here for a task run elsewhere needs a signal (and so a transaction).
    if (!patch.status || !isTerminal(patch.status)) {
      const { rows } = await pool.query<TaskRow>(update, values);
      return rows[0] && recordOf(rows[0]);
    }
    return inTransaction(pool, async (client) => {
      const { rows } = await client.query<TaskRow>(update, values);
      const row = rows[0];
      if (row && row.instance_id !== instanceId)
        await appendToOutbox(client, tables, instanceId, [
          { type: 'task', instance: row.instance_id, taskId: id, signal: 'ended' },
        ]);
      return row && recordOf(row);
    });
  }

  putInputRequests(id: string, requests: JsonObject, requestState: string | null): Promise<TaskRecord | undefined> {
    return this.compareAndSet(
      id,
      ['working'],
      { status: 'input_required', inputRequests: requests, inputResponses: {}, requestState },
      { runner: true },
    );
  }

  async applyInputResponses(id: string, responses: JsonObject): Promise<AppliedResponses | undefined> {
    const { pool, tables, instanceId } = this.#options;
    return inTransaction(pool, async (client) => {
      const { rows } = await client.query<TaskRow>(
        `SELECT * FROM ${tables.tasks} WHERE id = $1 AND expires_at > $2 FOR UPDATE`,
        [id, Date.now()],
      );
      const row = rows[0];
      if (!row) return undefined;
      const task = recordOf(row);
      if (task.status !== 'input_required' || !task.inputRequests) return { task, accepted: [], resumed: false };
      const pending = { ...task.inputRequests };
      const collected = { ...task.inputResponses };
      const accepted: string[] = [];
      for (const [key, value] of Object.entries(responses)) {
        if (!(key in pending)) continue; // unknown or already answered: ignored, as the extension allows
        delete pending[key];
        collected[key] = value;
        accepted.push(key);
      }
      const resumed = Object.keys(pending).length === 0;
      const { rows: updated } = await client.query<TaskRow>(
        `UPDATE ${tables.tasks} SET input_requests = $2::jsonb, input_responses = $3::jsonb, status = $4, last_updated_at = $5
          WHERE id = $1 RETURNING *`,
        [
          id,
          resumed ? null : JSON.stringify(pending),
          JSON.stringify(collected),
          resumed ? 'working' : 'input_required',
          Date.now(),
        ],
      );
      // The handler can be entered again only where it runs.
      if (resumed && row.instance_id !== instanceId)
        await appendToOutbox(client, tables, instanceId, [
          { type: 'task', instance: row.instance_id, taskId: id, signal: 'resumed' },
        ]);
      return { task: recordOf(updated[0]!), accepted, resumed };
    });
  }

  async discard(id: string): Promise<void> {
    await this.#options.pool.query(`DELETE FROM ${this.#options.tables.tasks} WHERE id = $1`, [id]);
  }

  /** Whichever instance runs this first purges every expired task; the others find nothing left. */
  async expire(now: number): Promise<string[]> {
    const { rows } = await this.#options.pool.query<{ id: string }>(
      `DELETE FROM ${this.#options.tables.tasks} WHERE expires_at <= $1 RETURNING id`,
      [now],
    );
    return rows.map((row) => row.id);
  }

  async countLive(): Promise<number> {
    const { rows } = await this.#options.pool.query<{ live: number }>(
      `SELECT count(*)::int AS live FROM ${this.#options.tables.tasks} WHERE status IN ('working', 'input_required') AND expires_at > $1`,
      [Date.now()],
    );
    return rows[0]!.live;
  }

  watch(listener: (signal: TaskSignal) => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  /** A signal from the outbox addressed to this instance. */
  signal(signal: TaskSignal): void {
    for (const watcher of this.#watchers) watcher(signal);
  }

  /** The pool belongs to the fleet, which closes it. */
  async close(): Promise<void> {
    this.#watchers.clear();
  }
}

function json(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}
