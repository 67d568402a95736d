#!/usr/bin/env node
// A throwaway PostgreSQL cluster for tests, on 127.0.0.1 and a free port.
// As a module:  const pg = await startTestPostgres(); pg.url; await pg.sql('CREATE …'); await pg.stop(); await pg.start(); await pg.destroy();
//   const rows = await admin(pg.url, 'SELECT … WHERE id = $1', [id]);   // typed rows, parameters, over the pg driver
//   const url = await schemaOwnerUrl(pg.url, { role: 'trellis_fleet', password });   // a role that owns one schema
// As a command: node tools/postgres.mjs   (prints the URL, stops on SIGINT/SIGTERM)
// Postgres refuses to run as root, so as root the server runs as the `postgres` user.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { aptInstall } from './apt.mjs';

const PASSWORD = 'trellis-test-secret';

function findBinDir() {
  const probe = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (probe.status === 0 && existsSync(join(probe.stdout.trim(), 'initdb'))) return probe.stdout.trim();
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(base, versions[0], 'bin');
  }
  return undefined;
}

function ensureBinDir() {
  // CI machines are fresh: the server comes from Debian's packages (as root), its own service not started.
  return aptInstall(['postgresql'], {
    found: findBinDir,
    hint: 'no binaries at `pg_config --bindir` or /usr/lib/postgresql/*/bin; install the postgresql package',
  });
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Creates and starts a cluster. `stop()`/`start()` restart it on the same port
 * (for tests of a database that goes away and comes back); `destroy()` stops it
 * and removes every file.
 */
export async function startTestPostgres({ database = 'postgres' } = {}) {
  const bin = ensureBinDir();
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'trellis-pg-'));
  const data = join(dir, 'data');
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, `${PASSWORD}\n`);
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
    chownSync(pwfile, uid, gid);
  }
  chmodSync(dir, 0o700);
  const exec = (tool, args) => {
    const command = asRoot ? 'runuser' : join(bin, tool);
    const fullArgs = asRoot ? ['-u', 'postgres', '--', join(bin, tool), ...args] : args;
    const result = spawnSync(command, fullArgs, { encoding: 'utf8', cwd: dir });
    if (result.status !== 0) throw new Error(`${tool} failed (${result.status}): ${result.stderr || result.stdout}`);
    return result.stdout;
  };
  exec('initdb', [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth-local=trust',
    '--auth-host=scram-sha-256',
    `--pwfile=${pwfile}`,
    '--no-sync',
    '-E',
    'UTF8',
    '--locale=C',
  ]);
  const port = await freePort();
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=200`;
  let running = false;
  const cluster = {
    port,
    url: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/${database}`,
    password: PASSWORD,
    dataDir: data,
    async start() {
      if (running) return;
      exec('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', '-t', '30', 'start']);
      running = true;
    },
    async stop() {
      if (!running) return;
      exec('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']);
      running = false;
    },
    /** Runs SQL as the superuser (psql over the cluster's socket, stopping at the first error); returns psql's output. */
    async sql(text, db = database) {
      return exec('psql', [
        '-h',
        dir,
        '-p',
        String(port),
        '-U',
        'postgres',
        '-d',
        db,
        '-v',
        'ON_ERROR_STOP=1',
        '-qAt',
        '-c',
        text,
      ]);
    },
    async destroy() {
      try {
        if (running) exec('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop']);
      } finally {
        running = false;
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  await cluster.start();
  return cluster;
}

/**
 * Runs `sql` (with `$n` parameters) as whoever `url` names, in tests the cluster's superuser, over a
 * connection of its own that it closes; resolves to the rows. For fixtures and checks made outside the
 * code under test.
 * @param {string} url
 * @param {string} sql
 * @param {unknown[]} [params]
 */
export async function admin(url, sql, params = []) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/**
 * Creates a login role that owns one schema (named after it unless `schema` is given) and nothing else,
 * as the fleet's README asks of its role, and returns `url` signed in as that role.
 * @param {string} url  a superuser's URL
 * @param {{ role: string, password: string, schema?: string }} options
 */
export async function schemaOwnerUrl(url, { role, password, schema = role }) {
  await admin(url, `CREATE ROLE ${role} LOGIN PASSWORD '${password}'; CREATE SCHEMA ${schema} AUTHORIZATION ${role};`);
  const target = new URL(url);
  target.username = role;
  target.password = password;
  return target.toString();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const cluster = await startTestPostgres();
  process.stdout.write(`${cluster.url}\n`);
  const shutdown = async () => {
    await cluster.destroy();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  setInterval(() => {}, 1 << 30);
}
