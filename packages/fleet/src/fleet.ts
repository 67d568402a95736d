import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { ReadyState, Logger } from '@trellis/server';
import pg from 'pg';
import { FleetEventBus } from './bus.js';
import type { FleetConfig } from './config.js';
import { describeTarget, FleetError, safeMessage, sqlStateOf } from './errors.js';
import { Heartbeat } from './heartbeat.js';
import { OutboxListener } from './listener.js';
import { OutboxWriter, type OutboxRow } from './outbox.js';
import { checkRights, migrate, tablesOf, type FleetTables } from './schema.js';
import { PostgresSessionStore } from './session-store.js';
import { PostgresTaskStore } from './task-store.js';

/** SQLSTATEs that mean "who you are may not do this", rather than "cannot reach". */
const AUTH_STATES = new Set(['28000', '28P01', '3D000', '42501']);

/** One instance's membership of a fleet: what `fleet()` opens at start and closes at shutdown. */
export class Fleet {
  readonly instanceId: string;
  readonly tables: FleetTables;
  readonly bus: FleetEventBus;
  readonly taskStore: PostgresTaskStore;
  readonly sessionStore: PostgresSessionStore;
  readonly #pool: pg.Pool;
  readonly #writer: OutboxWriter;
  readonly #listener: OutboxListener;
  readonly #heartbeat: Heartbeat;
  readonly #heartbeatMs: number;

  private constructor(config: FleetConfig, log: Logger, pool: pg.Pool, connection: pg.ClientConfig) {
    this.instanceId = config.FLEET_INSTANCE_ID ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.tables = tablesOf(config.FLEET_SCHEMA);
    this.#pool = pool;
    this.#heartbeatMs = config.FLEET_HEARTBEAT_INTERVAL;
    this.#writer = new OutboxWriter({ pool, tables: this.tables, origin: this.instanceId, log });
    this.bus = new FleetEventBus(this.#writer, log);
    this.taskStore = new PostgresTaskStore({ pool, tables: this.tables, instanceId: this.instanceId });
    this.sessionStore = new PostgresSessionStore({
      pool,
      tables: this.tables,
      instanceId: this.instanceId,
      log,
      lastSeen: () => this.#listener.lastSeen,
    });
    this.#listener = new OutboxListener({
      // Named apart in pg_stat_activity, so that an operator can tell the LISTEN connection from the pool.
      connection: { ...connection, application_name: 'trellis-fleet-listen' },
      pool,
      tables: this.tables,
      log,
      deliver: (row) => this.#deliver(row),
      pingIntervalMs: config.FLEET_HEARTBEAT_INTERVAL,
    });
    this.#heartbeat = new Heartbeat({
      pool,
      tables: this.tables,
      instanceId: this.instanceId,
      intervalMs: config.FLEET_HEARTBEAT_INTERVAL,
      misses: config.FLEET_HEARTBEAT_MISSES,
      outboxRetentionMs: config.FLEET_OUTBOX_RETENTION,
      log,
      onAdopted: (taskIds) => {
        for (const taskId of taskIds) this.taskStore.signal({ taskId, kind: 'adopted' });
      },
    });
  }

  /**
   * Joins the fleet: connects, creates or migrates the schema, checks the
   * role's rights, starts listening and beating. Fails with a `FleetError`
   * that names the database by host, port and name only.
   */
  static async join(config: FleetConfig, log: Logger): Promise<Fleet> {
    const url = config.FLEET_DATABASE_URL;
    const secrets = passwordsOf(url);
    const connection: pg.ClientConfig = {
      connectionString: url,
      connectionTimeoutMillis: config.FLEET_CONNECT_TIMEOUT,
      application_name: 'trellis-fleet',
      keepAlive: true,
    };
    const pool = new pg.Pool({ ...connection, max: config.FLEET_POOL_SIZE, idleTimeoutMillis: 30_000 });
    // A pooled connection that dies between uses must not crash the process.
    pool.on('error', (error) => log.warn({ err: safeMessage(error, secrets) }, 'fleet pool connection failed'));
    const fleet = new Fleet(config, log, pool, connection);
    const where = describeTarget(url);
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      await pool.end().catch(() => undefined);
      const sqlState = sqlStateOf(error);
      throw new FleetError(
        sqlState && AUTH_STATES.has(sqlState) ? 'FLEET_RIGHTS' : 'FLEET_UNREACHABLE',
        `cannot connect to the fleet database at ${where}: ${safeMessage(error, secrets)}`,
        { ...(sqlState && { sqlState }) },
      );
    }
    let released = false;
    const ignore = () => undefined; // as in inTransaction: a held connection's death surfaces in its next statement
    client.on('error', ignore);
    try {
      const { from, to } = await migrate(client, fleet.tables);
      if (from !== to) log.info({ schema: fleet.tables.schema, from, to }, 'fleet schema migrated');
      await checkRights(client, fleet.tables);
      client.off('error', ignore);
      client.release();
      released = true;
      await fleet.#heartbeat.start();
      await fleet.#listener.start();
    } catch (error) {
      if (!released) {
        client.off('error', ignore);
        client.release();
      }
      await fleet.close().catch(() => undefined);
      if (error instanceof FleetError) throw new FleetError(error.code, `${error.message} (at ${where})`, error);
      throw new FleetError(
        'FLEET_UNREACHABLE',
        `the fleet database at ${where} failed: ${safeMessage(error, secrets)}`,
      );
    }
    log.info({ instance: fleet.instanceId, schema: fleet.tables.schema }, 'joined the fleet');
    return fleet;
  }

  #deliver(row: OutboxRow): void {
    const event = row.event;
    // What GET streams send while the change is delivered takes the row's id as its position (its SSE event id).
    if (event.type === 'change') this.sessionStore.deliverChange(row.id, () => this.bus.deliver(event.event));
    else if (event.type === 'task' && event.instance === this.instanceId)
      this.taskStore.signal({ taskId: event.taskId, kind: event.signal });
    else if (event.type === 'sessions-removed') this.sessionStore.deliverRemoved(event.ids);
    else if (event.type === 'session-messages') this.sessionStore.deliverRelayed(event.session, event.messages);
    else if (event.type === 'session-subscriptions')
      this.sessionStore.deliverSubscriptions(event.session, { uris: event.uris, version: event.version ?? 0 });
  }

  /** Ready while the LISTEN connection is up and the last heartbeat is recent. */
  health(): ReadyState {
    if (!this.#listener.connected) return { ok: false, detail: 'the fleet listener is reconnecting to the database' };
    if (Date.now() - this.#heartbeat.lastBeat > 3 * this.#heartbeatMs)
      return { ok: false, detail: 'the fleet heartbeat cannot reach the database' };
    return { ok: true, detail: `instance ${this.instanceId}` };
  }

  /** Notifications not yet committed (the database was away). */
  get pendingNotifications(): number {
    return this.#writer.pending;
  }

  /** The outbox id this instance has read up to. */
  get lastSeenOutboxId(): number {
    return this.#listener.lastSeen;
  }

  /** Runs one heartbeat now (stamp, reap, purge). */
  beat(): Promise<void> {
    return this.#heartbeat.beat();
  }

  async close(): Promise<void> {
    await this.#writer.close();
    await this.#listener.close();
    await this.#heartbeat.close();
    await this.taskStore.close();
    await this.#pool.end().catch(() => undefined);
  }
}

function passwordsOf(url: string): string[] {
  try {
    const password = new URL(url).password;
    return password ? [password, decodeURIComponent(password)] : [];
  } catch {
    return [];
  }
}
