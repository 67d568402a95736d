#!/usr/bin/env node
// CPU profile of the Trellis bench server under load (node --cpu-prof), summarised as top self-time
// functions and self time per module/package. The bundle's module comments map lines back to sources.
//   node runner/profile.mjs [--only stdio-legacy,http-legacy,...] [--top 25] [--telemetry]
//                           [--server base --baseline-bundle <other commit's bench/dist>]
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpSuite } from './http.mjs';
import { killAll } from './procs.mjs';
import { stdioSuite } from './stdio.mjs';
import { markdown } from './table.mjs';
import { startReceiver } from './telemetry.mjs';
import { GROUPS, targets } from './targets.mjs';

const root = join(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1].split(',') : undefined;
const serverId = argv.includes('--server') ? argv[argv.indexOf('--server') + 1] : 'trellis';
const top = argv.includes('--top') ? Number(argv[argv.indexOf('--top') + 1]) : 25;
/** --telemetry: profile with METRICS=on and OTLP traces and metrics to a local receiver. */
const withTelemetry = argv.includes('--telemetry');
/** --baseline-bundle <dir>: profile the bench app built from another commit (server id `base`). */
const baselineBundle = argv.includes('--baseline-bundle') ? argv[argv.indexOf('--baseline-bundle') + 1] : undefined;
const SIZE = {
  coldStarts: 1,
  stdioSequential: { count: 10_000, ms: 3_000 },
  stdioPipelined: { count: 50_000, ms: 4_000 },
  httpSequential: { count: 10_000, ms: 3_000 },
  http32: { count: 1_000_000, ms: 6_000 },
  inflight: { count: 200, sleepMs: 1_000, settleMs: 500 },
  sessions: 300,
};

/** Line → module path, from esbuild's `// path` comments in the bundle. */
function moduleMap(file) {
  const starts = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (/^\/\/ \S+\.(m?[jt]s|json)$/.test(line)) starts.push([i, line.slice(3)]);
    });
  return (line) => {
    let lo = 0;
    let hi = starts.length - 1;
    let found = 'bundle prelude';
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid][0] <= line) {
        found = starts[mid][1];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
}

function packageOf(path) {
  const m = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (m) return m[1];
  const w = /(packages|apps)\/([^/]+)\//.exec(path);
  if (w) return `@trellis/${w[2]}`;
  if (path.startsWith('src/') || path.includes('bench/src')) return 'bench app';
  return path;
}

/** Self time per function and per package, in ms and % of samples. */
export function summarise(profilePath, bundle) {
  const profile = JSON.parse(readFileSync(profilePath, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  // Bundles are split (dist/main.js and dist/chunks/*.js): map each file's lines through its own comments.
  const maps = new Map();
  const distDir = bundle.slice(0, bundle.lastIndexOf('/') + 1);
  const inBundle = (url) => url.startsWith('file://') && fileURLToPath(url).startsWith(distDir);
  const where = (url, line) => {
    const file = fileURLToPath(url);
    if (!maps.has(file)) maps.set(file, moduleMap(file));
    return maps.get(file)(line);
  };
  const fns = new Map();
  const pkgs = new Map();
  let total = 0;
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    total += us;
    let module = url;
    if (inBundle(url)) module = where(url, lineNumber);
    else if (url.startsWith('node:')) module = url;
    else if (!url) module = functionName.startsWith('(') ? functionName : '(native)';
    const pkg = url.startsWith('node:') ? 'node internals' : !url ? module : packageOf(module);
    const key = `${functionName || '(anonymous)'}  ${module.replace(/^.*node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?/, '')}${url ? `:${lineNumber + 1}` : ''}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    pkgs.set(pkg, (pkgs.get(pkg) ?? 0) + us);
  }
  const rank = (map, n) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => [k, (us / 1000).toFixed(0), `${((us / total) * 100).toFixed(1)}%`]);
  const active = total - (pkgs.get('(idle)') ?? 0);
  // Inclusive time per function (a function's own time plus its callees'), each call path counted once.
  const children = new Map(profile.nodes.map((n) => [n.id, n.children ?? []]));
  const keyOf = new Map();
  for (const n of profile.nodes) {
    const { functionName, url, lineNumber } = n.callFrame;
    const module = inBundle(url) ? where(url, lineNumber) : url;
    keyOf.set(
      n.id,
      `${functionName || '(anonymous)'}  ${module.replace(/^.*node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?/, '')}${url ? `:${lineNumber + 1}` : ''}`,
    );
  }
  const inclusive = new Map();
  const walk = (id, ancestors) => {
    let sum = self.get(id) ?? 0;
    const key = keyOf.get(id);
    const seen = ancestors.has(key);
    if (!seen) ancestors.add(key);
    for (const c of children.get(id)) sum += walk(c, ancestors);
    if (!seen) {
      ancestors.delete(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + sum);
    }
    return sum;
  };
  walk(profile.nodes[0].id, new Set());
  const ours = new Map(
    [...inclusive].filter(([k]) =>
      /packages\/(server|transport|concurrency)|bench\/src|baselines\/|@modelcontextprotocol|hono/.test(k),
    ),
  );
  return {
    text:
      `Sampled ${(total / 1000).toFixed(0)} ms (${(active / 1000).toFixed(0)} ms not idle).\n\nSelf time by package:\n\n${markdown(['package', 'ms', '%'], rank(pkgs, 15))}\n` +
      `Top ${top} functions by self time:\n\n${markdown(['function  module:line', 'ms', '%'], rank(fns, top))}\n` +
      `Top ${top} Trellis / SDK functions by inclusive time (self + callees):\n\n${markdown(['function  module:line', 'ms', '%'], rank(ours, top))}`,
  };
}

async function main() {
  const bundle = serverId === 'base' ? join(baselineBundle, 'main.js') : join(root, 'dist', 'main.js');
  const outDir = join(root, 'results', 'profiles');
  mkdirSync(outDir, { recursive: true });
  const reports = [];
  const receiver = withTelemetry ? await startReceiver() : undefined;
  for (const group of GROUPS.filter((g) => !only || only.includes(g.id))) {
    const dir = join(outDir, `${group.id}-${serverId}${withTelemetry ? '-telemetry' : ''}`);
    rmSync(dir, { recursive: true, force: true });
    const base = targets({ nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`], baselineBundle })[serverId]?.[
      group.transport
    ];
    if (!base || !(group.servers.includes(serverId) || serverId === 'base')) continue;
    const target = receiver
      ? { ...base, env: { ...base.env, METRICS: 'on', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } }
      : base;
    const suite = group.transport === 'stdio' ? stdioSuite : httpSuite;
    process.stderr.write(`[profile] ${group.id}\n`);
    await suite(target, group.era, SIZE);
    // A suite may spawn several processes (cold starts, a fresh one for memory): the biggest profile is the loaded one.
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort((a, b) => statSync(join(dir, a)).size - statSync(join(dir, b)).size);
    const file = join(dir, files.at(-1));
    reports.push(
      `### ${targets({ baselineBundle })[serverId].label}: ${group.title}\n\nProfile: results/profiles/${group.id}-${serverId}/${files.at(-1)}. ${summarise(file, bundle).text}`,
    );
  }
  await receiver?.close();
  const text = `${reports.join('\n')}`;
  writeFileSync(join(root, 'results', `profile-${serverId}${withTelemetry ? '-telemetry' : ''}.md`), text);
  process.stdout.write(text);
}

if (process.argv[1] === import.meta.filename) {
  main()
    .catch((error) => {
      process.stderr.write(`${error.stack}\n`);
      process.exitCode = 1;
    })
    .finally(killAll);
}
