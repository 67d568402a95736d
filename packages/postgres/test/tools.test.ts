import type { TrellisServer } from '@trellis/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPostgres, type TestPostgres } from './test-postgres.js';
import { admin, connect, FIXTURE_SQL, readerUrl, startServer, textOf, type Era } from './helpers.js';

let db: TestPostgres;
let server: TrellisServer;

beforeAll(async () => {
  db = await startTestPostgres();
  await admin(db.url, FIXTURE_SQL);
  server = await startServer({
    DATABASE_URL: await readerUrl(db.url, ['public', 'app', 'Weird Schema']),
    POSTGRES_MAX_ROWS: '50',
    POSTGRES_POOL_SIZE: '3',
  });
});

afterAll(async () => {
  await server?.close({ graceMs: 100 });
  await db?.destroy();
});

async function call(name: string, args: Record<string, unknown>, era: Era = 'modern') {
  const { client, close } = await connect(server, era);
  try {
    return await client.callTool({ name, arguments: args });
  } finally {
    await close();
  }
}

describe.each(['legacy', 'modern'] as const)('tools over a real client (%s)', (era) => {
  it('lists the three tools, read-only', async () => {
    const { client, close } = await connect(server, era);
    try {
      const { tools } = await client.listTools();
      const ours = tools.filter((t) => ['list_tables', 'describe_table', 'query'].includes(t.name));
      expect(ours.map((t) => t.name).sort()).toEqual(['describe_table', 'list_tables', 'query']);
      for (const tool of ours) expect(tool.annotations?.readOnlyHint).toBe(true);
    } finally {
      await close();
    }
  });

  it('list_tables lists every user schema, or one', async () => {
    const all = await call('list_tables', {}, era);
    expect(all.isError).toBeFalsy();
    const tables = (all.structuredContent as { tables: { schema: string; name: string; kind: string }[] }).tables;
    expect(tables).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ schema: 'app', name: 'users', kind: 'table' }),
        expect.objectContaining({ schema: 'app', name: 'user_names', kind: 'view' }),
        expect.objectContaining({ schema: 'public', name: 'users' }),
      ]),
    );
    expect(tables.some((t) => t.schema === 'pg_catalog' || t.schema === 'information_schema')).toBe(false);
    expect(textOf(all)).toMatch(/app\s+\| users/);

    const app = await call('list_tables', { schema: 'app' }, era);
    expect((app.structuredContent as { tables: { schema: string }[] }).tables.every((t) => t.schema === 'app')).toBe(
      true,
    );
  });

  it('describe_table reports columns, keys and indexes', async () => {
    const result = await call('describe_table', { table: 'orders', schema: 'app' }, era);
    expect(result.isError).toBeFalsy();
    const d = result.structuredContent as {
      qualifiedName: string;
      columns: { name: string; type: string; nullable: boolean }[];
      primaryKey: string[];
      constraints: { type: string; definition: string }[];
      indexes: { name: string }[];
    };
    expect(d.qualifiedName).toBe('"app"."orders"');
    expect(d.columns).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'user_id', type: 'integer', nullable: false }),
        expect.objectContaining({ name: 'total', type: 'numeric(10,2)' }),
      ]),
    );
    expect(d.primaryKey).toEqual(['id']);
    expect(d.constraints.find((c) => c.type === 'foreign key')?.definition).toMatch(/REFERENCES app\.users\(id\)/);
    expect(d.indexes.map((i) => i.name)).toContain('orders_user_idx');
    expect(textOf(result)).toContain('user_id');
  });

  it('query returns rows as structured content and a text table, with parameters', async () => {
    const result = await call(
      'query',
      { sql: 'SELECT id, name, born, meta, avatar, visits FROM app.users WHERE name = $1', params: ['Ada'] },
      era,
    );
    expect(result.isError).toBeFalsy();
    const s = result.structuredContent as {
      columns: { name: string; type: string }[];
      rows: Record<string, unknown>[];
      rowCount: number;
      truncated: boolean;
    };
    expect(s.rowCount).toBe(1);
    expect(s.truncated).toBe(false);
    expect(s.columns.map((c) => c.type)).toEqual(['integer', 'text', 'date', 'jsonb', 'bytea', 'bigint']);
    // Dates stay as PostgreSQL prints them, bigints keep every digit, bytea is hex.
    expect(s.rows[0]).toEqual({
      id: 1,
      name: 'Ada',
      born: '1815-12-10',
      meta: { lang: 'en' },
      avatar: '\\xdeadbeef',
      visits: '9007199254740993',
    });
    expect(textOf(result)).toMatch(/1 row\(s\)/);
    expect(textOf(result)).toMatch(/id \| name/);
  });
});

