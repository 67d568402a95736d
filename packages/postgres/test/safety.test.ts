import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, createServer, type TrellisServer } from '@trellis/server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestPostgres, type TestPostgres } from './test-postgres.js';
import pg from 'pg';
import {
  ALLOW_PRIVILEGED_ROLE_SETTING,
  embeddedPostgres,
  postgres,
  PRIVILEGED_ROLES,
  type StartedPostgres,
} from '../src/index.js';
import { admin, connect, eventually, READER_PASSWORD, readerUrl, startServer, textOf } from './helpers.js';

let db: TestPostgres;
/** The README's recommended role. */
let reader: string;
let server: TrellisServer | undefined;
const logs = mkdtempSync(join(tmpdir(), 'trellis-pg-logs-'));

let embedded: StartedPostgres | undefined;

/** Objects the tests use: dblink, a table with a 300 kB comment, a function taking a lock and changing a setting. */
const FIXTURE = `CREATE EXTENSION dblink;
     CREATE TABLE public.docs (id int PRIMARY KEY, body text);
     COMMENT ON COLUMN public.docs.body IS '${'c'.repeat(300_000)}';
     -- A function the parser cannot see into: it takes a session-level advisory lock and changes a setting.
     CREATE FUNCTION public.sticky() RETURNS int LANGUAGE sql AS $$ SELECT pg_advisory_lock(4242); SELECT set_config('work_mem', '77MB', false); SELECT 1 $$;`;

beforeAll(async () => {
  db = await startTestPostgres();
  await admin(db.url, FIXTURE);
  reader = await readerUrl(db.url);
  const stateDir = join(logs, 'embedded');
  // As root PostgreSQL runs as the postgres user, which must reach the folder.
  chmodSync(logs, 0o755);
  embedded = await embeddedPostgres({ stateDir }).start(createLogger({ level: 'silent' }));
  await embeddedDefault.admin(FIXTURE);
}, 120_000);
afterEach(async () => {
  await server?.close({ graceMs: 100 });
  server = undefined;
});
afterAll(async () => {
  await embedded?.stop();
  await db?.destroy();
  rmSync(logs, { recursive: true, force: true });
});

/** A URL for a new login role made with `attributes`, then granted `memberOf`. */
async function roleUrl(name: string, attributes: string, memberOf?: string): Promise<string> {
  await admin(
    db.url,
    `CREATE ROLE ${name} LOGIN PASSWORD '${READER_PASSWORD}' ${attributes}; GRANT SELECT ON public.docs TO ${name};${memberOf ? ` GRANT ${memberOf} TO ${name};` : ''}`,
  );
  return db.url.replace(`postgres:${db.password}@`, `${name}:${READER_PASSWORD}@`);
}

