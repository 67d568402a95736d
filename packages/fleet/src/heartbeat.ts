import type { Logger } from '@trellis/server';
import type pg from 'pg';
import { appendToOutbox, inTransaction } from './outbox.js';
import type { FleetTables } from './schema.js';

export interface HeartbeatOptions {
  pool: pg.Pool;
  tables: FleetTables;
  instanceId: string;
  intervalMs: number;
  /** Heartbeats an instance may miss before it counts as gone. */
  misses: number;
  outboxRetentionMs: number;
  log: Logger;
  /** Tasks this instance took over (rerunnable ones of a vanished instance), once that is committed. */
  onAdopted(taskIds: readonly string[]): void;
}

/** The JSON-RPC code a task failed by the reaper reports (an internal error: nothing the client did). */
const REAPED_CODE = -32603;

/**
 * Tells a dead instance from a slow one. Every `intervalMs` this instance
 * stamps its row in `instances`, then looks for instances whose stamp is older
 * than `misses` intervals (or that left no row) and marks the tasks they were
 * running `failed`, saying why; the rows are taken with SKIP LOCKED, so that
 * several survivors share the work instead of queueing on it. It also purges
 * outbox rows past their retention and instances long gone — whichever
 * instance gets there first does it.
 */
export class Heartbeat {
  readonly #options: HeartbeatOptions;
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;
  #lastBeat = 0;
  #lastPurge = 0;

  constructor(options: HeartbeatOptions) {
    this.#options = options;
  }

  /** When this instance last stamped its heartbeat (epoch ms), 0 before the first. */
  get lastBeat(): number {
    return this.#lastBeat;
  }

  /** Registers this instance (throws if the database refuses) and starts beating. */
  async start(): Promise<void> {
    await this.#stamp();
    this.#timer = setInterval(() => {
      this.#beating ??= this.beat().finally(() => (this.#beating = undefined));
    }, this.#options.intervalMs);
    this.#timer.unref();
  }

  /** One beat: stamp, reap, purge. Failures are logged; the next beat tries again. */
  async beat(): Promise<void> {
    try {
      await this.#stamp();
      const reaped = await this.reap();
      if (reaped.length > 0) this.#options.log.warn({ tasks: reaped }, 'marked tasks of a vanished instance failed');
      if (Date.now() - this.#lastPurge >= Math.min(60_000, this.#options.outboxRetentionMs)) await this.#purge();
    } catch (error) {
      this.#options.log.warn({ err: (error as Error).message }, 'fleet heartbeat failed');
    }
  }

  async #stamp(): Promise<void> {
    const { pool, tables, instanceId } = this.#options;
    await pool.query(
      `INSERT INTO ${tables.instances} (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()`,
      [instanceId],
    );
    this.#lastBeat = Date.now();
  }

  /**
   * Ends the live tasks of instances that missed their heartbeats: a task of a
   * tool declared `rerunnable` is taken over by this instance (it starts again
   * here), any other is marked `failed` with the reason. Either way the
   * instance it named is signalled in the same transaction: one that was only
   * slow, not gone, stops its handler (and its late writes are fenced off).
   * Returns the ids of the tasks failed.
   */
  async reap(): Promise<string[]> {
    const { pool, tables, instanceId, intervalMs, misses } = this.#options;
    const silentMs = intervalMs * misses;
    const why = `it missed ${misses} heartbeats, ${Math.round(silentMs / 1000)} s`;
    const reason = `the server instance running this task stopped (${why})`;
    const restarted = `restarted on another instance: the one running it stopped (${why})`;
    const rows = await inTransaction(pool, async (client) => {
      const { rows: ended } = await client.query<{ id: string; previous: string; rerunnable: boolean }>(
        `WITH gone AS (
           SELECT t.id, t.instance_id AS previous FROM ${tables.tasks} t
             LEFT JOIN ${tables.instances} i ON i.id = t.instance_id
            WHERE t.status IN ('working', 'input_required') AND t.instance_id <> $1
              AND (i.id IS NULL OR i.heartbeat_at < now() - make_interval(secs => $2::float8 / 1000))
            FOR UPDATE OF t SKIP LOCKED)
         UPDATE ${tables.tasks} t
            SET status = CASE WHEN t.rerunnable THEN 'working' ELSE 'failed' END,
                instance_id = CASE WHEN t.rerunnable THEN $1 ELSE t.instance_id END,
                status_message = CASE WHEN t.rerunnable THEN $6 ELSE $3 END,
                error = CASE WHEN t.rerunnable THEN NULL ELSE jsonb_build_object('code', $5::int, 'message', $3::text) END,
                input_requests = NULL,
                input_responses = CASE WHEN t.rerunnable THEN NULL ELSE t.input_responses END,
                request_state = CASE WHEN t.rerunnable THEN NULL ELSE t.request_state END,
                last_updated_at = $4
           FROM gone WHERE t.id = gone.id
         RETURNING t.id, gone.previous, t.rerunnable`,
        [instanceId, silentMs, reason, Date.now(), REAPED_CODE, restarted],
      );
      await appendToOutbox(
        client,
        tables,
        instanceId,
        ended.map((row) => ({ type: 'task', instance: row.previous, taskId: row.id, signal: 'ended' }) as const),
      );
      return ended;
    });
    const adopted = rows.filter((row) => row.rerunnable).map((row) => row.id);
    if (adopted.length > 0) {
      this.#options.log.warn({ tasks: adopted }, 'restarting here the rerunnable tasks of a vanished instance');
      this.#options.onAdopted(adopted);
    }
    return rows.filter((row) => !row.rerunnable).map((row) => row.id);
  }

  async #purge(): Promise<void> {
    const { pool, tables, outboxRetentionMs, intervalMs, misses } = this.#options;
    await pool.query(
      `DELETE FROM ${tables.outbox} WHERE created_at < now() - make_interval(secs => $1::float8 / 1000)`,
      [outboxRetentionMs],
    );
    // Instances silent for a day leave no task behind that the reaper has not failed.
    await pool.query(
      `DELETE FROM ${tables.instances} WHERE heartbeat_at < now() - make_interval(secs => $1::float8 / 1000)`,
      [Math.max(86_400_000, intervalMs * misses * 10)],
    );
    this.#lastPurge = Date.now();
  }

  /** Stops beating and removes this instance's row (its tasks were ended by the runtime's shutdown). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#beating?.catch(() => undefined);
    const { pool, tables, instanceId } = this.#options;
    await pool.query(`DELETE FROM ${tables.instances} WHERE id = $1`, [instanceId]).catch(() => undefined);
  }
}
