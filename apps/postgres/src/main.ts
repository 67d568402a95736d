import { embeddedPostgres, postgres } from '@trellis/postgres';
import { run } from '@trellis/transport';

run({
  name: 'trellis-postgres',
  version: '0.1.0',
  description:
    'Read-only PostgreSQL for models: list_tables, describe_table, query, and a schema resource per table. ' +
    'Serves the database at DATABASE_URL; without it, runs a PostgreSQL of its own with a demo schema.',
  plugins: [postgres({ embedded: embeddedPostgres() })],
});
