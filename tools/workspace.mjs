// What the command line needs to know about the workspace: where it is, which
// projects it holds, and how to find an app or a package by a short name.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePnpm } from './pnpm.mjs';

/** The workspace this file belongs to. */
export const WORKSPACE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** A mistake in how the command line was called, or a state it cannot work from; printed without a stack. */
export class CliError extends Error {
  /**
   * @param {'USAGE' | 'NOT_FOUND' | 'EXISTS' | 'FAILED'} code
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.name = 'CliError';
    this.code = code;
    /** 2 for a bad call, 1 for a step that failed. */
    this.exitCode = code === 'FAILED' ? 1 : 2;
  }
}

/**
 * @typedef {object} Project
 * @property {string} name      the package name, e.g. `@trellis/files` or `@trellis-app/reference`
 * @property {string} short     the folder name, e.g. `files` or `reference`
 * @property {string} dir       absolute folder
 * @property {'package' | 'app'} kind
 * @property {Record<string, any>} manifest
 */

/** Every project under `packages/` and `apps/`. @returns {Project[]} */
export function listProjects(root = WORKSPACE_ROOT) {
  /** @type {Project[]} */
  const projects = [];
  for (const [group, kind] of /** @type {const} */ ([
    ['packages', 'package'],
    ['apps', 'app'],
  ])) {
    const base = join(root, group);
    if (!existsSync(base)) continue;
    for (const short of readdirSync(base).sort()) {
      const file = join(base, short, 'package.json');
      if (!existsSync(file)) continue;
      const manifest = JSON.parse(readFileSync(file, 'utf8'));
      projects.push({ name: manifest.name, short, dir: join(base, short), kind, manifest });
    }
  }
  return projects;
}

/**
 * One project of a kind by its folder name, package name or path.
 * @param {'package' | 'app'} kind
 * @param {string | undefined} wanted
 * @returns {Project}
 */
export function findProject(kind, wanted, root = WORKSPACE_ROOT) {
  const projects = listProjects(root).filter((p) => p.kind === kind);
  const names = projects.map((p) => p.short).join(', ') || '(none)';
  if (!wanted) throw new CliError('USAGE', `name the ${kind} (one of: ${names})`);
  const byPath = resolve(process.env.INIT_CWD ?? process.cwd(), wanted);
  const found = projects.find((p) => p.short === wanted || p.name === wanted || p.dir === byPath);
  if (!found)
    throw new CliError(
      'NOT_FOUND',
      `no ${kind} named ${JSON.stringify(wanted)} in ${kind === 'app' ? 'apps/' : 'packages/'} (have: ${names})`,
    );
  return found;
}

/**
 * The folders whose sources end up in an app's bundle: the app and every
 * workspace package it depends on, directly or not.
 * @param {Project} app
 * @returns {string[]}
 */
export function bundledProjectDirs(app, root = WORKSPACE_ROOT) {
  const byName = new Map(listProjects(root).map((p) => [p.name, p]));
  const seen = new Set([app.name]);
  const queue = [app];
  const dirs = [];
  while (queue.length > 0) {
    const project = /** @type {Project} */ (queue.shift());
    dirs.push(project.dir);
    for (const [dep, range] of Object.entries(project.manifest.dependencies ?? {})) {
      const next = byName.get(dep);
      if (next && String(range).startsWith('workspace:') && !seen.has(dep)) {
        seen.add(dep);
        queue.push(next);
      }
    }
  }
  return dirs;
}

/** Makes the pinned pnpm runnable as `pnpm` (see tools/pnpm.mjs), with the same log prefix as the rest of the CLI. */
export function usePnpm(root = WORKSPACE_ROOT, log = (message) => process.stderr.write(`[trellis] ${message}\n`)) {
  ensurePnpm(root, { log });
}

/**
 * Runs `pnpm install` in the workspace, so new projects and new `workspace:*`
 * dependencies are linked. Not frozen: a new project adds an importer to the lockfile.
 */
export function installWorkspace(root = WORKSPACE_ROOT) {
  usePnpm(root);
  // A scaffolded project is a new importer, so the lockfile must change: `--no-frozen-lockfile`
  // keeps pnpm from refusing that when CI=true (pnpm's default there is a frozen lockfile).
  const result = spawnSync('pnpm', ['install', '--prefer-offline', '--no-frozen-lockfile', '--reporter=append-only'], {
    cwd: root,
    stdio: ['ignore', 2, 2],
  });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new CliError('FAILED', `pnpm install failed (exit ${result.status})`);
}

/**
 * Builds an app's bundle with its own `build` script (tsup, the app's config).
 * Asynchronous, so a watcher can keep serving meanwhile; resolves to the exit
 * code and the build's output.
 * @param {Project} app
 * @param {{ quiet?: boolean }} [options]
 * @returns {Promise<{ code: number, output: string }>}
 */
export async function buildApp(app, { quiet = false } = {}) {
  return new Promise((resolvePromise) => {
    const child = spawn('pnpm', ['run', '--silent', 'build'], {
      cwd: app.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.stderr.isTTY ? process.env : { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
    });
    let output = '';
    const collect = (chunk) => {
      output = (output + chunk.toString('utf8')).slice(-20_000);
      if (!quiet) process.stderr.write(chunk);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (error) => resolvePromise({ code: 1, output: `${output}\n${error.message}` }));
    child.on('close', (code) => resolvePromise({ code: code ?? 1, output }));
  });
}

/** The bundle of an app, built. @param {Project} app */
export async function builtBundle(app) {
  usePnpm();
  const { code, output } = await buildApp(app, { quiet: true });
  if (code !== 0) throw new CliError('FAILED', `building ${app.short} failed:\n${output.trim()}`);
  const bundle = join(app.dir, 'dist', 'main.js');
  if (!existsSync(bundle))
    throw new CliError('FAILED', `building ${app.short} wrote no ${relative(WORKSPACE_ROOT, bundle)}`);
  return bundle;
}
