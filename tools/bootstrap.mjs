#!/usr/bin/env node
// The one entry point that needs nothing but Node 20 and npm: it installs the
// pinned pnpm into .tools/ when no matching pnpm is on the PATH, installs the
// workspace from the lockfile, then runs the task it was given:
//   node tools/bootstrap.mjs           set up only
//   node tools/bootstrap.mjs test      lint, typecheck, test and build everything; closing line
//   node tools/bootstrap.mjs start     build apps/reference and serve it over HTTP on 127.0.0.1
//   node tools/bootstrap.mjs bench     build and run the benchmarks
import { spawnSync } from 'node:child_process';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePnpm } from './pnpm.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function log(message) {
  process.stderr.write(`[trellis] ${message}\n`);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root, ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function ensureInstall() {
  const status = run('pnpm', ['install', '--frozen-lockfile', '--reporter=append-only']);
  if (status !== 0) throw new Error(`pnpm install failed (exit ${status})`);
}

const task = process.argv[2] ?? 'setup';
const rest = process.argv.slice(3);
process.env.NX_DAEMON ??= 'false';
process.env.NX_NO_CLOUD = 'true';
process.env.NX_TUI = 'false';

try {
  ensurePnpm(root, { log });
  ensureInstall();
  process.env.PATH = `${join(root, 'node_modules', '.bin')}${delimiter}${process.env.PATH}`;
  switch (task) {
    case 'setup':
      process.exit(0);
    case 'test':
      process.exit(run(process.execPath, [join(root, 'tools', 'test-summary.mjs'), ...rest]));
    case 'start': {
      // The app bundles its workspace packages from source: no library build is needed first.
      const built = run('pnpm', ['--filter', '@trellis-app/reference', 'run', 'build'], { stdio: ['ignore', 2, 2] });
      if (built !== 0) process.exit(built);
      process.exit(
        run(process.execPath, [join(root, 'apps', 'reference', 'dist', 'main.js'), '--transport', 'http', ...rest]),
      );
    }
    case 'bench': {
      const built = run('pnpm', ['exec', 'nx', 'run-many', '-t', 'build', '--outputStyle=static'], {
        stdio: ['ignore', 2, 2],
      });
      if (built !== 0) process.exit(built);
      process.exit(run('pnpm', ['--filter', '@trellis/bench', 'run', 'bench', ...rest]));
    }
    default:
      log(`unknown task ${JSON.stringify(task)}; expected setup, test, start or bench`);
      process.exit(2);
  }
} catch (error) {
  log(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