describe('query', () => {
  it('treats parameters as values, never as SQL', async () => {
    const result = await call('query', {
      sql: 'SELECT count(*)::int AS n FROM app.users WHERE name = $1',
      params: ["Ada' OR '1'='1"],
    });
    expect((result.structuredContent as { rows: { n: number }[] }).rows[0]!.n).toBe(0);
    const typed = await call('query', {
      sql: 'SELECT $1::int + $2::int AS sum, $3::boolean AS flag, $4::text IS NULL AS empty',
      params: [40, 2, true, null],
    });
    expect((typed.structuredContent as { rows: unknown[] }).rows[0]).toEqual({ sum: 42, flag: true, empty: true });
  });

  it('caps rows and says so', async () => {
    const result = await call('query', { sql: 'SELECT g AS n FROM generate_series(1, 1000) AS g' });
    const s = result.structuredContent as { rowCount: number; truncated: boolean; maxRows: number; rows: unknown[] };
    expect(s).toMatchObject({ rowCount: 50, truncated: true, maxRows: 50 });
    expect(s.rows).toHaveLength(50);
    expect(textOf(result)).toMatch(/TRUNCATED/);
  });

  it('keeps columns with the same name apart', async () => {
    const result = await call('query', { sql: 'SELECT 1 AS a, 2 AS a' });
    expect((result.structuredContent as { rows: unknown[] }).rows[0]).toEqual({ a: 1, a_2: 2 });
  });

  it('reports SQL errors as isError with the SQLSTATE', async () => {
    const syntax = await call('query', { sql: 'SELEC 1' });
    expect(syntax.isError).toBe(true);
    expect(textOf(syntax)).toMatch(/syntax error at or near "SELEC"/);
    const missing = await call('query', { sql: 'SELECT * FROM app.nope' });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toMatch(/does not exist.*42P01/);
    const params = await call('query', { sql: 'SELECT $1::int', params: [] });
    expect(params.isError).toBe(true);
  });

  const writes: [string, string][] = [
    ['INSERT', "INSERT INTO app.users (name) VALUES ('Mallory')"],
    ['UPDATE', "UPDATE app.users SET name = 'Mallory'"],
    ['DELETE', 'DELETE FROM app.users'],
    ['DROP', 'DROP TABLE app.orders'],
    ['CREATE', 'CREATE TABLE app.more (id int)'],
    ['write in a CTE', 'WITH gone AS (DELETE FROM app.orders RETURNING *) SELECT count(*) FROM gone'],
    ['SELECT INTO', 'SELECT * INTO app.copy FROM app.users'],
    ['nextval', "SELECT nextval('app.counter')"],
    ['SET TRANSACTION READ WRITE', 'SET TRANSACTION READ WRITE'],
    ['multiple statements', 'SELECT 1; DELETE FROM app.orders'],
    ['multiple statements after a comment', '/* hi */ SELECT 1; DROP TABLE app.orders'],
    ['EXPLAIN ANALYZE of a write', 'EXPLAIN ANALYZE DELETE FROM app.orders'],
    ['COPY TO PROGRAM', "COPY (SELECT 1) TO PROGRAM 'true'"],
    ['COMMIT then nothing', 'COMMIT'],
  ];
  it.each(writes)('refuses %s as read-only', async (_label, sql) => {
    const result = await call('query', { sql });
    expect(result.isError).toBe(true);
    // The reader role may not even use the sequence: PostgreSQL says so before READ ONLY would.
    expect(textOf(result)).toMatch(/read-only|permission denied for sequence/i);
    const [counts] = await admin<{ users: number; orders: number }>(
      db.url,
      'SELECT (SELECT count(*)::int FROM app.users) AS users, (SELECT count(*)::int FROM app.orders) AS orders',
    );
    expect(counts).toEqual({ users: 2, orders: 2 });
  });
});

