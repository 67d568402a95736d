import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@trellis/server';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_DATABASE, defaultStateDir, embeddedPostgres, PostgresError } from '../src/index.js';

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
const log = createLogger({ level: 'silent' });

function tempDir(mode: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-pg-embedded-'));
  chmodSync(dir, mode);
  made.push(dir);
  return dir;
}

describe('embeddedPostgres', () => {
  it('puts its data under XDG_STATE_HOME, else ~/.local/state', () => {
    expect(defaultStateDir({ XDG_STATE_HOME: '/srv/state' })).toBe('/srv/state/trellis-postgres');
    expect(defaultStateDir({ HOME: '/home/ada' })).toMatch(/\/\.local\/state\/trellis-postgres$/);
    // A relative XDG_STATE_HOME is invalid per the spec and ignored.
    expect(defaultStateDir({ XDG_STATE_HOME: 'relative' })).toMatch(/\/\.local\/state\/trellis-postgres$/);
  });

  it('starts a seeded PostgreSQL on a private socket and stops it', { timeout: 120_000 }, async () => {
    const stateDir = join(tempDir(0o755), 'state');
    const started = await embeddedPostgres({ stateDir }).start(log);
    try {
      expect(started.connection).toMatchObject({ database: DEMO_DATABASE });
      expect(started.connection.host).toMatch(/^\//);
      const client = new pg.Client(started.connection);
      await client.connect();
      const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM order_totals');
      expect(rows[0]!.n).toBeGreaterThan(0);
      const { rows: settings } = await client.query<{ listen_addresses: string }>('SHOW listen_addresses');
      expect(settings[0]!.listen_addresses).toBe('');
      // It hands out the read-only role, with the deny-listed functions revoked from PUBLIC.
      const { rows: who } = await client.query<{ role: string; superuser: string }>(
        "SELECT current_user::text AS role, current_setting('is_superuser') AS superuser",
      );
      expect(who[0]).toEqual({ role: 'trellis_reader', superuser: 'off' });
      for (const sql of [
        'SELECT pg_advisory_lock(1)',
        'SELECT lo_creat(-1)',
        "SELECT set_config('work_mem', '1GB', false)",
        "SELECT pg_read_file('/etc/hostname')",
      ]) {
        await expect(client.query(sql)).rejects.toMatchObject({ code: '42501' });
      }
      await expect(client.query('CREATE TABLE mine (id int)')).rejects.toMatchObject({ code: '42501' });
      await client.end();
    } finally {
      await started.stop();
    }
    expect(existsSync(join(started.dataDir, 'postmaster.pid'))).toBe(false);
  });

  it.runIf(process.getuid?.() === 0)(
    'as root, explains when the postgres user cannot reach the state folder',
    async () => {
      const hidden = join(tempDir(0o700), 'state');
      mkdirSync(hidden);
      const failure = await embeddedPostgres({ stateDir: hidden })
        .start(log)
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      expect(failure).toBeInstanceOf(PostgresError);
      expect(failure).toMatchObject({
        code: 'EMBEDDED_FAILED',
        message: expect.stringMatching(/postgres user.*cannot reach.*XDG_STATE_HOME/),
      });
    },
  );
});
