import { createLogger } from '@trellis/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet, fleetConfigSchema, FleetError, SCHEMA_VERSION } from '../src/index.js';
import { admin, schemaOwnerUrl, startTestPostgres, type TestPostgres } from '../../../tools/postgres.mjs';

/** Joining a fleet: the schema made once however many instances start at once, and clear refusals. */

let db: TestPostgres;
let fleetUrl: string;

beforeAll(async () => {
  db = await startTestPostgres();
  // The README's grants: a login role that owns the fleet's schema and nothing else.
  fleetUrl = await schemaOwnerUrl(db.url, { role: 'trellis_fleet', password: 'fleet-s3cret-pw' });
});

afterAll(async () => {
  await db?.destroy();
});

const quiet = createLogger({ level: 'silent' });

function configOf(env: Record<string, string>) {
  return fleetConfigSchema.parse(env);
}

describe('joining a fleet', () => {
  it('creates the schema once when several instances start at once, and again finds nothing to do', async () => {
    const env = { FLEET_DATABASE_URL: fleetUrl, FLEET_SCHEMA: 'trellis_fleet' };
    const joined = await Promise.all([1, 2, 3].map(() => Fleet.join(configOf(env), quiet)));
    const rows = await admin<{ version: number }>(
      db.url,
      'SELECT version FROM trellis_fleet.migrations ORDER BY version',
    );
    expect(rows.map((row) => row.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
    const instances = await admin<{ n: number }>(db.url, 'SELECT count(*)::int AS n FROM trellis_fleet.instances');
    expect(instances[0]!.n).toBe(3);
    expect(new Set(joined.map((fleet) => fleet.instanceId)).size).toBe(3);
    await Promise.all(joined.map((fleet) => fleet.close()));
    const again = await Fleet.join(configOf(env), quiet);
    await again.close();
    expect(await admin(db.url, 'SELECT version FROM trellis_fleet.migrations')).toHaveLength(SCHEMA_VERSION);
  });

  it('refuses a schema newer than the code', async () => {
    await admin(db.url, 'CREATE SCHEMA future AUTHORIZATION trellis_fleet');
    const first = await Fleet.join(configOf({ FLEET_DATABASE_URL: fleetUrl, FLEET_SCHEMA: 'future' }), quiet);
    await first.close();
    await admin(db.url, `INSERT INTO future.migrations (version) VALUES (${SCHEMA_VERSION + 1})`);
    const error = await Fleet.join(configOf({ FLEET_DATABASE_URL: fleetUrl, FLEET_SCHEMA: 'future' }), quiet).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FleetError);
    expect(error).toMatchObject({ code: 'FLEET_SCHEMA', message: expect.stringContaining('newer than this code') });
  });
});
