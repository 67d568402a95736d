#!/usr/bin/env node
// A fleet on PostgreSQL (issue 15): one instance without the fleet plugin, one with it (FLEET_DATABASE_URL),
// and three with it behind nginx round-robin (the shipped deploy/nginx/trellis-mcp.conf), all started by
// tools/fleet.mjs from the built apps/conformance bundle (it has both tools measured: `test_simple_text`, and
// `test_trigger_resource_update`, which announces an update of test://watched-resource).
// Figures per setup: calls/s of 32 concurrent 2026-07-28 clients, and the delay from a change to its
// notification on a `subscriptions/listen` stream (on another instance when there are several); then the
// older protocol (issue 16): calls/s of 32 concurrent sessions (their requests land on any instance), and the
// heap per open session, all instances together (after GC, through the BENCH_STATS side channel).
//   node runner/fleet.mjs [--quick] [--reps N]   → results/fleet.{md,json} (main.mjs runs it too: --only fleet)
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startFleet } from '../../tools/fleet.mjs';
import { openClient } from './http.mjs';
import { checkToolResult, ENVELOPE, MODERN_VERSION, params, percentile } from './protocol.mjs';
import { markdown, median } from './table.mjs';

const root = join(import.meta.dirname, '..');
const BUNDLE = join(root, '..', 'apps', 'conformance', 'dist', 'main.js');
const WATCHED = 'test://watched-resource';

/** The three setups; `listenOn`/`changeOn` pick the instances of the delay figure. */
const SETUPS = [
  { id: 'single', label: '1 instance, no fleet', options: { instances: 1, fleet: false, nginx: false } },
  { id: 'single-fleet', label: '1 instance, fleet', options: { instances: 1, nginx: false } },
  { id: 'three-nginx', label: '3 instances + nginx, fleet', options: { instances: 3 } },
];

const SIZES = {
  full: { calls: { count: 1_000_000, ms: 10_000 }, changes: 300, sessions: 1_000 },
  quick: { calls: { count: 100_000, ms: 1_500 }, changes: 60, sessions: 200 },
};

/** What the instances run with: the stats side channel, which the app bundle has not of its own. */
const STATS_ENV = {
  BENCH_STATS: '1',
  NODE_OPTIONS: `--expose-gc --import=${join(import.meta.dirname, 'stats-preload.mjs')}`,
};

