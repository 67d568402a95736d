import { createServer, type AnyPlugin, type TrellisServer } from '@trellis/server';
import { connectInProcess, type InProcessConnection } from '@trellis/testing';
import pg from 'pg';
import { admin } from '../../../tools/postgres.mjs';
import { postgres, safeRoleSql } from '../src/index.js';

export type Era = 'legacy' | 'modern';

/** Runs SQL as the superuser, outside the server (fixtures and checks). */
export { admin };

/** A started server with the postgres plugin, configured only from `env` (never the real environment). */
export async function startServer(env: Record<string, string>, extra: AnyPlugin[] = []): Promise<TrellisServer> {
  const server = createServer({
    name: 'postgres-test',
    version: '0.0.0',
    plugins: [postgres(), ...extra],
    configSources: { argv: [], env: { LOG_LEVEL: 'silent', ...env }, envFiles: [] },
  });
  await server.start();
  return server;
}

export async function connect(server: TrellisServer, era: Era = 'modern'): Promise<InProcessConnection> {
  return connectInProcess(server, { era });
}

/** The text of a tool result's content blocks. */
export { textOf } from '@trellis/testing';

/** Polls `check` until it returns true, with a generous limit (no tight timing). */
export async function eventually(check: () => Promise<boolean>, what: string, limitMs = 20_000): Promise<void> {
  const until = Date.now() + limitMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up waiting for: ${what}`);
}

/** Backends (other than the asking one) running a statement that contains `text`. */
export async function backendsRunning(url: string, text: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND state = 'active' AND query LIKE '%' || $1 || '%' AND query NOT LIKE '%pg_stat_activity%'",
      [text],
    );
    return rows[0]!.n;
  } finally {
    await client.end();
  }
}

export const READER_PASSWORD = 'reader-s3cret';

/**
 * Creates a login role with the README's SQL (`safeRoleSql`: USAGE and SELECT
 * on `schemas` only) and returns its URL: the role the plugin is meant to run as.
 */
export async function readerUrl(url: string, schemas: string[] = ['public'], role = 'trellis_reader'): Promise<string> {
  const target = new URL(url);
  await admin(
    url,
    safeRoleSql({ role, password: READER_PASSWORD, database: decodeURIComponent(target.pathname.slice(1)), schemas }),
  );
  target.username = role;
  target.password = READER_PASSWORD;
  return target.toString();
}

export const FIXTURE_SQL = `
CREATE SCHEMA app;
CREATE TABLE app.users (id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE, born date, meta jsonb, avatar bytea, visits bigint DEFAULT 0);
CREATE TABLE app.orders (id serial PRIMARY KEY, user_id int NOT NULL REFERENCES app.users(id), total numeric(10,2) CHECK (total >= 0));
CREATE INDEX orders_user_idx ON app.orders (user_id);
INSERT INTO app.users (name, email, born, meta, avatar, visits) VALUES
  ('Ada', 'ada@example.com', '1815-12-10', '{"lang":"en"}', '\\xdeadbeef', 9007199254740993),
  ('Grace', 'grace@example.com', '1906-12-09', null, null, 1);
INSERT INTO app.orders (user_id, total) VALUES (1, 10.50), (2, 3.25);
CREATE TABLE public.users (id int PRIMARY KEY);
CREATE SCHEMA "Weird Schema";
CREATE TABLE "Weird Schema"."evil""; DROP TABLE app.users; --" (id int);
CREATE VIEW app.user_names AS SELECT name FROM app.users;
CREATE SEQUENCE app.counter;
`;
