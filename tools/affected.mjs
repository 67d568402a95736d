#!/usr/bin/env node
// Lint, typecheck, test and build only what changed: the projects Nx finds
// affected since a base ref, and their dependents.
//   pnpm affected [BASE]
// BASE defaults to the merge base with main (origin/main first), else HEAD~1;
// with no usable base (a single-commit or shallow clone) the whole workspace runs.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function git(...args) {
  const result = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

export function chooseBase(explicit) {
  if (explicit) return git('rev-parse', '--verify', '--quiet', `${explicit}^{commit}`) ? explicit : undefined;
  const head = git('rev-parse', 'HEAD');
  for (const ref of ['origin/main', 'main']) {
    const mergeBase = git('merge-base', 'HEAD', ref);
    if (mergeBase && mergeBase !== head) return mergeBase;
  }
  return git('rev-parse', '--verify', '--quiet', 'HEAD~1^{commit}') ? 'HEAD~1' : undefined;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const base = chooseBase(process.argv[2]);
  const summary = join(root, 'tools', 'test-summary.mjs');
  if (!base) process.stderr.write('[trellis] no base ref to compare with: running the whole workspace\n');
  else process.stderr.write(`[trellis] affected since ${base}\n`);
  const result = spawnSync(process.execPath, [summary, ...(base ? [`--affected=${base}`] : [])], {
    cwd: root,
    stdio: 'inherit',
  });
  process.exit(result.status ?? 1);
}
