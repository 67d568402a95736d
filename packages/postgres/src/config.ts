import { env } from '@trellis/config';
import { z } from 'zod';

/**
 * Settings of the postgres plugin (environment variables, `.env`, or the flag
 * named after each key). `DATABASE_URL` is a secret: it is redacted wherever the
 * configuration is shown, and has no flag so it never lands in a process list.
 */
export const postgresConfigSchema = z.object({
  DATABASE_URL: env
    .url({ protocols: ['postgres', 'postgresql'] })
    .optional()
    .meta({ secret: true, flag: false })
    .describe(
      'postgres://user:password@host:5432/db of the database to serve; without it the app runs an embedded PostgreSQL',
    ),
  POSTGRES_POOL_SIZE: env
    .number({ int: true, min: 1, max: 200 })
    .default(10)
    .describe('Connections in the pool; more calls wait in a queue'),
  POSTGRES_CONNECT_TIMEOUT: env.duration().prefault('5s').describe('How long opening a connection may take'),
  POSTGRES_IDLE_TIMEOUT: env.duration().prefault('30s').describe('How long an idle pooled connection is kept'),
  POSTGRES_STATEMENT_TIMEOUT: env
    .duration()
    .prefault('30s')
    .describe('How long one statement may run before PostgreSQL cancels it'),
  POSTGRES_QUEUE_TIMEOUT: env
    .duration()
    .prefault('60s')
    .describe('How long a call may wait for a free pooled connection'),
  POSTGRES_APPLICATION_NAME: env
    .string()
    .min(1)
    .max(63)
    .default('trellis-postgres')
    .describe('application_name shown in pg_stat_activity'),
  POSTGRES_MAX_ROWS: env
    .number({ int: true, min: 1, max: 10_000 })
    .default(200)
    .describe('Rows the query tool returns at most (it says when it cut)'),
  POSTGRES_MAX_RESULT_BYTES: env
    .number({ int: true, min: 1024, max: 256 * 1024 * 1024 })
    .default(1024 * 1024)
    .describe(
      'Bytes of rows one call may read from the database; past it the query tool answers what fits and says what was cut',
    ),
  POSTGRES_MAX_VALUE_BYTES: env
    .number({ int: true, min: 16, max: 256 * 1024 * 1024 })
    .default(64 * 1024)
    .describe('A single value longer than this is cut by PostgreSQL itself to a preview of its first 1000 characters'),
  POSTGRES_DANGEROUSLY_ALLOW_PRIVILEGED_ROLE: env
    .boolean()
    .default(false)
    .describe(
      'Serve even when the role is a superuser, may replicate, bypasses row security or is a member of pg_read_server_files and the like (logged as a warning at every start)',
    ),
});

/** The parsed settings of the postgres plugin. */
export type PostgresConfig = z.output<typeof postgresConfigSchema>;
