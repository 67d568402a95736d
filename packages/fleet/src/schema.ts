import type pg from 'pg';
import { FleetError, sqlStateOf } from './errors.js';

/** The tables of one fleet, in the schema `FLEET_SCHEMA`, quoted. */
export interface FleetTables {
  readonly schema: string;
  readonly instances: string;
  readonly outbox: string;
  readonly tasks: string;
  readonly sessions: string;
  readonly migrations: string;
  /** The NOTIFY channel: one per schema, so that two fleets can share a database. */
  readonly channel: string;
}

export function tablesOf(schema: string): FleetTables {
  const q = (name: string) => `"${schema}"."${name}"`;
  return {
    schema,
    instances: q('instances'),
    outbox: q('outbox'),
    tasks: q('tasks'),
    sessions: q('sessions'),
    migrations: q('migrations'),
    channel: `${schema}_outbox`,
  };
}

/**
 * The migrations, in order; each runs once, in the transaction that records
 * it. Append only: a released migration is never edited.
 */
const MIGRATIONS: readonly { version: number; sql: (t: FleetTables) => string }[] = [
  {
    version: 1,
    sql: (t) => `
      CREATE TABLE ${t.instances} (
        id text PRIMARY KEY,
        started_at timestamptz NOT NULL DEFAULT now(),
        heartbeat_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE ${t.outbox} (
        id bigserial PRIMARY KEY,
        created_at timestamptz NOT NULL DEFAULT now(),
        origin text NOT NULL,
        event jsonb NOT NULL
      );
      CREATE INDEX outbox_created_at ON ${t.outbox} (created_at);
      CREATE TABLE ${t.tasks} (
        id text PRIMARY KEY,
        instance_id text NOT NULL,
        owner text,
        tool text NOT NULL,
        arguments jsonb,
        status text NOT NULL,
        status_message text,
        created_at bigint NOT NULL,
        last_updated_at bigint NOT NULL,
        ttl_ms bigint NOT NULL,
        expires_at bigint NOT NULL,
        poll_interval_ms bigint NOT NULL,
        input_requests jsonb,
        input_responses jsonb,
        request_state text,
        result jsonb,
        error jsonb,
        rerunnable boolean NOT NULL DEFAULT false
      );
      CREATE INDEX tasks_expires_at ON ${t.tasks} (expires_at);
      CREATE INDEX tasks_live_by_instance ON ${t.tasks} (instance_id) WHERE status IN ('working', 'input_required');
    `,
  },
  {
    version: 2,
    // principal and handshake are JSON text, not jsonb: jsonb refuses the NUL a principal or a client may carry.
    sql: (t) => `
      CREATE TABLE ${t.sessions} (
        id text PRIMARY KEY,
        instance_id text NOT NULL,
        principal text,
        handshake text NOT NULL,
        log_level text,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_activity timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX sessions_last_activity ON ${t.sessions} (last_activity);
    `,
  },
  {
    version: 3,
    // The resources an older-protocol session subscribed to, so that the instance holding its GET stream delivers their updates.
    sql: (t) => `ALTER TABLE ${t.sessions} ADD COLUMN IF NOT EXISTS subscriptions text[] NOT NULL DEFAULT '{}';`,
  },
  {
    version: 4,
    // Who holds each session (the per-client cap counts fleet-wide), and a version of the subscriptions
    // (a copy is replaced by a newer list only).
    sql: (t) => `
      ALTER TABLE ${t.sessions} ADD COLUMN IF NOT EXISTS client text;
      ALTER TABLE ${t.sessions} ADD COLUMN IF NOT EXISTS subscriptions_version bigint NOT NULL DEFAULT 0;
      CREATE INDEX IF NOT EXISTS sessions_client ON ${t.sessions} (client);
    `,
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

/**
 * Creates or migrates the fleet's schema. Safe when several instances start at
 * once: one transaction under an advisory lock, so the others wait and then
 * find the work done. Idempotent. Refuses a schema newer than this code.
 */
export async function migrate(client: pg.ClientBase, t: FleetTables): Promise<{ from: number; to: number }> {
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`trellis.fleet.migrate:${t.schema}`]);
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [t.schema]);
    // CREATE SCHEMA IF NOT EXISTS checks the database's CREATE right even when the schema exists.
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA "${t.schema}"`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${t.migrations} (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ version: number | null }>(
      `SELECT max(version) AS version FROM ${t.migrations}`,
    );
    const from = rows[0]?.version ?? 0;
    if (from > SCHEMA_VERSION) {
      throw new FleetError(
        'FLEET_SCHEMA',
        `the fleet schema "${t.schema}" is at version ${from}, newer than this code knows (${SCHEMA_VERSION}): upgrade this instance`,
      );
    }
    for (const migration of MIGRATIONS) {
      if (migration.version <= from) continue;
      await client.query(migration.sql(t));
      await client.query(`INSERT INTO ${t.migrations} (version) VALUES ($1)`, [migration.version]);
    }
    await client.query('COMMIT');
    return { from, to: SCHEMA_VERSION };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (error instanceof FleetError) throw error;
    const sqlState = sqlStateOf(error);
    const message = (error as Error).message;
    if (sqlState === '42501')
      throw new FleetError(
        'FLEET_RIGHTS',
        `the fleet's role may not create or change schema "${t.schema}" (${message}): create the schema with the role as its owner (see the fleet README)`,
        { sqlState },
      );
    throw new FleetError('FLEET_SCHEMA', `migrating the fleet schema "${t.schema}" failed: ${message}`, {
      ...(sqlState && { sqlState }),
    });
  }
}

/**
 * Checks the rights the fleet uses at run time on each of its tables (a schema
 * made by another role, or rights revoked since), so that start-up fails
 * rather than the first notification.
 */
export async function checkRights(client: pg.ClientBase, t: FleetTables): Promise<void> {
  const { rows } = await client.query<{ name: string; ok: boolean }>(
    `SELECT name, has_table_privilege(current_user, format('%I.%I', $1::text, name), 'SELECT,INSERT,UPDATE,DELETE') AS ok
       FROM unnest(ARRAY['instances', 'outbox', 'tasks', 'sessions']) AS name`,
    [t.schema],
  );
  const { rows: seq } = await client.query<{ ok: boolean }>(
    `SELECT has_sequence_privilege(current_user, format('%I.%I', $1::text, 'outbox_id_seq'), 'USAGE') AS ok`,
    [t.schema],
  );
  const missing = rows.filter((row) => !row.ok).map((row) => `${t.schema}.${row.name}`);
  if (!seq[0]?.ok) missing.push(`USAGE on ${t.schema}.outbox_id_seq`);
  if (missing.length > 0)
    throw new FleetError(
      'FLEET_RIGHTS',
      `the fleet's role lacks SELECT, INSERT, UPDATE, DELETE on ${missing.join(', ')} (see the grants in the fleet README)`,
    );
}
