import { definePlugin, type TrellisServer } from '@trellis/server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestPostgres, type TestPostgres } from './test-postgres.js';
import { PostgresServiceKey } from '../src/index.js';
import { admin, readerUrl, backendsRunning, connect, eventually, startServer, textOf } from './helpers.js';

let db: TestPostgres;
let reader: string;
let server: TrellisServer | undefined;

beforeAll(async () => {
  db = await startTestPostgres();
  reader = await readerUrl(db.url);
});
afterEach(async () => {
  await server?.close({ graceMs: 100 });
  server = undefined;
});
afterAll(async () => {
  await db?.destroy();
});

const SLEEP = 'SELECT pg_sleep(30) AS slept';

async function oneConnectionIsHealthy(s: TrellisServer): Promise<void> {
  const { client, close } = await connect(s);
  try {
    const result = await client.callTool({ name: 'query', arguments: { sql: 'SELECT 42 AS answer' } });
    expect(result.isError).toBeFalsy();
    expect((result.structuredContent as { rows: unknown[] }).rows).toEqual([{ answer: 42 }]);
  } finally {
    await close();
  }
}

describe.each(['legacy', 'modern'] as const)('cancellation reaches the database (%s)', (era) => {
  it('a client cancel stops pg_sleep(30) on the server and the connection stays usable', async () => {
    // One connection: the call after the cancel proves it came back healthy.
    server = await startServer({ DATABASE_URL: reader, POSTGRES_POOL_SIZE: '1' });
    const { client, close } = await connect(server, era);
    try {
      const controller = new AbortController();
      const call = client.callTool({ name: 'query', arguments: { sql: SLEEP } }, { signal: controller.signal }).then(
        () => 'answered',
        () => 'rejected',
      );
      await eventually(async () => (await backendsRunning(db.url, SLEEP)) === 1, 'the statement to start');
      controller.abort();
      expect(await call).toBe('rejected');
      await eventually(
        async () => (await backendsRunning(db.url, SLEEP)) === 0,
        'the backend to stop running pg_sleep',
      );
    } finally {
      await close();
    }
    await oneConnectionIsHealthy(server);
  });
});

describe('cancellation', () => {
  it('a client that disconnects mid-call cancels its statement', async () => {
    server = await startServer({ DATABASE_URL: reader, POSTGRES_POOL_SIZE: '1' });
    const { client, close } = await connect(server);
    void client.callTool({ name: 'query', arguments: { sql: SLEEP } }).catch(() => undefined);
    await eventually(async () => (await backendsRunning(db.url, SLEEP)) === 1, 'the statement to start');
    await close();
    await eventually(async () => (await backendsRunning(db.url, SLEEP)) === 0, 'the backend to stop running pg_sleep');
    await oneConnectionIsHealthy(server);
  });

  it('the statement timeout cancels a long statement and says so', async () => {
    server = await startServer({ DATABASE_URL: reader, POSTGRES_POOL_SIZE: '1', POSTGRES_STATEMENT_TIMEOUT: '300ms' });
    const { client, close } = await connect(server);
    try {
      const result = await client.callTool({ name: 'query', arguments: { sql: SLEEP } });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/cancel.*statement timeout|statement timeout/i);
    } finally {
      await close();
    }
    expect(await backendsRunning(db.url, SLEEP)).toBe(0);
    await oneConnectionIsHealthy(server);
  });

  it('closing the server cancels what still runs, then ends the pool', async () => {
    server = await startServer({ DATABASE_URL: reader, POSTGRES_POOL_SIZE: '2' });
    const { client, close } = await connect(server);
    const call = client.callTool({ name: 'query', arguments: { sql: SLEEP } }).catch(() => undefined);
    await eventually(async () => (await backendsRunning(db.url, SLEEP)) === 1, 'the statement to start');
    await server.close({ graceMs: 200 });
    server = undefined;
    await close();
    await call;
    await eventually(async () => (await backendsRunning(db.url, SLEEP)) === 0, 'the backend to stop');
  });

  it('50 concurrent calls on a pool of 2 queue rather than fail', async () => {
    server = await startServer({ DATABASE_URL: reader, POSTGRES_POOL_SIZE: '2' });
    const { client, close } = await connect(server);
    try {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          client.callTool({
            name: 'query',
            arguments: { sql: 'SELECT $1::int AS n, pg_sleep(0.02) IS NULL AS slept', params: [i] },
          }),
        ),
      );
      expect(results.filter((r) => r.isError).map(textOf)).toEqual([]);
      expect(results.map((r) => (r.structuredContent as { rows: { n: number }[] }).rows[0]!.n)).toEqual(
        Array.from({ length: 50 }, (_, i) => i),
      );
      const [row] = await admin<{ n: number }>(
        db.url,
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'trellis-postgres'",
      );
      expect(row!.n).toBeLessThanOrEqual(2);
    } finally {
      await close();
    }
  });

  it('provides the service to plugins that depend on postgres', async () => {
    const reports = definePlugin({
      name: 'reports',
      dependsOn: ['postgres'],
      setup(scope) {
        const database = scope.service(PostgresServiceKey);
        scope.tools.add({
          name: 'count_backends',
          description: 'Counts backends through the shared pool',
          handler: async (_args, ctx) => {
            const { rows } = await database.query('SELECT count(*)::int AS n FROM pg_stat_activity', [], {
              signal: ctx.signal,
            });
            return `backends: ${String(rows[0]!.n)}`;
          },
        });
      },
    });
    server = await startServer({ DATABASE_URL: reader }, [reports]);
    const { client, close } = await connect(server);
    try {
      expect(textOf(await client.callTool({ name: 'count_backends', arguments: {} }))).toMatch(/^backends: \d+$/);
    } finally {
      await close();
    }
  });
});
