// Finds the workspace's pinned pnpm, installing it into .tools/pnpm when no
// pnpm of that version is on the PATH. Shared by tools/bootstrap.mjs (the
// README's first command) and tools/trellis.mjs (the day-to-day command line),
// so that neither needs pnpm installed globally.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The pnpm version `packageManager` in the root package.json pins. */
export function pinnedPnpmVersion(root) {
  return JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.split('@')[1];
}

function versionOf(command) {
  const probe = spawnSync(command, ['--version'], { encoding: 'utf8', shell: process.platform === 'win32' });
  return probe.status === 0 ? probe.stdout.trim() : undefined;
}

/**
 * Makes the pinned pnpm runnable as `pnpm` by this process and its children:
 * the one on the PATH when its version matches, else `.tools/pnpm` (installed
 * there with npm when missing). Returns the folder put first on the PATH, if any.
 * @param {string} root  the workspace root
 * @param {{ log?: (message: string) => void, install?: boolean }} [options]
 * @returns {string | undefined}
 */
export function ensurePnpm(root, { log = () => {}, install = true } = {}) {
  const pinned = pinnedPnpmVersion(root);
  if (versionOf('pnpm') === pinned) return undefined;
  const localDir = join(root, '.tools', 'pnpm');
  const localBin = join(localDir, 'node_modules', '.bin');
  const prepend = () => {
    process.env.PATH = `${localBin}${delimiter}${process.env.PATH}`;
    return localBin;
  };
  if (existsSync(join(localBin, 'pnpm')) && versionOf(join(localBin, 'pnpm')) === pinned) return prepend();
  if (!install)
    throw new Error(
      `pnpm ${pinned} is neither on the PATH nor in .tools/pnpm: run \`node tools/bootstrap.mjs\` (or \`npm start\`) once`,
    );
  log(`installing pnpm ${pinned} into .tools/pnpm`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(
    npm,
    ['install', '--prefix', localDir, '--no-audit', '--no-fund', '--loglevel=error', `pnpm@${pinned}`],
    { stdio: 'inherit', cwd: root },
  );
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`could not install pnpm ${pinned} (npm exited ${result.status})`);
  return prepend();
}