/** Starts a server logging at warn into a file; returns the server (or the start's error) and the log text. */
async function startLogged(
  env: Record<string, string>,
): Promise<{ server?: TrellisServer; error?: Error; log: string }> {
  const file = join(logs, `${Date.now()}-${Math.random()}.log`);
  const fd = openSync(file, 'w');
  const started = createServer({
    name: 'postgres-safety',
    version: '0.0.0',
    plugins: [postgres()],
    logger: createLogger({ level: 'warn', fd }),
    configSources: { argv: [], env, envFiles: [] },
  });
  try {
    await started.start();
    return { server: started, log: readFileSync(file, 'utf8') };
  } catch (error) {
    return { error: error as Error, log: readFileSync(file, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

async function query(sql: string) {
  const { client, close } = await connect(server!);
  try {
    return await client.callTool({ name: 'query', arguments: { sql } });
  } finally {
    await close();
  }
}

describe('least privilege at start', () => {
  it('refuses a superuser with a message naming SUPERUSER and the SQL of a safe role', async () => {
    const { error } = await startLogged({ DATABASE_URL: db.url });
    expect(error?.message).toMatch(/refuses to start: the database role "postgres" has SUPERUSER\b/);
    expect(error?.cause).toMatchObject({ code: 'UNSAFE_ROLE' });
    expect(error?.message).toContain('CREATE ROLE "trellis_reader" LOGIN PASSWORD');
    expect(error?.message).toContain('GRANT SELECT ON ALL TABLES IN SCHEMA "public" TO "trellis_reader";');
    expect(error?.message).toContain(`${ALLOW_PRIVILEGED_ROLE_SETTING}=true`);
    expect(error?.message).not.toContain(db.password);
  });

  const cases: [string, string, string | undefined, RegExp][] = [
    ['replicator', 'REPLICATION', undefined, /has REPLICATION\./],
    ['bypasser', 'BYPASSRLS', undefined, /has BYPASSRLS\./],
    ...PRIVILEGED_ROLES.map((role): [string, string, string | undefined, RegExp] => [
      `member_${role}`,
      '',
      role,
      new RegExp(`has member of ${role}\\.`),
    ]),
  ];
  it.each(cases)('refuses %s', async (name, attributes, memberOf, message) => {
    const { error } = await startLogged({ DATABASE_URL: await roleUrl(name, attributes, memberOf) });
    expect(error?.message).toMatch(message);
    expect(error?.cause).toMatchObject({ code: 'UNSAFE_ROLE' });
  });

  it(`starts with ${ALLOW_PRIVILEGED_ROLE_SETTING}=true, and warns at every start`, async () => {
    for (let start = 0; start < 2; start++) {
      const started = await startLogged({ DATABASE_URL: db.url, [ALLOW_PRIVILEGED_ROLE_SETTING]: 'true' });
      expect(started.error).toBeUndefined();
      server = started.server;
      expect(started.log).toContain(
        `${ALLOW_PRIVILEGED_ROLE_SETTING} is set: serving a model with role \\"postgres\\", which has SUPERUSER`,
      );
      expect((await query('SELECT 1 AS one')).structuredContent).toMatchObject({ rows: [{ one: 1 }] });
      await server!.close({ graceMs: 100 });
      server = undefined;
    }
  });

  it('a database unreachable at start is checked on the first call: refused, and not ready', async () => {
    await db.stop();
    try {
      server = await startServer({ DATABASE_URL: db.url, POSTGRES_CONNECT_TIMEOUT: '2s' });
    } finally {
      await db.start();
    }
    const result = await query('SELECT 1');
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/refuses to start: the database role "postgres" has SUPERUSER/);
    const readiness = await server.ready();
    expect(readiness.checks.find((c) => c.plugin === 'postgres')).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/SUPERUSER/),
    });
  });

  it('starts quietly with the README role', async () => {
    const started = await startLogged({ DATABASE_URL: reader });
    server = started.server;
    expect(started.error).toBeUndefined();
    expect(started.log).not.toContain(ALLOW_PRIVILEGED_ROLE_SETTING);
  });
});

/** Where the plugin is pointed: a database, how to start a server on it, and its superuser. */
interface Target {
  start(env?: Record<string, string>): Promise<TrellisServer>;
  admin<T extends pg.QueryResultRow>(sql: string): Promise<T[]>;
  /** Whether PUBLIC may still call pg_advisory_lock and set_config (the embedded database revoked them). */
  publicMayLock: boolean;
}

const superuser: Target = {
  start: (env = {}) => startServer({ DATABASE_URL: db.url, [ALLOW_PRIVILEGED_ROLE_SETTING]: 'true', ...env }),
  admin: (sql) => admin(db.url, sql),
  publicMayLock: true,
};
const readmeRole: Target = {
  start: (env = {}) => startServer({ DATABASE_URL: reader, ...env }),
  admin: (sql) => admin(db.url, sql),
  publicMayLock: true,
};
const embeddedDefault: Target = {
  async start(env = {}) {
    // The database started once in beforeAll, handed over as the plugin's embedded option.
    const started = createServer({
      name: 'postgres-safety',
      version: '0.0.0',
      plugins: [postgres({ embedded: { start: async () => ({ ...embedded!, stop: async () => undefined }) } })],
      configSources: { argv: [], env: { LOG_LEVEL: 'silent', ...env }, envFiles: [] },
    });
    await started.start();
    return started;
  },
  async admin<T extends pg.QueryResultRow>(sql: string) {
    const client = new pg.Client({ ...embedded!.connection, user: 'postgres' });
    await client.connect();
    try {
      return (await client.query<T>(sql)).rows;
    } finally {
      await client.end();
    }
  },
  publicMayLock: false,
};

