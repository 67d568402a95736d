// Telemetry off against on (issue 17), in the same run: the same Trellis bundle, interleaved
// (off on, off on …), 1 warm-up + 5 counted repetitions, medians. "On" = METRICS=on plus OTLP/HTTP
// traces and metrics sent to a local receiver in this process (so the exporters really work).
// The figure that must hold: server CPU per call with telemetry on at most 10% above off.
import { createServer } from 'node:http';
import { loadavg } from 'node:os';
import { httpThroughput } from './http.mjs';
import { stdioSuite } from './stdio.mjs';
import { markdown, median } from './table.mjs';
import { targets } from './targets.mjs';

export const TELEMETRY_REPS = 5;
const CPU_BUDGET = 1.1;

const SIZES = {
  full: {
    coldStarts: 3,
    stdioSequential: { count: 5_000, ms: 2_000 },
    stdioPipelined: { count: 30_000, ms: 2_000 },
    httpSequential: { count: 5_000, ms: 2_000 },
    http32: { count: 1_000_000, ms: 3_000 },
  },
  quick: {
    coldStarts: 1,
    stdioSequential: { count: 1_000, ms: 400 },
    stdioPipelined: { count: 5_000, ms: 400 },
    httpSequential: { count: 1_000, ms: 400 },
    http32: { count: 100_000, ms: 800 },
  },
};

const RUNS = [
  { id: 'stdio-modern', title: 'stdio, 2026-07-28', transport: 'stdio', era: 'modern' },
  { id: 'stdio-legacy', title: 'stdio, older protocol', transport: 'stdio', era: 'legacy' },
  { id: 'http-modern', title: 'HTTP, 2026-07-28', transport: 'http', era: 'modern' },
  { id: 'http-legacy', title: 'HTTP, older protocol (sessions)', transport: 'http', era: 'legacy' },
];

const FIGURES = [
  { key: 'stdio.coldStartMs', label: 'cold start (spawn → tools/list)', unit: 'ms' },
  { key: 'stdio.seq.cpuUsPerCall', label: 'server CPU per sequential call', unit: 'µs', budget: true },
  { key: 'stdio.pipe64.cpuUsPerCall', label: 'server CPU per pipelined call (64 in flight)', unit: 'µs', budget: true },
  { key: 'stdio.seq.callsPerSec', label: 'sequential echo', unit: 'calls/s' },
  { key: 'stdio.pipe64.callsPerSec', label: '64 in flight echo', unit: 'calls/s' },
  { key: 'http.seq.cpuUsPerCall', label: 'server CPU per call (one client)', unit: 'µs', budget: true },
  { key: 'http.c32.cpuUsPerCall', label: 'server CPU per call (32 clients)', unit: 'µs', budget: true },
  { key: 'http.seq.callsPerSec', label: 'one client sequential echo', unit: 'calls/s' },
  { key: 'http.c32.callsPerSec', label: '32 clients echo', unit: 'calls/s' },
];

