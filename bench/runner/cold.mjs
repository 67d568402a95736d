#!/usr/bin/env node
// Cold start alone, interleaved: each round spawns every server once per era (A B C, A B C …) the way a client
// starts a stdio server (`node <script>`, no V8 flags) and times spawn → initialize / server/discover and
// spawn → first tools/list; medians over the rounds, and each Trellis figure as a ratio of the faster
// eligible SDK (older protocol: v1 and v2; 2026-07-28: v2) and of the baseline bundle. Wall time moves with
// the machine's load; the server's CPU time up to the first tools/list answer (all its threads, from
// /proc/<pid>/task/*/schedstat) moves much less, so it is printed beside it.
// `--client sdk-v1`: the official SDK v1 client spawns each server instead (`StdioClientTransport`) and the
// figures are connect() resolved (= initialize answered) and its first listTools(); older protocol only.
// `--prof <dir>`: then one more start of each server and era under `node --cpu-prof` (a Node flag, not a V8 one:
// the code cache still holds), summarised like runner/profile.mjs (self time per package and function).
//   node runner/cold.mjs [--rounds 10] [--servers trellis,v1,v2s] [--baseline-bundle <dir>] [--node-args "--x"]
//                        [--client raw|sdk-v1] [--prof <dir>] [--receiver] [--env K=V,K2=V2]
// `--env`: more environment for Trellis (this bundle and the baseline bundle), e.g. telemetry on:
// `--receiver --env METRICS=on,OTEL_EXPORTER_OTLP_ENDPOINT=RECEIVER` (RECEIVER: a local OTLP receiver's URL).
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { open } from './stdio.mjs';
import { killAll } from './procs.mjs';
import { summarise } from './profile.mjs';
import { percentile } from './protocol.mjs';
import { targets } from './targets.mjs';
import { envOption, startReceiver } from './telemetry.mjs';

const argv = process.argv.slice(2);
const option = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const rounds = Number(option('--rounds', 10));
const servers = option('--servers', 'trellis,v1,v2s').split(',');
const nodeArgs = option('--node-args', '').split(' ').filter(Boolean);
const baselineBundle = option('--baseline-bundle');
const receiver = argv.includes('--receiver') ? await startReceiver() : undefined;
const trellisEnv = envOption(option('--env'), receiver);
/** The servers, with `--env` given to Trellis's. */
function targetsWith(options) {
  const found = targets(options);
  for (const id of ['trellis', 'base']) if (found[id]) found[id].stdio.env = { ...found[id].stdio.env, ...trellisEnv };
  return found;
}
const all = targetsWith({ nodeArgs, baselineBundle, baselineLabel: option('--baseline-label') });
const profileDir = option('--prof');
const sdkClient = option('--client', 'raw') === 'sdk-v1';
const SDKS = ['v1', 'v2s'];
const runs = [];
for (const id of servers)
  for (const era of sdkClient ? ['legacy'] : ['legacy', 'modern'])
    if (all[id]?.stdio && !(era === 'modern' && id === 'v1')) runs.push({ id, era, handshake: [], list: [], cpu: [] });

/** The SDK v1 client's way: it spawns the server; connect() resolves once initialize is answered. */
async function openWithSdkClient({ script, args = [], nodeArgs: flags = [], env = {} }) {
  const t0 = performance.now();
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [...flags, script, ...args],
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'error', ...env },
    stderr: 'ignore',
  });
  const client = new Client({ name: 'trellis-bench', version: '0.0.0' });
  await client.connect(transport);
  const handshakeMs = performance.now() - t0;
  if ((await client.listTools()).tools.length === 0) throw new Error(`${script}: no tools listed`);
  const coldStartMs = performance.now() - t0;
  const pid = transport.pid;
  return { pid, handshakeMs, coldStartMs, stop: () => client.close() };
}

async function openOnce(target, era) {
  if (sdkClient) return openWithSdkClient(target);
  const { server, handshakeMs, coldStartMs } = await open(target, era);
  return { pid: server.pid, handshakeMs, coldStartMs, stop: () => server.stop() };
}

/** CPU time (ms) of every thread of a live process so far. */
function cpuMs(pid) {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`))
    ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
  return ns / 1e6;
}

const load = () =>
  loadavg()
    .map((value) => value.toFixed(1))
    .join(' ');

async function main() {
  const loadBefore = load();
  for (let round = -1; round < rounds; round++) {
    for (const run of runs) {
      const { pid, handshakeMs, coldStartMs, stop } = await openOnce(all[run.id].stdio, run.era);
      const cpu = cpuMs(pid);
      await stop();
      if (round < 0) continue;
      run.handshake.push(handshakeMs);
      run.list.push(coldStartMs);
      run.cpu.push(cpu);
    }
  }
  const median = (values) => percentile(values, 50);
  const figures = [
    ['handshake', (era) => (era === 'legacy' ? 'spawn → initialize' : 'spawn → discover  ')],
    ['list', () => 'spawn → tools/list'],
    ['cpu', () => 'CPU to tools/list'],
  ];
  process.stdout.write(
    `${rounds} rounds, ${sdkClient ? 'SDK v1 client' : 'raw JSON-RPC'}, load average ${loadBefore} → ${load()}\n`,
  );
  for (const run of runs) {
    const cells = figures.map(([key, label]) => `${label(run.era)} ${median(run[key]).toFixed(0).padStart(4)} ms`);
    process.stdout.write(`${all[run.id].label.padEnd(22)} ${run.era.padEnd(7)} ${cells.join('   ')}\n`);
  }
  for (const run of runs.filter((r) => r.id === 'trellis')) {
    const others = runs.filter((r) => r.era === run.era && r !== run);
    const sdks = others.filter((r) => SDKS.includes(r.id));
    const ratio = (key, against) =>
      against.length === 0 ? '' : (median(run[key]) / Math.min(...against.map((r) => median(r[key])))).toFixed(2) + '×';
    for (const [key, label] of figures) {
      if (sdks.length === 0 && !others.some((r) => r.id === 'base')) continue;
      const base = others.filter((r) => r.id === 'base');
      process.stdout.write(
        `Trellis ${run.era.padEnd(7)} ${label(run.era)}: ${ratio(key, sdks)} of the faster SDK` +
          (base.length > 0 ? `, ${ratio(key, base)} of ${all.base.label}` : '') +
          '\n',
      );
    }
  }
}

/** One start of each server and era under --cpu-prof, each profile summarised. */
async function profiles() {
  for (const run of runs) {
    const dir = join(profileDir, `${run.id}-${run.era}`);
    rmSync(dir, { recursive: true, force: true });
    const target = targetsWith({ nodeArgs: [...nodeArgs, '--cpu-prof', `--cpu-prof-dir=${dir}`], baselineBundle })[
      run.id
    ];
    const { stop } = await openOnce(target.stdio, run.era);
    await stop();
    const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
    const { text } = summarise(join(dir, file), target.stdio.script);
    process.stdout.write(`\n### ${target.label}, ${run.era}: ${join(dir, file)}\n\n${text}\n`);
  }
}

main()
  .then(() => (profileDir ? profiles() : undefined))
  .catch((error) => {
    process.stderr.write(`${error.stack}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    killAll();
    return receiver?.close();
  });