/** Heap after GC and RSS of one instance (SIGUSR2 → its `BENCH_STATS` line on stderr). */
async function statsOf(app) {
  const lines = () => app.output().split('BENCH_STATS ');
  const before = lines().length;
  process.kill(app.pid, 'SIGUSR2');
  const until = Date.now() + 10_000;
  while (lines().length === before) {
    if (Date.now() > until) throw new Error(`no BENCH_STATS answer from ${app.url}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return JSON.parse(lines().at(-1).split('\n')[0]);
}

/** Heap (bytes, after GC) of every instance together. */
async function fleetHeap(fleet) {
  let heap = 0;
  for (const app of fleet.instances) heap += (await statsOf(app)).heapUsed;
  return heap;
}

const simpleText = (era) => (client) =>
  client
    .call('tools/call', params(era, { name: 'test_simple_text', arguments: {} }), 'test_simple_text')
    .then((m) => checkToolResult(m));

/**
 * Heap per older-protocol session: `count` sessions opened through `fleet.url` (initialize, initialized, one
 * call each: through nginx these land on several instances, each holding its copy), all instances together.
 */
async function heapPerSession(fleet, count) {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  try {
    const before = await fleetHeap(fleet);
    let opened = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (opened < count) {
          opened += 1;
          await simpleText('legacy')(await openClient(agent, fleet.url, 'legacy'));
        }
      }),
    );
    return ((await fleetHeap(fleet)) - before) / count;
  } finally {
    agent.destroy();
  }
}

/** 32 concurrent clients (2026-07-28, or older-protocol sessions) calling `test_simple_text` on `url` for a bounded time. */
async function callsPerSecond(url, { count, ms }, era = 'modern') {
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  try {
    const clients = await Promise.all(Array.from({ length: 32 }, () => openClient(agent, url, era)));
    const call = simpleText(era);
    await Promise.all(clients.map(call)); // warm every connection
    let sent = 0;
    let done = 0;
    const start = performance.now();
    const until = start + ms;
    await Promise.all(
      clients.map(async (client) => {
        while (sent < count && performance.now() < until) {
          sent += 1;
          await call(client);
          done += 1;
        }
      }),
    );
    return (done / (performance.now() - start)) * 1000;
  } finally {
    agent.destroy();
  }
}

/**
 * A raw `subscriptions/listen` stream on `url` for updates of WATCHED: resolves once the server has
 * acknowledged it; `next()` resolves at the arrival (performance.now()) of the next update.
 */
function listen(url) {
  const waiters = [];
  const arrivals = [];
  let acknowledged;
  const ready = new Promise((resolve, reject) => (acknowledged = { resolve, reject }));
  const payload = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'subscriptions/listen',
    params: { notifications: { resourceSubscriptions: [WATCHED] }, _meta: ENVELOPE },
  });
  const req = request(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': MODERN_VERSION,
      'mcp-method': 'subscriptions/listen',
      'content-length': Buffer.byteLength(payload),
    },
  });
  req.on('response', (res) => {
    if (res.statusCode !== 200) acknowledged.reject(new Error(`subscriptions/listen: HTTP ${res.statusCode}`));
    res.setEncoding('utf8');
    let buffer = '';
    res.on('data', (chunk) => {
      const at = performance.now();
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = event
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).trim())
          .join('');
        if (!data) continue;
        const message = JSON.parse(data);
        if (message.method === 'notifications/subscriptions/acknowledged') acknowledged.resolve();
        if (message.method === 'notifications/resources/updated' && message.params?.uri === WATCHED) {
          const waiter = waiters.shift();
          if (waiter) waiter(at);
          else arrivals.push(at);
        }
      }
    });
  });
  req.on('error', (error) => acknowledged.reject(error));
  req.end(payload);
  return {
    ready,
    next: (timeoutMs = 10_000) =>
      arrivals.length > 0
        ? Promise.resolve(arrivals.shift())
        : new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`no update within ${timeoutMs} ms`)), timeoutMs);
            waiters.push((at) => {
              clearTimeout(timer);
              resolve(at);
            });
          }),
    close: () => req.destroy(),
  };
}

/** Delay (ms) from sending each change on `changeUrl` to its notification on a listener on `listenUrl`, one at a time. */
async function changeDelays(listenUrl, changeUrl, changes) {
  const listener = listen(listenUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await listener.ready;
    const client = await openClient(agent, changeUrl, 'modern');
    const change = () =>
      client
        .call(
          'tools/call',
          params('modern', { name: 'test_trigger_resource_update', arguments: {} }),
          'test_trigger_resource_update',
        )
        .then((m) => checkToolResult(m));
    const delays = [];
    for (let i = 0; i < changes + 5; i += 1) {
      const sent = performance.now();
      const [arrived] = await Promise.all([listener.next(), change()]);
      if (i >= 5) delays.push(arrived - sent); // the first few warm the paths
    }
    return { p50: percentile(delays, 50), p99: percentile(delays, 99) };
  } finally {
    listener.close();
    agent.destroy();
  }
}

/** One run of every setup: a fresh fleet each (own PostgreSQL, instances, nginx), stopped afterwards. */
async function runOnce(size, log) {
  const out = {};
  for (const setup of SETUPS) {
    const t = performance.now();
    const fleet = await startFleet({ bundle: BUNDLE, env: { LOG_LEVEL: 'error', ...STATS_ENV }, ...setup.options });
    try {
      const [first, second = first] = fleet.instances;
      const delays = await changeDelays(first.url, second.url, size.changes);
      out[setup.id] = {
        callsPerSec: await callsPerSecond(fleet.url, size.calls),
        delayP50Ms: delays.p50,
        delayP99Ms: delays.p99,
        legacyCallsPerSec: await callsPerSecond(fleet.url, size.calls, 'legacy'),
        sessionHeapKiB: (await heapPerSession(fleet, size.sessions)) / 1024,
      };
    } finally {
      await fleet.stop();
    }
    log(`${setup.label.padEnd(28)} ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  return out;
}

/**
 * 1 warm-up (quick sizes) + `reps` counted runs, interleaved by setup; medians. Returns the markdown
 * section and the samples.
 */
export async function fleetSuite({ quick = false, reps = 3, log = () => {} } = {}) {
  const samples = {};
  for (let rep = 0; rep <= reps; rep += 1) {
    log(`fleet ${rep === 0 ? 'warm-up' : `rep ${rep}/${reps}`}`);
    const run = await runOnce(rep === 0 || quick ? SIZES.quick : SIZES.full, log);
    if (rep === 0) continue;
    for (const [id, figures] of Object.entries(run))
      for (const [key, value] of Object.entries(figures)) ((samples[id] ??= {})[key] ??= []).push(value);
  }
  const m = (id, key) => median(samples[id][key]);
  const base = m('single', 'callsPerSec');
  const rows = SETUPS.map((s) => [
    s.label,
    m(s.id, 'callsPerSec').toFixed(0),
    `${(m(s.id, 'callsPerSec') / base).toFixed(2)}×`,
    `${m(s.id, 'delayP50Ms').toFixed(2)} / ${m(s.id, 'delayP99Ms').toFixed(2)} ms`,
  ]);
  const legacyBase = m('single', 'legacyCallsPerSec');
  const legacyRows = SETUPS.map((s) => [
    s.label,
    m(s.id, 'legacyCallsPerSec').toFixed(0),
    `${(m(s.id, 'legacyCallsPerSec') / legacyBase).toFixed(2)}×`,
    m(s.id, 'sessionHeapKiB').toFixed(1),
  ]);
  const text = `#### A fleet on PostgreSQL (apps/conformance bundle, HTTP 2026-07-28; medians of ${reps} runs)\n\ncalls/s: 32 concurrent clients calling \`test_simple_text\` (through nginx for three instances); change → notification: \`test_trigger_resource_update\` sent, one at a time, until the \`notifications/resources/updated\` arrives on a \`subscriptions/listen\` stream — on the same instance for one, on another instance for three.\n\n${markdown(['setup', 'calls/s', '÷ 1 instance', 'change → notification p50 / p99'], rows)}\n\n#### Older-protocol sessions on the fleet (HTTP 2025-11-25; medians of ${reps} runs)\n\ncalls/s: 32 concurrent sessions calling \`test_simple_text\` (through nginx for three instances: a session's requests land on every instance, each serving it after one indexed read of the shared record); heap per session: sessions opened (initialize, initialized, one call) through the same URL, heap after GC of all instances together ÷ sessions.\n\n${markdown(['setup', 'calls/s', '÷ 1 instance', 'heap per session (KiB)'], legacyRows)}\n`;
  return { text, samples };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const reps = argv.includes('--reps') ? Number(argv[argv.indexOf('--reps') + 1]) : 3;
  if (!Number.isInteger(reps) || reps < 1) throw new TypeError('--reps must be a positive integer');
  const log = (message) => process.stderr.write(`[bench] ${message}\n`);
  const started = performance.now();
  const { text, samples } = await fleetSuite({ quick, reps, log });
  const head = `Node ${process.version}, ${cpus().length} cores, load average at the end ${loadavg()
    .map((l) => l.toFixed(1))
    .join(
      ' ',
    )} (other processes share these cores); ${quick ? 'QUICK pass' : 'full run'}: 1 warm-up + ${reps} counted runs; ${((performance.now() - started) / 60_000).toFixed(1)} min; ${new Date().toISOString().slice(0, 16)}Z\n`;
  process.stdout.write(`\n${head}\n${text}`);
  const outDir = join(root, 'results');
  mkdirSync(outDir, { recursive: true });
  const name = quick ? 'fleet-quick' : 'fleet';
  writeFileSync(join(outDir, `${name}.md`), `${head}\n${text}`);
  writeFileSync(
    join(outDir, `${name}.json`),
    `${JSON.stringify({ quick, reps, node: process.version, samples }, null, 2)}\n`,
  );
}
