import { definePlugin, serviceKey, type Plugin } from '@trellis/server';
import type pg from 'pg';
import { postgresConfigSchema } from './config.js';
import { PostgresError } from './errors.js';
import type { EmbeddedPostgres } from './embedded/types.js';
import { addSchemaResources } from './resources.js';
import { PostgresService } from './service.js';
import { addTools } from './tools.js';
import { observePool } from './tracing.js';

/**
 * The key under which the plugin provides its `PostgresService`.
 * @example
 * definePlugin({ name: 'reports', dependsOn: ['postgres'], setup(scope) { const db = scope.service(PostgresServiceKey); … } })
 */
export const PostgresServiceKey = serviceKey<PostgresService>('postgres.service');

/** Options of {@link postgres}. */
export interface PostgresPluginOptions {
  /**
   * A database to start when `DATABASE_URL` is not set (see `embeddedPostgres()`).
   * Without it, a missing `DATABASE_URL` leaves the plugin unready and its tools explain why.
   */
  embedded?: EmbeddedPostgres;
}

interface Target {
  connection: pg.ClientConfig;
  secrets: string[];
}

function fromUrl(url: string): Target {
  const secrets: string[] = [];
  try {
    const password = new URL(url).password;
    if (password) secrets.push(password, decodeURIComponent(password));
  } catch {
    // The config schema already checked the URL; nothing more to hide.
  }
  return { connection: { connectionString: url }, secrets };
}

/**
 * The PostgreSQL plugin: a pooled, read-only view of one database for models.
 * Tools `list_tables`, `describe_table` and `query`; resources
 * `postgres://schema/{schema}/{table}`; readiness from the database's health;
 * the `PostgresService` for plugins that depend on `postgres`.
 * @example
 * run({ name: 'trellis-postgres', version: '1.0.0', plugins: [postgres({ embedded: embeddedPostgres() })] });
 */
export function postgres(options: PostgresPluginOptions = {}): Plugin<typeof postgresConfigSchema> {
  return definePlugin({
    name: 'postgres',
    config: postgresConfigSchema,
    async setup(scope) {
      const config = scope.config;
      let target: Target | undefined;
      let unavailable: string | undefined;
      if (config.DATABASE_URL) {
        target = fromUrl(config.DATABASE_URL);
      } else if (options.embedded) {
        try {
          const started = await options.embedded.start(scope.log);
          target = { connection: started.connection, secrets: started.secrets ?? [] };
          scope.onClose(() => started.stop());
        } catch (error) {
          unavailable = `The embedded PostgreSQL did not start: ${(error as Error).message}. Set DATABASE_URL to use an existing server instead.`;
          scope.log.error({ err: unavailable }, 'embedded PostgreSQL failed');
        }
      } else {
        unavailable =
          'DATABASE_URL is not set, so there is no database to query. Set it to postgres://user:password@host:5432/db and restart the server.';
      }
      const service = new PostgresService({
        connection: target?.connection ?? {},
        poolSize: config.POSTGRES_POOL_SIZE,
        connectTimeoutMs: config.POSTGRES_CONNECT_TIMEOUT,
        idleTimeoutMs: config.POSTGRES_IDLE_TIMEOUT,
        statementTimeoutMs: config.POSTGRES_STATEMENT_TIMEOUT,
        queueTimeoutMs: config.POSTGRES_QUEUE_TIMEOUT,
        applicationName: config.POSTGRES_APPLICATION_NAME,
        maxRows: config.POSTGRES_MAX_ROWS,
        maxBytes: config.POSTGRES_MAX_RESULT_BYTES,
        maxValueBytes: config.POSTGRES_MAX_VALUE_BYTES,
        allowPrivilegedRole: config.POSTGRES_DANGEROUSLY_ALLOW_PRIVILEGED_ROLE,
        log: scope.log,
        secrets: target?.secrets ?? [],
        ...(unavailable !== undefined && { unavailable }),
      });
      scope.provide(PostgresServiceKey, service);
      // Registered after the embedded server's stop, so it runs before it (closers run in reverse).
      scope.onClose(() => service.close());
      scope.onClose(observePool(service));
      if (target) {
        // Least privilege is checked before serving: a privileged role fails the start (unless allowed, then it warns).
        // An unreachable database is not a verdict: the first call checks again.
        try {
          await service.verifyRole();
        } catch (error) {
          if (error instanceof PostgresError && error.code === 'UNSAFE_ROLE') {
            await service.close().catch(() => undefined);
            throw error;
          }
          scope.log.warn(
            { err: (error as Error).message },
            'could not check the database role at start; the first call checks it',
          );
        }
      }
      scope.readiness(() => service.health());
      const backstopMs =
        config.POSTGRES_STATEMENT_TIMEOUT + config.POSTGRES_QUEUE_TIMEOUT + 2 * config.POSTGRES_CONNECT_TIMEOUT + 5_000;
      addTools(scope as never, () => service, { backstopMs });
      addSchemaResources(scope as never, () => service);
    },
  });
}
