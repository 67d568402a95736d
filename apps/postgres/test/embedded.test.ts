import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectBundle, type BundleConnection } from '@trellis/testing/apps';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLE } from './bundle.js';

const state = mkdtempSync(join(tmpdir(), 'trellis-pg-state-'));
// As root the server runs as the postgres user, which must be able to reach the folder.
chmodSync(state, 0o755);
const dataDir = join(state, 'trellis-postgres', 'data');

afterAll(() => {
  // If a test failed half-way, stop what it left running before removing the folder.
  if (existsSync(join(dataDir, 'postmaster.pid'))) {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {
      // gone
    }
  }
  rmSync(state, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function session<T>(body: (client: BundleConnection) => Promise<T>): Promise<{ value: T; postmaster: number }> {
  // No DATABASE_URL: connectBundle passes only PATH, HOME, quiet logs and these variables.
  const client = await connectBundle({
    bundle: BUNDLE,
    transport: 'stdio',
    client: 'v2',
    env: { XDG_STATE_HOME: state },
  });
  try {
    const value = await body(client);
    const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    expect(alive(postmaster)).toBe(true);
    return { value, postmaster };
  } catch (error) {
    throw new Error(`${(error as Error).message}\nserver log:\n${client.output()}`, { cause: error });
  } finally {
    await client.close();
  }
}

async function waitGone(pid: number): Promise<boolean> {
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    if (!alive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

describe('with no DATABASE_URL, a PostgreSQL of its own', () => {
  it('creates, seeds, serves and stops it, under XDG_STATE_HOME', { timeout: 120_000 }, async () => {
    const first = await session(async (client) => {
      const listed = await client.callTool({ name: 'list_tables', arguments: {} });
      const names = (listed.structuredContent as { tables: { name: string }[] }).tables.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['customers', 'orders', 'order_items', 'products', 'order_totals']));
      const counted = await client.callTool({
        name: 'query',
        arguments: { sql: 'SELECT count(*)::int AS n FROM customers WHERE country = $1', params: ['US'] },
      });
      expect(counted.structuredContent).toMatchObject({ rows: [{ n: 2 }] });
      const refused = await client.callTool({ name: 'query', arguments: { sql: 'DELETE FROM customers' } });
      expect(refused.isError).toBe(true);
      // It serves as the read-only role it created, not as the superuser.
      const who = await client.callTool({ name: 'query', arguments: { sql: 'SELECT current_user::text AS role' } });
      expect(who.structuredContent).toMatchObject({ rows: [{ role: 'trellis_reader' }] });
    });
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
    expect(await waitGone(first.postmaster)).toBe(true);
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
    expect(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })).not.toContain(dataDir);

    // A second start reuses the data folder (the demo data is not seeded twice).
    const second = await session(async (client) => {
      const counted = await client.callTool({
        name: 'query',
        arguments: { sql: 'SELECT count(*)::int AS n FROM customers' },
      });
      return (counted.structuredContent as { rows: { n: number }[] }).rows[0]!.n;
    });
    expect(second.value).toBe(4);
    expect(await waitGone(second.postmaster)).toBe(true);
  });
});