describe.each([
  ['a superuser (allowed by the override)', superuser],
  ['the README role', readmeRole],
  ['the embedded default', embeddedDefault],
])('per statement, under %s', (_label, target) => {
  const denied: [string, string][] = [
    ["SELECT pg_read_file('/etc/passwd')", 'server file access'],
    ["SELECT * FROM pg_ls_dir('/')", 'server file access'],
    ["SELECT lo_import('/etc/passwd')", 'large objects'],
    ['SELECT lo_get(lo_creat(-1))', 'large objects'],
    ["SELECT pg_create_physical_replication_slot('trellis_slot', true)", 'replication'],
    ['SELECT pg_terminate_backend(pg_backend_pid())', 'backend signalling'],
    ['SELECT pg_reload_conf()', 'configuration'],
    ["SELECT set_config('work_mem', '1GB', false)", 'configuration'],
    ['SELECT pg_switch_wal()', 'WAL'],
    ["SELECT dblink_exec('dbname=postgres', 'CREATE TABLE pwned (i int)')", 'connections to other servers'],
    [
      "SELECT * FROM public.dblink('dbname=postgres', 'SELECT rolpassword FROM pg_authid') AS t(p text)",
      'connections to other servers',
    ],
    ['SELECT pg_advisory_lock(1)', 'advisory locks'],
    ["SELECT query_to_xml('SELECT pg_read_file(''/etc/passwd'')', true, true, '')", 'statements run from text'],
  ];

  it.each(denied)('refuses %s (%s)', async (sql, family) => {
    server = await target.start();
    const result = await query(sql);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(new RegExp(`refused here \\(${family}`));
    const [effects] = await target.admin<{ slots: number; pwned: number }>(
      "SELECT (SELECT count(*)::int FROM pg_replication_slots) AS slots, (SELECT count(*)::int FROM pg_class WHERE relname = 'pwned') AS pwned",
    );
    expect(effects).toEqual({ slots: 0, pwned: 0 });
  });

  it('a cancelled call stops its statement on the server (the plugin may still cancel its own)', async () => {
    server = await target.start({ POSTGRES_POOL_SIZE: '1' });
    const sleeping = async () =>
      (
        await target.admin<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()",
        )
      )[0]!.n;
    const { client, close } = await connect(server);
    try {
      const controller = new AbortController();
      const call = client
        .callTool({ name: 'query', arguments: { sql: 'SELECT pg_sleep(30)' } }, { signal: controller.signal })
        .catch(() => 'rejected');
      await eventually(async () => (await sleeping()) === 1, 'the statement to start');
      controller.abort();
      expect(await call).toBe('rejected');
      await eventually(async () => (await sleeping()) === 0, 'the backend to stop sleeping', 4_000);
    } finally {
      await close();
    }
  });

  it('leaves no advisory lock and no setting on the pooled connection', async () => {
    server = await target.start({ POSTGRES_POOL_SIZE: '1' });
    const before = await query('SHOW work_mem');
    const sticky = await query('SELECT public.sticky() AS done');
    if (target.publicMayLock) expect(sticky.structuredContent).toMatchObject({ rows: [{ done: 1 }] });
    else expect(textOf(sticky)).toMatch(/permission denied for function pg_advisory_lock/);
    const locks = await target.admin<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'",
    );
    expect(locks[0]!.n).toBe(0);
    // The same (only) connection answers the next call with the default again.
    expect((await query('SHOW work_mem')).structuredContent).toEqual(before.structuredContent);
    expect((before.structuredContent as { rows: { work_mem: string }[] }).rows[0]!.work_mem).not.toBe('77MB');
  });
});