/** A local OTLP/HTTP receiver: counts what the exporters send and answers 200. */
export async function startReceiver() {
  const received = { traces: 0, metrics: 0, bytes: 0 };
  const server = createServer((req, res) => {
    req.on('data', (chunk) => (received.bytes += chunk.length));
    req.on('end', () => {
      if (req.url === '/v1/traces') received.traces++;
      else if (req.url === '/v1/metrics') received.metrics++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    received,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/**
 * `--env K=V,K2=V2` of the profiling tools as an environment object; with a receiver, RECEIVER in a value is its URL
 * (e.g. OTEL_EXPORTER_OTLP_ENDPOINT=RECEIVER).
 */
export function envOption(text, receiver) {
  return Object.fromEntries(
    (text ? text.split(',') : []).map((kv) => {
      const [key, value] = kv.split('=');
      return [key, receiver ? value.replace('RECEIVER', receiver.url) : value];
    }),
  );
}

function fmt(value, unit) {
  if (!Number.isFinite(value)) return '–';
  if (unit === 'calls/s') return Math.round(value).toLocaleString('en-US');
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

/**
 * Runs every transport and era with telemetry off and on; returns the Markdown section and the samples.
 * `only` limits the runs (ids as in RUNS).
 */
export async function telemetrySuite({ quick = false, only, log = () => undefined } = {}) {
  const receiver = await startReceiver();
  const trellis = targets().trellis;
  const modes = {
    off: {},
    on: { METRICS: 'on', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_METRIC_EXPORT_INTERVAL: '5s' },
    // Not the headline: what an operator gets with the standard sampler at 10% (parent-based: a sampled caller's trace is kept).
    sampled: {
      METRICS: 'on',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_METRIC_EXPORT_INTERVAL: '5s',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
    },
  };
  const runs = RUNS.filter((r) => !only || only.includes(r.id) || only.includes('telemetry'));
  const samples = {};
  const failures = [];
  try {
    for (let rep = 0; rep <= TELEMETRY_REPS; rep++) {
      const size = rep === 0 || quick ? SIZES.quick : SIZES.full;
      for (const run of runs) {
        for (const [mode, env] of Object.entries(modes)) {
          const base = trellis[run.transport];
          const target = { ...base, env: { ...base.env, ...env } };
          try {
            const result =
              run.transport === 'stdio'
                ? await stdioSuite(target, run.era, size)
                : await httpThroughput(target, run.era, size);
            if (rep > 0) {
              const bucket = ((samples[run.id] ??= {})[mode] ??= {});
              for (const [key, value] of Object.entries(result)) (bucket[key] ??= []).push(value);
            }
          } catch (error) {
            failures.push(`telemetry ${run.id} ${mode} rep ${rep}: ${error.message}`);
          }
          log(`${rep === 0 ? 'warm-up' : `rep ${rep}/${TELEMETRY_REPS}`} telemetry ${run.id.padEnd(13)} ${mode}`);
        }
      }
    }
  } finally {
    await receiver.close();
  }
  if (receiver.received.traces === 0)
    failures.push('telemetry on: the OTLP receiver got no traces (the exporter did not run)');

  const sections = [];
  const rows = [];
  for (const run of runs) {
    const data = samples[run.id];
    if (!data) continue;
    const lines = FIGURES.filter((f) => f.key.startsWith(`${run.transport}.`) && data.off?.[f.key]).map((f) => {
      const off = median(data.off[f.key]);
      const on = median(data.on?.[f.key] ?? []);
      const sampled = median(data.sampled?.[f.key] ?? []);
      const ratio = on / off;
      rows.push({ group: run.id, figure: f.key, off, on, sampled });
      const check =
        f.budget && Number.isFinite(ratio)
          ? ratio <= CPU_BUDGET
            ? `✓ ≤ ${CPU_BUDGET}×`
            : `✗ ${ratio.toFixed(2)}× > ${CPU_BUDGET}×`
          : '';
      return [
        `${f.label} (${f.unit})`,
        fmt(off, f.unit),
        fmt(on, f.unit),
        Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : '–',
        check,
        fmt(sampled, f.unit),
        Number.isFinite(sampled / off) ? `${(sampled / off).toFixed(2)}×` : '–',
      ];
    });
    sections.push(
      `##### ${run.title}\n\n${markdown(['figure', 'telemetry off', 'on', 'on ÷ off', 'target', 'on, 10% sampled', 'sampled ÷ off'], lines)}`,
    );
  }
  const head =
    `#### Telemetry off and on (${quick ? 'QUICK, ' : ''}1 warm-up + ${TELEMETRY_REPS} counted repetitions, interleaved, medians)\n\n` +
    `On: METRICS=on and OTLP/HTTP traces + metrics to a local receiver (${receiver.received.traces} trace and ${receiver.received.metrics} metric exports, ${(receiver.received.bytes / 1048576).toFixed(1)} MiB received). Target: server CPU per call on ≤ ${CPU_BUDGET}× off. "10% sampled" (not the target): the same plus OTEL_TRACES_SAMPLER=parentbased_traceidratio, OTEL_TRACES_SAMPLER_ARG=0.1. Load average at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}.\n\n`;
  return { text: `${head}${sections.join('\n')}`, rows, samples, failures };
}
