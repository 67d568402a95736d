import pg from 'pg';

export { startTestPostgres } from '../../../tools/postgres.mjs';
export type { TestPostgres } from '../../../tools/postgres.mjs';

const FLEET_PASSWORD = 'fleet-s3cret-pw';

/** Runs SQL as the superuser, outside the servers (fixtures and checks). */
export async function admin<T extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/**
 * The README's grants: a login role that owns the fleet's schema and nothing
 * else. Returns the URL the instances use.
 */
export async function fleetRoleUrl(url: string, role = 'trellis_fleet', schema = 'trellis_fleet'): Promise<string> {
  await admin(
    url,
    `CREATE ROLE ${role} LOGIN PASSWORD '${FLEET_PASSWORD}';
     CREATE SCHEMA ${schema} AUTHORIZATION ${role};`,
  );
  const target = new URL(url);
  target.username = role;
  target.password = FLEET_PASSWORD;
  return target.toString();
}
