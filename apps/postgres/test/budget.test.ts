import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { safeRoleSql } from '@trellis/postgres';
import { bundleEnv, connectBundle, type BundleConnection } from '@trellis/testing/apps';
import { textOf } from '@trellis/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE } from './bundle.js';
import { startTestPostgres, type TestPostgres } from './test-postgres.js';

/**
 * The memory the server process may reach at its peak (VmHWM) while it answers
 * values of hundreds of megabytes. Before the byte budget, one such value took
 * it to 2.5–4 GB, or killed it.
 */
const RSS_BUDGET_MB = 256;
// Values are made by PostgreSQL from a 10-byte unit (repeat() is much faster that way than from one byte).
const MB = 100_000; // repeats of '0123456789' per MB

let db: TestPostgres;
let app: { child: ChildProcess; url: string; output: () => string } | undefined;

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** The app over HTTP as a child process of its own, so its memory is its own. */
async function startApp(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [BUNDLE, '--transport', 'http', '--host', '127.0.0.1', '--port', '0'], {
    env: bundleEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const output = () => log;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the app did not start:\n${log}`)), 60_000);
    const keep = (chunk: Buffer) => {
      log = (log + chunk.toString('utf8')).slice(-20_000);
      const match = /serving MCP on (http:\/\/\S+)/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the app exited with ${code}:\n${log}`));
    });
  });
  return { child, url, output };
}

beforeAll(async () => {
  db = await startTestPostgres();
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  await admin.query(safeRoleSql({ password: 'reader-s3cret', database: 'postgres' }));
  await admin.end();
  const reader = db.url.replace(`postgres:${db.password}@`, 'trellis_reader:reader-s3cret@');
  app = await startApp({ DATABASE_URL: reader, POSTGRES_STATEMENT_TIMEOUT: '60s', LOG_LEVEL: 'warn' });
}, 120_000);

afterAll(async () => {
  if (app && app.child.exitCode === null) {
    const exited = new Promise((resolve) => app!.child.once('exit', resolve));
    app.child.kill('SIGTERM');
    await exited;
  }
  await db?.destroy();
});

async function withClient<T>(body: (client: BundleConnection) => Promise<T>): Promise<T> {
  const client = await connectBundle({ transport: 'http', url: app!.url, client: 'v2' });
  try {
    return await body(client);
  } finally {
    await client.close();
  }
}

interface Answer {
  rowCount: number;
  truncated: boolean;
  truncatedBy: string | null;
  cutValues: { row: number; column: string; bytes: number }[];
  rows: Record<string, unknown>[];
}

async function query(sql: string): Promise<{ answer: Answer; text: string; isError: boolean }> {
  return withClient(async (client) => {
    const result = await client.callTool({ name: 'query', arguments: { sql } });
    return {
      answer: result.structuredContent as unknown as Answer,
      text: textOf(result),
      isError: result.isError === true,
    };
  });
}

function expectServing(): void {
  expect(app!.child.exitCode, app!.output()).toBeNull();
  expect(peakRssMb(app!.child.pid!), `peak RSS of the server (MB); log:\n${app!.output()}`).toBeLessThan(RSS_BUDGET_MB);
}

describe('huge results stay bounded (the app as a child process, its peak RSS measured)', { timeout: 120_000 }, () => {
  it('a 600 MB value: answered as a preview with its size', async () => {
    const { answer, text, isError } = await query(`SELECT 1 AS id, repeat('0123456789', ${600 * MB}) AS big`);
    expect(isError).toBe(false);
    expect(answer.rows[0]!.id).toBe(1);
    expect(answer.rows[0]!.big).toBe('0123456789'.repeat(100));
    expect(answer.cutValues).toEqual([{ row: 0, column: 'big', bytes: 600_000_000 }]);
    expect(text).toMatch(/CUT VALUES: 1 value\(s\) longer than 64 KiB .*row 1 big \(572\.2 MiB\)/);
    expectServing();
  });

  it('200 rows of 5 MB: every row, each value a preview', async () => {
    const { answer, isError } = await query(
      `SELECT i, repeat('0123456789', ${5 * MB}) AS v FROM generate_series(1, 200) AS i`,
    );
    expect(isError).toBe(false);
    expect(answer.rowCount).toBe(200);
    expect(answer.cutValues).toHaveLength(200);
    expect(answer.cutValues.every((cut) => cut.bytes === 5_000_000)).toBe(true);
    expectServing();
  });

  it('rows of 60 KB past the 1 MiB budget: the rows that fit, then a note (the guard under the driver)', async () => {
    const { answer, text } = await query(`SELECT i, repeat('0123456789', 6000) AS v FROM generate_series(1, 200) AS i`);
    expect(answer).toMatchObject({ truncated: true, truncatedBy: 'bytes' });
    expect(answer.rowCount).toBeGreaterThan(10);
    expect(answer.rowCount).toBeLessThan(20);
    expect(text).toMatch(/would pass the result budget of 1 MiB/);
    expectServing();
  });

  it('three 300 MB answers at once (a value, a value, an error quoting one) while another client is served', async () => {
    let serving = true;
    const small: Promise<number> = withClient(async (client) => {
      let answered = 0;
      while (serving) {
        const result = await client.callTool({ name: 'query', arguments: { sql: 'SELECT 42 AS answer' } });
        expect(result.structuredContent).toMatchObject({ rows: [{ answer: 42 }] });
        answered++;
      }
      return answered;
    });
    const heavy = await Promise.all([
      query(`SELECT repeat('0123456789', ${300 * MB}) AS a`),
      query(`SELECT repeat('9876543210', ${300 * MB}) AS b`),
      // Not a SELECT PostgreSQL can cut: the error message itself carries the 300 MB value.
      query(`SELECT repeat('0123456789', ${300 * MB})::int AS c`),
    ]);
    serving = false;
    expect(await small).toBeGreaterThan(0);
    expect(heavy[0].answer.cutValues).toEqual([{ row: 0, column: 'a', bytes: 300_000_000 }]);
    expect(heavy[1].answer.cutValues).toEqual([{ row: 0, column: 'b', bytes: 300_000_000 }]);
    expect(heavy[2].text).toMatch(
      /TRUNCATED: the server sent a message of 286\.1 MiB, more than one answer may hold \(1 MiB\)/,
    );
    expectServing();
    // And the pool recovered from the dropped connection.
    expect((await query('SELECT 7 AS seven')).answer.rows).toEqual([{ seven: 7 }]);
  });
});
