import type { TrellisServer } from '@trellis/server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startTestPostgres, type TestPostgres } from './test-postgres.js';
import { admin, readerUrl, connect, eventually, startServer, textOf } from './helpers.js';

let server: TrellisServer | undefined;
let db: TestPostgres;
let reader: string;
beforeAll(async () => {
  db = await startTestPostgres();
  reader = await readerUrl(db.url);
});
afterEach(async () => {
  await server?.close({ graceMs: 100 });
  server = undefined;
  await db.start();
});
afterAll(async () => {
  await db?.destroy();
});

const PASSWORD = 'hunter2-s3cret';

describe('faults', () => {
  it('starts with the database unreachable: not ready, tools explain without the password', async () => {
    const port = await freePort();
    server = await startServer({
      DATABASE_URL: `postgres://app:${PASSWORD}@127.0.0.1:${port}/app`,
      POSTGRES_CONNECT_TIMEOUT: '2s',
    });
    const readiness = await server.ready();
    expect(readiness.ready).toBe(false);
    const check = readiness.checks.find((c) => c.plugin === 'postgres')!;
    expect(check.ok).toBe(false);
    expect(check.detail).toMatch(/unavailable.*ECONNREFUSED/);
    expect(JSON.stringify(readiness)).not.toContain(PASSWORD);

    for (const era of ['legacy', 'modern'] as const) {
      const { client, close } = await connect(server, era);
      try {
        for (const [name, args] of [
          ['list_tables', {}],
          ['describe_table', { table: 'users' }],
          ['query', { sql: 'SELECT 1' }],
        ] as const) {
          const result = await client.callTool({ name, arguments: args });
          expect(result.isError).toBe(true);
          expect(textOf(result)).toMatch(/database is unavailable.*ECONNREFUSED.*DATABASE_URL/);
          expect(JSON.stringify(result)).not.toContain(PASSWORD);
        }
        // The settings resource shows the URL redacted.
        const settings = await client.readResource({ uri: 'config://settings' });
        expect(JSON.stringify(settings)).not.toContain(PASSWORD);
        // Listing still works (resources from the catalog are simply absent).
        const { resources } = await client.listResources();
        expect(resources.some((r) => r.uri.startsWith('postgres://'))).toBe(false);
      } finally {
        await close();
      }
    }
  });

  it('never shows the password of a server that refuses it', async () => {
    const url = db.url.replace(db.password, PASSWORD);
    server = await startServer({ DATABASE_URL: url });
    const { client, close } = await connect(server);
    try {
      const result = await client.callTool({ name: 'query', arguments: { sql: 'SELECT 1' } });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/password authentication failed/);
      expect(JSON.stringify(result)).not.toContain(PASSWORD);
    } finally {
      await close();
    }
    expect(JSON.stringify(await server.ready())).not.toContain(PASSWORD);
  });

  it('without DATABASE_URL (and no embedded database) the tools say what to set', async () => {
    server = await startServer({});
    expect((await server.ready()).ready).toBe(false);
    const { client, close } = await connect(server);
    try {
      const result = await client.callTool({ name: 'list_tables', arguments: {} });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/DATABASE_URL is not set/);
    } finally {
      await close();
    }
  });

  it('recovers by itself when the database restarts mid-run', async () => {
    server = await startServer({ DATABASE_URL: reader, POSTGRES_POOL_SIZE: '3', POSTGRES_CONNECT_TIMEOUT: '2s' });
    const { client, close } = await connect(server);
    const ask = () => client.callTool({ name: 'query', arguments: { sql: 'SELECT 7 AS seven' } });
    try {
      // Fill the pool with idle connections that the restart will break.
      await Promise.all([ask(), ask(), ask()]);
      expect((await server.ready()).ready).toBe(true);

      await db.stop();
      const down = await ask();
      expect(down.isError).toBe(true);
      expect(textOf(down)).toMatch(/database is unavailable/);
      expect(JSON.stringify(down)).not.toContain(db.password);
      await eventually(async () => !(await server!.ready()).ready, 'readiness to drop');

      await db.start();
      // The very next calls work: broken pooled connections are replaced.
      for (let i = 0; i < 4; i++) {
        const up = await ask();
        expect(textOf(up)).not.toMatch(/unavailable/);
        expect((up.structuredContent as { rows: unknown[] }).rows).toEqual([{ seven: 7 }]);
      }
      await eventually(async () => (await server!.ready()).ready, 'readiness to come back');
    } finally {
      await close();
    }
  });

  it('recovers when pooled connections are cut while the database keeps running', async () => {
    server = await startServer({ DATABASE_URL: reader, POSTGRES_POOL_SIZE: '2' });
    const { client, close } = await connect(server);
    const ask = () => client.callTool({ name: 'query', arguments: { sql: 'SELECT 1 AS one' } });
    try {
      await Promise.all([ask(), ask()]);
      await admin(
        db.url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'trellis-postgres'",
      );
      const results = await Promise.all([ask(), ask(), ask()]);
      expect(results.map((r) => r.isError ?? false)).toEqual([false, false, false]);
    } finally {
      await close();
    }
  });
});
