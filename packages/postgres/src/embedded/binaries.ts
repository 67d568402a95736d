import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PostgresError } from '../errors.js';

const execFileAsync = promisify(execFile);

/** The folder with the machine's `initdb`, `pg_ctl` and `postgres`, or undefined. */
export function findBinDir(): string | undefined {
  const probe = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const reported = probe.status === 0 ? probe.stdout.trim() : '';
  if (reported && existsSync(join(reported, 'initdb'))) return reported;
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(base, versions[0], 'bin') : undefined;
}

/** The uid and gid of the `postgres` user, which runs the server when we are root. */
export function postgresUser(): { uid: number; gid: number } | undefined {
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * Runs one PostgreSQL tool (as the `postgres` user when `asPostgres`), never
 * touching our stdout: on stdio it belongs to the protocol.
 */
export async function runTool(
  bin: string,
  tool: string,
  args: string[],
  options: { asPostgres: boolean; cwd: string },
): Promise<string> {
  const command = options.asPostgres ? 'runuser' : join(bin, tool);
  const fullArgs = options.asPostgres ? ['-u', 'postgres', '--', join(bin, tool), ...args] : args;
  try {
    const { stdout } = await execFileAsync(command, fullArgs, {
      cwd: options.cwd,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, LC_ALL: 'C' },
    });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; code?: number | string; message: string };
    const detail = (e.stderr || e.stdout || e.message).trim().split('\n').slice(-3).join(' ');
    throw Object.assign(new Error(`${tool} failed (${e.code ?? 'error'}): ${detail}`), { exitCode: e.code });
  }
}

/** Whether the `postgres` user can reach (search) a folder. */
export function postgresCanReach(dir: string): boolean {
  return spawnSync('runuser', ['-u', 'postgres', '--', 'test', '-x', dir], { stdio: 'ignore' }).status === 0;
}

/**
 * Creates a private folder for the server. As root (PostgreSQL then runs as the
 * `postgres` user) the folder belongs to that user, who must be able to reach it.
 * Returns the owner to give further folders, if any.
 */
export function preparePrivateDir(dir: string): { uid: number; gid: number } | undefined {
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? postgresUser() : undefined;
  if (asRoot && !owner)
    throw new PostgresError(
      'EMBEDDED_FAILED',
      'running as root, but there is no `postgres` user to run PostgreSQL as (it refuses to run as root)',
    );
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (owner) {
    chownSync(dir, owner.uid, owner.gid);
    if (!postgresCanReach(dir)) {
      throw new PostgresError(
        'EMBEDDED_FAILED',
        `as root, PostgreSQL runs as the postgres user, which cannot reach ${dir} (a parent folder is private). Set XDG_STATE_HOME to a folder it can reach, or set DATABASE_URL`,
      );
    }
  }
  return owner;
}
