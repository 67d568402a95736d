// Benchmark (not a test): the Semaphore against p-limit and the TaskGroup against Promise.all,
// in the same run, interleaved: 1 warm-up + `reps` counted repetitions, medians and ratios.
// Reads the built package (dist/), so `pnpm run bench` builds first.
//
//   pnpm --filter @trellis/concurrency run bench
//   import { runPrimitivesBench } from '.../bench/primitives.bench.mjs'  (a bench runner)
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import pLimit from 'p-limit';
import { Semaphore, TaskGroup } from '../dist/index.js';

const tiny = (i) => Promise.resolve(i);

function comparisons(tasks, limit) {
  return [
    {
      name: `${tasks} tiny tasks, limit ${limit}`,
      ours: [
        'Semaphore.run',
        async () => {
          const sem = new Semaphore(limit);
          const runs = [];
          for (let i = 0; i < tasks; i++) runs.push(sem.run(() => tiny(i)));
          return (await Promise.all(runs)).length;
        },
      ],
      baseline: [
        'p-limit',
        async () => {
          const limited = pLimit(limit);
          const runs = [];
          for (let i = 0; i < tasks; i++) runs.push(limited(() => tiny(i)));
          return (await Promise.all(runs)).length;
        },
      ],
    },
    {
      name: `${tasks} tiny tasks, unlimited fan-out`,
      ours: [
        'TaskGroup',
        async () => {
          const group = new TaskGroup();
          for (let i = 0; i < tasks; i++) group.spawn(() => tiny(i));
          return (await group.wait()).length;
        },
      ],
      baseline: [
        'Promise.all',
        async () => {
          const runs = [];
          for (let i = 0; i < tasks; i++) runs.push(tiny(i));
          return (await Promise.all(runs)).length;
        },
      ],
    },
  ];
}

async function time(fn, expected) {
  globalThis.gc?.();
  const start = performance.now();
  const count = await fn();
  const ms = performance.now() - start;
  if (count !== expected) throw new Error(`benchmark case returned ${count} results, expected ${expected}`);
  return ms;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Runs the comparisons and returns one row per comparison:
 * `{ comparison, ours, baseline, oursMs, baselineMs, ratio }` (medians; ratio = ours / baseline,
 * below 1 means ours is faster). Prints a table unless `print` is false.
 */
export async function runPrimitivesBench({ tasks = 100_000, limit = 16, reps = 3, print = true } = {}) {
  const cases = comparisons(tasks, limit);
  const samples = cases.map(() => ({ ours: [], baseline: [] }));
  for (let rep = 0; rep <= reps; rep++) {
    for (const [i, c] of cases.entries()) {
      // Alternate which side goes first, so neither always runs on a warmer heap.
      const order = rep % 2 === 0 ? ['ours', 'baseline'] : ['baseline', 'ours'];
      for (const side of order) {
        const ms = await time(c[side][1], tasks);
        if (rep > 0) samples[i][side].push(ms); // rep 0 is the warm-up
      }
    }
  }
  const rows = cases.map((c, i) => {
    const oursMs = median(samples[i].ours);
    const baselineMs = median(samples[i].baseline);
    return {
      comparison: c.name,
      ours: c.ours[0],
      baseline: c.baseline[0],
      oursMs,
      baselineMs,
      ratio: oursMs / baselineMs,
    };
  });
  if (print) process.stdout.write(formatTable(rows, reps));
  return rows;
}

function formatTable(rows, reps) {
  const header = ['comparison', 'ours', 'median ms', 'baseline', 'median ms', 'ours/baseline'];
  const lines = rows.map((r) => [
    r.comparison,
    r.ours,
    r.oursMs.toFixed(1),
    r.baseline,
    r.baselineMs.toFixed(1),
    `${r.ratio.toFixed(2)}x`,
  ]);
  const widths = header.map((h, col) => Math.max(h.length, ...lines.map((l) => l[col].length)));
  const format = (cells) => `| ${cells.map((cell, col) => cell.padEnd(widths[col])).join(' | ')} |\n`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n`;
  return `\n@trellis/concurrency primitives (Node ${process.version}, 1 warm-up + ${reps} reps, medians)\n\n${format(header)}${rule}${lines.map(format).join('')}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runPrimitivesBench();
}