describe('identifiers', () => {
  it.each([
    ['users; DROP TABLE app.orders', undefined],
    ['users"; DROP TABLE app.orders; --', 'app'],
    ["users' OR '1'='1", undefined],
    ['USERS', 'app'],
  ])('does not find %j', async (table, schema) => {
    const result = await call('describe_table', { table, ...(schema && { schema }) });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/No table or view named/);
    expect((await admin(db.url, 'SELECT 1 FROM app.orders')).length).toBe(2);
  });

  it('checks schemas against the catalog', async () => {
    const result = await call('list_tables', { schema: "app' OR '1'='1" });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/No schema named .*Schemas: .*app/);
  });

  it('asks for a schema when a table name is ambiguous', async () => {
    const result = await call('describe_table', { table: 'users' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/several schemas \(app, public\)/);
  });

  it('describes a table whose name holds SQL, quoting it', async () => {
    const table = 'evil"; DROP TABLE app.users; --';
    const result = await call('describe_table', { table, schema: 'Weird Schema' });
    expect(result.isError).toBeFalsy();
    const quoted = (result.structuredContent as { qualifiedName: string }).qualifiedName;
    expect(quoted).toBe('"Weird Schema"."evil""; DROP TABLE app.users; --"');
    // The quoted name works as SQL and refers to that table only.
    const sample = await call('query', { sql: `SELECT count(*)::int AS n FROM ${quoted}` });
    expect((sample.structuredContent as { rows: { n: number }[] }).rows[0]!.n).toBe(0);
    expect((await admin(db.url, 'SELECT 1 FROM app.users')).length).toBe(2);
  });
});

describe.each(['legacy', 'modern'] as const)('schema resources (%s)', (era) => {
  it('lists, completes and reads one resource per table', async () => {
    const { client, close } = await connect(server, era);
    try {
      const { resourceTemplates } = await client.listResourceTemplates();
      expect(resourceTemplates.map((t) => t.uriTemplate)).toContain('postgres://schema/{schema}/{table}');
      const { resources } = await client.listResources();
      expect(resources.map((r) => r.uri)).toEqual(
        expect.arrayContaining([
          'postgres://schema/app/users',
          'postgres://schema/Weird%20Schema/evil%22%3B%20DROP%20TABLE%20app.users%3B%20--',
        ]),
      );

      const ref = { type: 'ref/resource' as const, uri: 'postgres://schema/{schema}/{table}' };
      const schemas = await client.complete({ ref, argument: { name: 'schema', value: 'ap' } });
      expect(schemas.completion.values).toEqual(['app']);
      const tables = await client.complete({
        ref,
        argument: { name: 'table', value: 'u' },
        context: { arguments: { schema: 'app' } },
      });
      expect(tables.completion.values).toEqual(['user_names', 'users']);

      const read = await client.readResource({ uri: 'postgres://schema/app/orders' });
      const item = read.contents[0] as { mimeType?: string; text: string };
      expect(item.mimeType).toBe('application/json');
      const described = JSON.parse(item.text) as {
        columns: { name: string }[];
        primaryKey: string[];
        indexes: { name: string }[];
      };
      expect(described.columns.map((c) => c.name)).toEqual(['id', 'user_id', 'total']);
      expect(described.primaryKey).toEqual(['id']);
      expect(described.indexes.map((i) => i.name)).toContain('orders_user_idx');

      await expect(client.readResource({ uri: 'postgres://schema/app/nope' })).rejects.toThrow(
        /No table or view named/,
      );
    } finally {
      await close();
    }
  });
});
