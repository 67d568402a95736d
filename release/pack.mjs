#!/usr/bin/env node
// Packs every publishable package (the libraries in packages/ and the apps in apps/ that are not private)
// into tarballs, exactly as `pnpm publish` would upload them: `workspace:*` becomes the real version and
// .pnpmfile.cjs rewrites the manifest (no `@trellis/source` condition, no scripts; apps without their bundled
// dependencies). Build first (`pnpm build`): the tarballs hold dist/.
//   node release/pack.mjs [DEST] [--only name,name]    prints one line per tarball: name<TAB>path
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const workspaceRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The package folders of `group` that the repository holds: git's tracked files when this is a git checkout, so
 * that a scratch package (the generator's tests make `packages/zz-gen-*` while other tests run) is never released.
 */
function packageDirs(root, group) {
  const tracked = spawnSync('git', ['ls-files', '--', `${group}/*/package.json`], { cwd: root, encoding: 'utf8' });
  if (tracked.status === 0)
    return tracked.stdout
      .split('\n')
      .filter(Boolean)
      .map((file) => dirname(join(root, file)));
  const dir = join(root, group);
  return existsSync(dir) ? readdirSync(dir).map((name) => join(dir, name)) : [];
}

/** The packages a release publishes, in a stable order: libraries first, then apps. */
export function publishablePackages(root = workspaceRoot) {
  const found = [];
  for (const [group, kind] of [
    ['packages', 'library'],
    ['apps', 'app'],
  ]) {
    for (const dir of packageDirs(root, group).sort()) {
      const manifestPath = join(dir, 'package.json');
      if (!existsSync(manifestPath)) continue;
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
      if (manifest.private) continue;
      found.push({ name: manifest.name, version: manifest.version, dir, kind });
    }
  }
  return found;
}

/** The pinned pnpm: the one on the PATH, or the copy tools/bootstrap.mjs installs into .tools/. */
function pnpmCommand(root) {
  const local = join(root, '.tools', 'pnpm', 'node_modules', '.bin');
  return { command: 'pnpm', env: { ...process.env, PATH: `${local}${delimiter}${process.env.PATH ?? ''}` } };
}

function packOne(pkg, destination, root) {
  const { command, env } = pnpmCommand(root);
  return new Promise((resolvePack, rejectPack) => {
    const child = spawn(command, ['pack', '--json', '--pack-destination', destination], {
      cwd: pkg.dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', rejectPack);
    child.on('close', (code) => {
      if (code !== 0)
        return rejectPack(new Error(`pnpm pack failed for ${pkg.name} (exit ${code}): ${stderr.slice(-2000)}`));
      try {
        const report = JSON.parse(stdout.slice(stdout.indexOf('{')));
        resolvePack({ ...pkg, tarball: resolve(destination, report.filename) });
      } catch (error) {
        rejectPack(
          new Error(`pnpm pack for ${pkg.name} printed no JSON report: ${stdout.slice(-500)} ${String(error)}`),
        );
      }
    });
  });
}

/**
 * Packs the publishable packages (or those named in `only`) into `destination`, two at a time.
 * Refuses a package whose dist/ is missing: a tarball without its build would install and then fail.
 */
export async function packAll(destination, { root = workspaceRoot, only } = {}) {
  mkdirSync(destination, { recursive: true });
  const chosen = publishablePackages(root).filter((pkg) => !only || only.includes(pkg.name));
  const unbuilt = chosen.filter((pkg) => !existsSync(join(pkg.dir, 'dist')));
  if (unbuilt.length > 0)
    throw new Error(`build first (pnpm build): no dist/ in ${unbuilt.map((pkg) => pkg.name).join(', ')}`);
  const packed = [];
  const queue = [...chosen];
  const worker = async () => {
    for (let pkg = queue.shift(); pkg; pkg = queue.shift()) packed.push(await packOne(pkg, destination, root));
  };
  await Promise.all([worker(), worker()]);
  return chosen.map((pkg) => packed.find((p) => p.name === pkg.name));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? args.splice(onlyAt, 2)[1]?.split(',') : undefined;
  const destination = resolve(args[0] ?? join(workspaceRoot, 'dist-packages'));
  packAll(destination, { only }).then(
    (packed) => {
      for (const pkg of packed) process.stdout.write(`${pkg.name}\t${pkg.tarball}\n`);
    },
    (error) => {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    },
  );
}
