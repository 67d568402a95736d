#!/usr/bin/env node
// pnpm bench — Trellis against the official SDK baselines, interleaved (A B C, A B C):
// one warm-up (quick sizes) + three counted repetitions; medians and ratios against each eligible baseline;
// then Trellis with telemetry off and on (1 warm-up + 5 reps, interleaved).
//   node runner/main.mjs [--quick] [--only stdio-legacy,http-modern,telemetry,tasks,fleet] [--no-micro] [--no-telemetry] [--readme]
//                        [--baseline-bundle <dir> [--baseline-label <name>]] [--servers trellis,base] [--reps N]
// --baseline-bundle runs the bench app built from another commit (its bench/dist) as one more baseline.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fleetSuite } from './fleet.mjs';
import { httpSuite } from './http.mjs';
import { killAll } from './procs.mjs';
import { stdioSuite } from './stdio.mjs';
import { tasksSuite } from './tasks.mjs';
import { formatGroups, markdown, median } from './table.mjs';
import { groups as groupsFor, targets } from './targets.mjs';
import { telemetrySuite } from './telemetry.mjs';

const root = join(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const option = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const only = option('--only')?.split(',');
const baselineBundle = option('--baseline-bundle');
const baselineLabel = option('--baseline-label');
const serverFilter = option('--servers')?.split(',');
const REPS = option('--reps') === undefined ? 3 : Number(option('--reps'));
if (!Number.isInteger(REPS) || REPS < 1)
  throw new TypeError(`--reps must be a positive integer, got ${option('--reps')}`);

/** Workload sizes: every loop is bounded in count and in time. */
const SIZES = {
  full: {
    // Per repetition: 4 spawns per server (12 over the 3 counted repetitions, 20 over 5).
    coldStarts: 4,
    stdioSequential: { count: 5_000, ms: 2_500 },
    stdioPipelined: { count: 30_000, ms: 2_500 },
    httpSequential: { count: 5_000, ms: 2_500 },
    http32: { count: 1_000_000, ms: 10_000 },
    inflight: { count: 500, sleepMs: 4_000, settleMs: 1_800 },
    sessions: 1_000,
  },
  quick: {
    coldStarts: 1,
    stdioSequential: { count: 1_000, ms: 400 },
    stdioPipelined: { count: 5_000, ms: 400 },
    httpSequential: { count: 1_000, ms: 400 },
    http32: { count: 100_000, ms: 800 },
    inflight: { count: 500, sleepMs: 1_500, settleMs: 800 },
    sessions: 200,
  },
};

const log = (message) => process.stderr.write(`[bench] ${message}\n`);

async function main() {
  const bundle = join(root, 'dist', 'main.js');
  if (!existsSync(bundle))
    throw new Error(`${bundle} is missing: build first (pnpm --filter @trellis/bench run build, or root pnpm bench)`);
  if (baselineBundle && !existsSync(join(baselineBundle, 'main.js')))
    throw new Error(
      `--baseline-bundle ${baselineBundle} has no main.js: give the bench/dist folder built from the other commit`,
    );
  const servers = targets({ baselineBundle, ...(baselineLabel && { baselineLabel }) });
  const labels = Object.fromEntries(Object.entries(servers).map(([k, v]) => [k, v.label]));
  const groups = groupsFor({ baseline: baselineBundle !== undefined, servers: serverFilter }).filter(
    (g) => !only || only.includes(g.id),
  );
  const withTelemetry = !baselineBundle && !argv.includes('--no-telemetry') && (!only || only.includes('telemetry'));
  const samples = {};
  const failures = [];
  const started = performance.now();
  for (let rep = 0; rep <= REPS; rep++) {
    const size = rep === 0 || quick ? SIZES.quick : SIZES.full;
    for (const group of groups) {
      for (const id of group.servers) {
        const t = performance.now();
        try {
          const suite = group.transport === 'stdio' ? stdioSuite : httpSuite;
          const result = await suite(servers[id][group.transport], group.era, size);
          if (rep > 0) {
            const bucket = ((samples[group.id] ??= {})[id] ??= {});
            for (const [key, value] of Object.entries(result)) (bucket[key] ??= []).push(value);
          }
        } catch (error) {
          failures.push(`${group.id} ${id} rep ${rep}: ${error.message}`);
          log(`FAILED ${group.id} ${id}: ${error.message}`);
        }
        log(
          `${rep === 0 ? 'warm-up' : `rep ${rep}/${REPS}`} ${group.id.padEnd(13)} ${labels[id].padEnd(17)} ${((performance.now() - t) / 1000).toFixed(1)} s`,
        );
      }
    }
  }
  const { text, rows } = formatGroups(groups, samples, labels);
  let telemetry = { text: '', rows: [], samples: {}, failures: [] };
  if (withTelemetry) {
    telemetry = await telemetrySuite({ quick, log });
    failures.push(...telemetry.failures);
  }
  let tasks = '';
  if (!only || only.includes('tasks')) tasks = await tasksFigures(servers.trellis.http.script, failures);
  let fleet = '';
  if (!baselineBundle && (!only || only.includes('fleet')))
    fleet = await fleetSuite({ quick, reps: REPS, log }).then(
      (r) => r.text,
      (error) => {
        failures.push(`fleet: ${error.message}`);
        return '';
      },
    );
  let micro = '';
  if (!argv.includes('--no-micro')) micro = await concurrencyMicro();
  const minutes = ((performance.now() - started) / 60_000).toFixed(1);
  const os = await import('node:os');
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  const head = `Node ${process.version}, ${process.platform}/${process.arch}, ${os.cpus().length} cores, load average at the end ${load} (other processes share these cores: compare ratios, not absolutes); ${quick ? 'QUICK pass' : 'full run'}: 1 warm-up + ${REPS} counted repetitions, medians; ratio = Trellis ÷ baseline${baselineBundle ? ` (Trellis @ ${baselineLabel ?? 'baseline'} = ${baselineBundle})` : ''}; ${minutes} min; ${new Date().toISOString().slice(0, 16)}Z\n`;
  const report = `${head}\n${text}\n${telemetry.text ? `${telemetry.text}\n` : ''}${tasks}${fleet}${micro}${failures.length ? `\nFailures:\n${failures.map((f) => `- ${f}`).join('\n')}\n` : ''}`;
  process.stdout.write(`\n${report}`);
  const outDir = join(root, 'results');
  mkdirSync(outDir, { recursive: true });
  // A comparison with another commit's bundle is kept apart from the latest full run.
  const name = baselineBundle ? 'baseline' : quick ? 'quick' : 'latest';
  writeFileSync(join(outDir, `${name}.md`), report);
  writeFileSync(
    join(outDir, `${name}.json`),
    `${JSON.stringify({ quick, node: process.version, reps: REPS, baselineBundle, rows, samples, telemetry: { rows: telemetry.rows, samples: telemetry.samples }, failures }, null, 2)}\n`,
  );
  if (telemetry.text)
    writeFileSync(join(outDir, quick ? 'telemetry-quick.md' : 'telemetry.md'), `${head}\n${telemetry.text}`);
  if (argv.includes('--readme')) writeReadme(report);
  if (failures.length) process.exitCode = 1;
}

/** The Tasks extension: a task round-trip beside the same tool inline, and heap per live task (1 warm-up + REPS). */
async function tasksFigures(script, failures) {
  const runs = [];
  for (let rep = 0; rep <= REPS; rep++) {
    const t = performance.now();
    try {
      const result = await tasksSuite(script, { quick: quick || rep === 0 });
      if (rep > 0) runs.push(result);
    } catch (error) {
      failures.push(`tasks rep ${rep}: ${error.message}`);
      log(`FAILED tasks: ${error.message}`);
    }
    log(
      `${rep === 0 ? 'warm-up' : `rep ${rep}/${REPS}`} tasks         Trellis           ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
  }
  if (runs.length === 0) return '#### Tasks extension\n\nnot measured (see failures)\n\n';
  const m = (key) => median(runs.map((r) => r[key]));
  const lines = [
    [
      'inline call (`job`, client without the extension), p50 / p99',
      `${m('tasks.inline.p50Ms').toFixed(2)} / ${m('tasks.inline.p99Ms').toFixed(2)} ms`,
    ],
    [
      'task round-trip (tools/call → task → tasks/get until completed), p50 / p99',
      `${m('tasks.roundtrip.p50Ms').toFixed(2)} / ${m('tasks.roundtrip.p99Ms').toFixed(2)} ms`,
    ],
    ['round-trip ÷ inline (p50)', `${(m('tasks.roundtrip.p50Ms') / m('tasks.inline.p50Ms')).toFixed(2)}×`],
    ['tasks/get polls per task (back to back)', m('tasks.pollsPerTask').toFixed(2)],
    [
      `heap per live task (${m('tasks.live.count')} running \`sleep_task\`, after GC)`,
      `${m('tasks.live.heapKiB').toFixed(1)} KiB`,
    ],
    ['RSS per live task', `${m('tasks.live.rssKiB').toFixed(1)} KiB`],
  ];
  return `#### Tasks extension (Trellis only: the SDK's servers do not implement it; HTTP 2026-07-28, one client, sequential; medians of ${runs.length} runs)\n\n${markdown(['figure', 'Trellis'], lines)}\n`;
}

/** The concurrency primitives' micro-benchmarks (packages/concurrency/bench, against its built dist/). */
async function concurrencyMicro() {
  const file = join(root, '..', 'packages', 'concurrency', 'bench', 'primitives.bench.mjs');
  try {
    const { runPrimitivesBench } = await import(file);
    const rows = await runPrimitivesBench({ tasks: quick ? 20_000 : 100_000, reps: REPS, print: false });
    const lines = rows.map((r) => [
      r.comparison,
      r.ours,
      r.oursMs.toFixed(1),
      r.baseline,
      r.baselineMs.toFixed(1),
      `${r.ratio.toFixed(2)}×`,
    ]);
    return `#### @trellis/concurrency primitives (in-process, 1 warm-up + ${REPS} reps, medians; ratio below 1 = ours faster)\n\n${markdown(['comparison', 'ours', 'ms', 'baseline', 'ms', 'ours ÷ baseline'], lines)}`;
  } catch (error) {
    return `#### @trellis/concurrency primitives\n\nnot run: ${error.message} (build packages/concurrency first)\n`;
  }
}

function writeReadme(report) {
  const file = join(root, 'README.md');
  const start = '<!-- bench:results:start -->';
  const end = '<!-- bench:results:end -->';
  const readme = readFileSync(file, 'utf8');
  const a = readme.indexOf(start);
  const b = readme.indexOf(end);
  if (a === -1 || b === -1) return log('README.md has no results markers; not updated');
  writeFileSync(file, `${readme.slice(0, a + start.length)}\n${report}\n${readme.slice(b)}`);
  log('README.md updated');
}

main()
  .catch((error) => {
    log(error.stack ?? String(error));
    process.exitCode = 1;
  })
  .finally(killAll);
