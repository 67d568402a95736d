import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startTestPostgres } from '../postgres.mjs';

function psql(url: string, sql: string) {
  return spawnSync('psql', [url, '-tAc', sql], { encoding: 'utf8' });
}

describe('throwaway PostgreSQL', () => {
  it('starts on 127.0.0.1, survives a restart on the same port, and leaves nothing behind', async () => {
    const pg = await startTestPostgres();
    try {
      expect(pg.url).toMatch(/^postgres:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/postgres$/);
      expect(psql(pg.url, 'select 40 + 2').stdout.trim()).toBe('42');
      await pg.stop();
      expect(psql(pg.url, 'select 1').status).not.toBe(0);
      await pg.start();
      expect(psql(pg.url, 'select 1').stdout.trim()).toBe('1');
    } finally {
      await pg.destroy();
    }
    expect(existsSync(pg.dataDir)).toBe(false);
  });
});
