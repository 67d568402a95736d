#!/usr/bin/env node
// Runs lint, typecheck, build and test for every project through Nx, then
// prints the closing line `N passed, M failed`. N and M count test cases
// (every vitest case, every conformance scenario), read from each project's
// reports/ folder, which Nx restores from its cache for cached tasks. A lint,
// typecheck or build task that fails counts as one failure; so does a test task
// that failed without leaving a report. The line is printed even on failure.
//   --affected[=BASE]   only projects affected since BASE (see affected.mjs)
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFailedTasks, readReports, projectDirs } from './summary-lib.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const targets = ['lint', 'typecheck', 'build', 'test'];

function nxArgs(argv) {
  const affected = argv.find((a) => a.startsWith('--affected'));
  const base = affected?.includes('=') ? affected.split('=')[1] : undefined;
  if (affected) return { args: ['affected', '-t', ...targets, ...(base ? [`--base=${base}`] : [])], mode: 'affected' };
  return { args: ['run-many', '-t', ...targets], mode: 'all' };
}

const dirs = projectDirs(root);
for (const dir of dirs) rmSync(join(dir, 'reports'), { recursive: true, force: true });

const { args } = nxArgs(process.argv.slice(2));
const nxBin = join(root, 'node_modules', '.bin', 'nx');
const child = spawn(nxBin, [...args, '--outputStyle=static', '--nxBail=false'], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'pipe'],
  env: { ...process.env, NX_TUI: 'false', NX_NO_CLOUD: 'true', NX_DAEMON: process.env.NX_DAEMON ?? 'false' },
});
let output = '';
child.stdout.on('data', (chunk) => {
  output += chunk;
  process.stdout.write(chunk);
});
child.stderr.on('data', (chunk) => {
  output += chunk;
  process.stderr.write(chunk);
});
child.on('close', (code) => {
  const failedTasks = parseFailedTasks(output);
  const { passed, failed, byProject } = readReports(dirs);
  let extraFailures = 0;
  for (const task of failedTasks) {
    const [project, target] = task.split(/:(?=[^:]+$)/);
    const report = byProject.get(project);
    if (target === 'test' && report && report.failed > 0) continue;
    extraFailures += 1;
    process.stdout.write(`failed step: ${task}\n`);
  }
  if (code !== 0 && failedTasks.length === 0) {
    extraFailures += 1;
    process.stdout.write(`failed step: nx exited ${code} without naming a task\n`);
  }
  const totalFailed = failed + extraFailures;
  process.stdout.write(`\n${passed} passed, ${totalFailed} failed\n`);
  process.exit(code !== 0 || totalFailed > 0 ? 1 : 0);
});