describe.each([
  ['the README role', readmeRole],
  ['the embedded default', embeddedDefault],
])('byte budgets, under %s', (_label, target) => {
  it('query: past the budget it answers the rows that fit and says how to narrow', async () => {
    server = await target.start({
      POSTGRES_MAX_RESULT_BYTES: '65536',
      POSTGRES_MAX_VALUE_BYTES: '1048576',
      POSTGRES_POOL_SIZE: '1',
    });
    const result = await query("SELECT i, repeat('x', 10000) AS v FROM generate_series(1, 50) AS i");
    expect(result.isError).toBeFalsy();
    const s = result.structuredContent as {
      rowCount: number;
      truncated: boolean;
      truncatedBy: string;
      maxBytes: number;
    };
    expect(s).toMatchObject({ truncated: true, truncatedBy: 'bytes', maxBytes: 65536 });
    expect(s.rowCount).toBeGreaterThan(3);
    expect(s.rowCount).toBeLessThan(7);
    expect(textOf(result)).toMatch(
      /TRUNCATED: after \d+ row\(s\) .* the next row .* would pass the result budget of 64 KiB .*Narrow the query/,
    );
    // The dropped connection was replaced: the next call works on the one-connection pool.
    expect((await query('SELECT 2 AS two')).structuredContent).toMatchObject({ rows: [{ two: 2 }] });
  });

  it('query: a value past the value limit comes back as a preview, cut by PostgreSQL', async () => {
    server = await target.start({ POSTGRES_MAX_VALUE_BYTES: '1000' });
    const result = await query("SELECT 7 AS id, repeat('ab', 5000) AS body, NULL::text AS nothing");
    const s = result.structuredContent as {
      rows: { id: number; body: string; nothing: null }[];
      cutValues: unknown[];
      truncated: boolean;
    };
    expect(s.truncated).toBe(false);
    expect(s.rows[0]!.id).toBe(7);
    expect(s.rows[0]!.body).toBe('ab'.repeat(500));
    expect(s.rows[0]!.nothing).toBeNull();
    expect(s.cutValues).toEqual([{ row: 0, column: 'body', bytes: 10000 }]);
    expect(textOf(result)).toMatch(/CUT VALUES: 1 value\(s\) longer than 1000 bytes .*row 1 body \(9\.8 KiB\)/);
  });

  it('query: any message past the limit is stopped too (an error quoting a huge value)', async () => {
    // The limit of one message is the budget, or 256 KiB when the budget is smaller.
    server = await target.start({ POSTGRES_MAX_RESULT_BYTES: '65536', POSTGRES_POOL_SIZE: '1' });
    const result = await query("SELECT repeat('0123456789', 100000)::int");
    expect(textOf(result)).toMatch(
      /TRUNCATED: the server sent a message of 976\.\d KiB, more than one answer may hold \(256 KiB\)/,
    );
    expect((await query('SELECT 3 AS three')).structuredContent).toMatchObject({ rows: [{ three: 3 }] });
  });

  it('describe_table and the schema resource answer a clear error past the budget', async () => {
    server = await target.start({ POSTGRES_MAX_RESULT_BYTES: '65536' });
    const { client, close } = await connect(server);
    try {
      const described = await client.callTool({ name: 'describe_table', arguments: { table: 'docs' } });
      expect(described.isError).toBe(true);
      expect(textOf(described)).toMatch(/The answer was stopped: .*result budget of 64 KiB/);
      await expect(client.readResource({ uri: 'postgres://schema/public/docs' })).rejects.toThrow(
        /The answer was stopped/,
      );
      const listed = await client.callTool({ name: 'list_tables', arguments: {} });
      expect(listed.isError).toBeFalsy();
    } finally {
      await close();
    }
  });
});
