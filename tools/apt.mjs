// Debian packages for the tests' real parts (Chromium, nginx, PostgreSQL), installed with apt-get when
// missing. Only as root on a machine with apt-get (CI, the development machines); elsewhere the caller
// says what to install by hand. A package's own service is never started: the tests run the program
// as an ordinary process with their own configuration.
// As a module:  aptInstall(['nginx'], { found: findNginx, hint: 'run `apt-get install nginx` as root' })
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, rmSync, writeFileSync } from 'node:fs';

/** apt waits this long for another engineer's apt-get to release the dpkg lock. */
const APT_LOCK_TIMEOUT_S = 300;
/** Debian's hook that tells maintainer scripts whether to start services; exit 101 = "don't". */
const POLICY_RC_D = '/usr/sbin/policy-rc.d';

function apt(args) {
  return spawnSync('apt-get', ['-o', `DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT_S}`, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * A program's executable: the one the environment variable `override` names (it must be executable),
 * else the first of `candidates` that is; undefined when none is installed.
 */
export function findExecutable(override, candidates) {
  const chosen = process.env[override];
  if (chosen) {
    if (!executable(chosen)) throw new Error(`${override}=${chosen} is not an executable file`);
    return chosen;
  }
  return candidates.find(executable);
}

/** True when this process may install Debian packages (root, with apt-get on the PATH). */
export function canAptInstall() {
  return process.getuid?.() === 0 && spawnSync('which', ['apt-get']).status === 0;
}

/**
 * Returns `found()` when it answers; otherwise installs `packages` (no recommends, no service started)
 * and returns `found()` again. Throws with `hint` when not root, and with apt's last words when the
 * install fails or leaves nothing found.
 * @template T
 * @param {string[]} packages
 * @param {{ found: () => T | undefined, hint: string }} options
 * @returns {T}
 */
export function aptInstall(packages, { found, hint }) {
  const present = found();
  if (present !== undefined) return present;
  const names = packages.join(' ');
  if (!canAptInstall()) throw new Error(`${names} is not installed: ${hint}`);
  const update = apt(['update']);
  if (update.status !== 0)
    throw new Error(`apt-get update failed (exit ${update.status}): ${update.stderr.slice(-500)}`);
  // A package such as nginx starts its system service from its postinst unless policy-rc.d says no.
  // Container images ship one; on a machine without, one is put in place for this install only.
  const ownPolicy = !existsSync(POLICY_RC_D);
  if (ownPolicy)
    writeFileSync(POLICY_RC_D, '#!/bin/sh\n# written by trellis tools/apt.mjs for one install\nexit 101\n', {
      mode: 0o755,
    });
  let install;
  try {
    install = apt(['install', '-y', '--no-install-recommends', ...packages]);
  } finally {
    if (ownPolicy) rmSync(POLICY_RC_D, { force: true });
  }
  const installed = found();
  if (install.status !== 0 || installed === undefined)
    throw new Error(`apt-get install ${names} failed (exit ${install.status}): ${install.stderr.slice(-500)}`);
  return installed;
}
