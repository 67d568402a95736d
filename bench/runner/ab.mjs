#!/usr/bin/env node
// Quick attribution A/B on the older-protocol HTTP path: two bundles (this one and --baseline-bundle) started
// once each and kept running, then alternated round by round (A B A B …) on the same loads, server CPU per call
// read from /proc. Warm processes and short rounds make it fast and steady enough to tell which change moved
// CPU per call; the figures of record still come from `main.mjs --baseline-bundle` (fresh processes).
//   node runner/ab.mjs --baseline-bundle <dir> [--rounds 7] [--calls 2000] [--clients 1,32] [--era legacy|modern]
//   node runner/ab.mjs --baseline-bundle <dir> --transport stdio     (sequential and 64 pipelined calls)
//   node runner/ab.mjs --baseline-bundle <dir> --receiver --env METRICS=on,OTEL_EXPORTER_OTLP_ENDPOINT=RECEIVER
//     (--receiver: a local OTLP/HTTP receiver in this process; RECEIVER in --env / --base-env values is its URL)
//   --prof <dir>: a V8 CPU profile of each server; --node-args <a,b>: more node flags for both (e.g. --perf-basic-prof)
import { readdirSync, readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { openClient, timedLoop } from './http.mjs';
import { checkToolResult, echoParams } from './protocol.mjs';
import { open as openStdio, pipelined, sequential } from './stdio.mjs';
import { killAll, spawnServer } from './procs.mjs';
import { targets } from './targets.mjs';
import { envOption, startReceiver } from './telemetry.mjs';

const argv = process.argv.slice(2);
const option = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const baselineBundle = option('--baseline-bundle');
if (!baselineBundle) throw new Error('--baseline-bundle <dir> is required');
const rounds = Number(option('--rounds', 7));
const calls = Number(option('--calls', 2000));
const clientCounts = option('--clients', '1,32').split(',').map(Number);
const era = option('--era', 'legacy');
const transport = option('--transport', 'http');
/** --stdio seq,pipe: which stdio loads run (both by default). */
const stdioModes = option('--stdio', 'seq,pipe').split(',');
/** --env K=V,K2=V2 / --base-env K=V: extra environment for this bundle / the baseline (e.g. to A/B a switch). */
const receiver = argv.includes('--receiver') ? await startReceiver() : undefined;
/** --node-args a,b: extra node flags for both servers (e.g. --perf-basic-prof for `perf record`). */
const extraNodeArgs = option('--node-args', '').split(',').filter(Boolean);
const extraEnv = { trellis: envOption(option('--env'), receiver), base: envOption(option('--base-env'), receiver) };

/**
 * CPU time of every thread of the server so far, in µs, from /proc/<pid>/task/<tid>/schedstat (nanoseconds on
 * CPU), so that a short round is not rounded to /proc/<pid>/stat's 10 ms ticks; those ticks where schedstat is missing.
 */
function cpuMicrosOf(server) {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${server.pid}/task`))
      ns += Number(readFileSync(`/proc/${server.pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    return ns / 1000;
  } catch {
    return server.cpuMicros();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** stdio: both servers started once, then per round sequential and 64-pipelined echo on each, alternated. */
async function mainStdio() {
  const all = targets({ baselineBundle });
  const servers = [];
  const prof = option('--prof');
  for (const id of ['trellis', 'base']) {
    const target = all[id].stdio;
    const nodeArgs = [
      ...(prof ? ['--cpu-prof', '--cpu-prof-interval=100', `--cpu-prof-dir=${prof}/${id}`] : []),
      ...extraNodeArgs,
    ];
    const { server, client } = await openStdio(
      { ...target, nodeArgs: [...(target.nodeArgs ?? []), ...nodeArgs], env: { ...target.env, ...extraEnv[id] } },
      era,
    );
    servers.push({ id, server, client, seq: [], pipe: [] });
  }
  for (let round = -1; round < rounds; round++) {
    const order = round % 2 === 0 ? servers : [...servers].reverse();
    for (const s of order) {
      let cpu0 = cpuMicrosOf(s.server);
      if (stdioModes.includes('seq')) {
        const seq = await sequential(s.client, era, { count: calls, ms: 30_000 });
        if (round >= 0) s.seq.push((cpuMicrosOf(s.server) - cpu0) / seq.calls);
      }
      if (stdioModes.includes('pipe')) {
        cpu0 = cpuMicrosOf(s.server);
        const pipe = await pipelined(
          (i) => s.client.request('tools/call', echoParams(era, `p${i}`)).then((m) => checkToolResult(m, `p${i}`)),
          { depth: 64, count: calls * 8, ms: 30_000 },
        );
        if (round >= 0) s.pipe.push((cpuMicrosOf(s.server) - cpu0) / pipe.calls);
      }
    }
  }
  const [a, b] = servers;
  for (const key of stdioModes) {
    const ma = median(a[key]);
    const mb = median(b[key]);
    process.stdout.write(
      `stdio ${era} ${key === 'seq' ? 'sequential' : '64 pipelined'}: CPU/call ${ma.toFixed(1)} vs ${mb.toFixed(1)} µs = ${(ma / mb).toFixed(3)}×  ` +
        `[${a[key].map((x) => x.toFixed(1)).join(' ')}] vs [${b[key].map((x) => x.toFixed(1)).join(' ')}]\n`,
    );
  }
  for (const s of servers) await s.server.stop();
}

async function main() {
  if (transport === 'stdio') return mainStdio();
  const all = targets({ baselineBundle });
  const servers = [];
  for (const id of ['trellis', 'base']) {
    const target = all[id].http;
    // --prof <dir>: a CPU profile of each server (100 µs samples) in <dir>/<id>/, for runner/profile.mjs's summary.
    const prof = option('--prof');
    const nodeArgs = [
      ...(prof ? ['--cpu-prof', '--cpu-prof-interval=100', `--cpu-prof-dir=${prof}/${id}`] : []),
      ...extraNodeArgs,
    ];
    const server = spawnServer({
      ...target,
      nodeArgs: [...(target.nodeArgs ?? []), ...nodeArgs],
      env: { ...target.env, ...extraEnv[id] },
    });
    const url = await server.waitUrl();
    const groups = {};
    for (const n of clientCounts) {
      const agent = new Agent({ keepAlive: true, maxSockets: n });
      groups[n] = await Promise.all(Array.from({ length: n }, () => openClient(agent, url, era)));
    }
    servers.push({ id, server, groups, samples: Object.fromEntries(clientCounts.map((n) => [n, []])) });
  }
  for (let round = -1; round < rounds; round++) {
    for (const n of clientCounts) {
      // Alternate which server goes first each round.
      const order = round % 2 === 0 ? servers : [...servers].reverse();
      for (const s of order) {
        const cpu0 = cpuMicrosOf(s.server);
        const loop = await timedLoop(s.groups[n], era, { count: n === 1 ? calls : calls * 8, ms: 30_000 });
        const perCall = (cpuMicrosOf(s.server) - cpu0) / loop.calls;
        if (round >= 0) s.samples[n].push(perCall);
      }
    }
  }
  const [a, b] = servers;
  for (const n of clientCounts) {
    const ma = median(a.samples[n]);
    const mb = median(b.samples[n]);
    process.stdout.write(
      `${era} ${n} client(s): CPU/call ${ma.toFixed(1)} vs ${mb.toFixed(1)} µs = ${(ma / mb).toFixed(3)}×  ` +
        `[${a.samples[n].map((x) => x.toFixed(0)).join(' ')}] vs [${b.samples[n].map((x) => x.toFixed(0)).join(' ')}]\n`,
    );
  }
  for (const s of servers) await s.server.stop(0);
}

main()
  .catch((error) => {
    process.stderr.write(`${error.stack}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    killAll();
    if (receiver) {
      process.stdout.write(
        `receiver: ${receiver.received.traces} trace and ${receiver.received.metrics} metric exports, ${(receiver.received.bytes / 1048576).toFixed(1)} MiB\n`,
      );
      return receiver.close();
    }
  });
