import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  CLIENT_KINDS,
  connectBundle,
  copyDistAlone,
  freePort,
  inspectorCli,
  prepareInspector,
  startHttpBundle,
  type BundleConnection,
  type ConnectBundleOptions,
  type HttpBundle,
} from '@trellis/testing/apps';
import { safeRoleSql } from '@trellis/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE, DIST } from './bundle.js';
import { startTestPostgres, type TestPostgres } from './test-postgres.js';
import { textOf } from '@trellis/testing';

let db: TestPostgres;
/** The README's recommended role (safeRoleSql), which the app is meant to run as. */
let reader: string;
/** One HTTP server for the whole file, against the throwaway database. */
let http: HttpBundle;

beforeAll(async () => {
  db = await startTestPostgres();
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(
    "CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL); INSERT INTO notes (body) VALUES ('first'), ('second');",
  );
  await client.query(safeRoleSql({ password: 'reader-s3cret', database: 'postgres' }));
  await client.end();
  reader = db.url.replace(`postgres:${db.password}@`, 'trellis_reader:reader-s3cret@');
  http = await startHttpBundle({ bundle: BUNDLE, env: { DATABASE_URL: reader } });
}, 120_000);
afterAll(async () => {
  await http?.stop();
  await db?.destroy();
});

/** Tools listed and called against DATABASE_URL, a write refused, a schema resource read. */
async function exercise(client: BundleConnection): Promise<void> {
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name).sort()).toEqual(['describe_table', 'list_tables', 'query']);
  const listed = await client.callTool({ name: 'list_tables', arguments: { schema: 'public' } });
  expect(textOf(listed)).toMatch(/public\s+\| notes/);
  const result = await client.callTool({
    name: 'query',
    arguments: { sql: 'SELECT body FROM notes WHERE id = $1', params: [2] },
  });
  expect(result.structuredContent).toMatchObject({ rows: [{ body: 'second' }], truncated: false });
  const refused = await client.callTool({ name: 'query', arguments: { sql: 'DELETE FROM notes' } });
  expect(refused.isError).toBe(true);
  expect(textOf(refused)).toMatch(/read-only/);
  const described = await client.callTool({ name: 'describe_table', arguments: { table: 'notes' } });
  expect(described.structuredContent).toMatchObject({ qualifiedName: '"public"."notes"', primaryKey: ['id'] });
  const read = await client.readResource({ uri: 'postgres://schema/public/notes' });
  expect(read.contents[0]!.text).toContain('"body"');
}

async function withClient(
  options: ConnectBundleOptions,
  body: (client: BundleConnection) => Promise<void>,
): Promise<void> {
  const client = await connectBundle(options);
  try {
    await body(client);
  } finally {
    await client.close();
  }
}

// v1 is @modelcontextprotocol/sdk 1.32.2; v2 the 2025 handshake; v2-modern pins 2026-07-28.
describe('trellis-postgres over stdio', () => {
  it('was built', () => expect(existsSync(BUNDLE)).toBe(true));

  it.each(CLIENT_KINDS)('serves the %s client against DATABASE_URL', async (kind) => {
    await withClient({ bundle: BUNDLE, transport: 'stdio', client: kind, env: { DATABASE_URL: reader } }, exercise);
  });
});

describe('trellis-postgres over HTTP', () => {
  it('serves /healthz and /readyz', async () => {
    expect((await fetch(`${http.base}/healthz`)).status).toBe(200);
    expect((await fetch(`${http.base}/readyz`)).status).toBe(200);
  });

  it.each(CLIENT_KINDS)('serves the %s client on /mcp', async (kind) => {
    await withClient({ transport: 'http', client: kind, url: http.url }, exercise);
  });

  it('starts with the database unreachable: /readyz says not ready, without the password', async () => {
    const password = 'app-s3cret-pw';
    // Debug logging on: not even the most talkative log may carry the password.
    const app = await startHttpBundle({
      bundle: BUNDLE,
      env: {
        DATABASE_URL: `postgres://app:${password}@127.0.0.1:${await freePort()}/app`,
        POSTGRES_CONNECT_TIMEOUT: '2s',
        LOG_LEVEL: 'debug',
      },
    });
    try {
      expect((await fetch(`${app.base}/healthz`)).status).toBe(200);
      const ready = await fetch(`${app.base}/readyz`);
      expect(ready.status).toBe(503);
      const body = await ready.text();
      expect(body).toMatch(/unavailable/);
      expect(body).not.toContain(password);
      await withClient({ transport: 'http', client: 'v2-modern', url: app.url }, async (client) => {
        const result = await client.callTool({ name: 'list_tables', arguments: {} });
        expect(result.isError).toBe(true);
        expect(textOf(result)).toMatch(/database is unavailable/);
        expect(JSON.stringify(result)).not.toContain(password);
      });
      expect(app.output()).not.toContain(password);
    } finally {
      await app.stop();
    }
  });
});

describe('the MCP Inspector CLI (on the isolated Node 22)', () => {
  beforeAll(async () => {
    await prepareInspector();
  }, 600_000);

  it('lists the tools and runs a query over stdio', async () => {
    const stdio = (...args: string[]) =>
      inspectorCli([process.execPath, BUNDLE, ...args], { serverEnv: { DATABASE_URL: reader, LOG_LEVEL: 'warn' } });
    const listed = await stdio('--method', 'tools/list');
    expect((listed.json.tools as { name: string }[]).map((t) => t.name).sort()).toEqual([
      'describe_table',
      'list_tables',
      'query',
    ]);
    const called = await stdio(
      '--method',
      'tools/call',
      '--tool-name',
      'query',
      '--tool-arg',
      'sql=SELECT body FROM notes ORDER BY id',
    );
    expect(called.json.structuredContent).toMatchObject({ rows: [{ body: 'first' }, { body: 'second' }] });
  }, 180_000);

  it('lists the tools and describes a table over HTTP', async () => {
    const overHttp = (...args: string[]) => inspectorCli([http.url, '--transport', 'http', ...args]);
    const listed = await overHttp('--method', 'tools/list');
    expect((listed.json.tools as { name: string }[]).map((t) => t.name)).toContain('describe_table');
    const called = await overHttp(
      '--method',
      'tools/call',
      '--tool-name',
      'describe_table',
      '--tool-arg',
      'table=notes',
    );
    expect(called.json.structuredContent).toMatchObject({ qualifiedName: '"public"."notes"' });
  }, 180_000);
});

describe('dist/ copied alone into an empty folder', () => {
  it('runs with only Node against DATABASE_URL', async () => {
    const copy = copyDistAlone(DIST, 'trellis-postgres-alone-');
    try {
      const env = { DATABASE_URL: reader, PATH: dirname(process.execPath) };
      await withClient({ bundle: copy.main, cwd: copy.home, transport: 'stdio', client: 'v2', env }, exercise);
    } finally {
      copy.remove();
    }
  });
});

describe('shutdown', () => {
  // Last in the file: the shared server stops on SIGTERM with exit code 0.
  it('the HTTP server exits 0 on SIGTERM', async () => {
    expect(await http.stop()).toBe(0);
  });
});
