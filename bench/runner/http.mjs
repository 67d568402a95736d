// HTTP workloads: raw Streamable HTTP POSTs over node:http keep-alive agents (no SDK client in the measured path).
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { spawnServer } from './procs.mjs';
import {
  checkToolResult,
  echoParams,
  initializeParams,
  LEGACY_VERSION,
  MODERN_VERSION,
  percentile,
  sleepParams,
} from './protocol.mjs';
import { pipelined } from './stdio.mjs';

const BASE_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** One POST; resolves with status, headers and the JSON-RPC message (JSON or SSE body). */
function post(agent, url, headers, body) {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = request(
      url,
      { method: 'POST', agent, headers: { ...BASE_HEADERS, ...headers, 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode,
            headers: res.headers,
            message: parseBody(text, res.headers['content-type'], body.id),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function parseBody(text, type, id) {
  if (!text) return undefined;
  if (!type?.includes('text/event-stream')) return JSON.parse(text);
  for (const line of text.split('\n')) {
    if (!line.startsWith('data:')) continue;
    const data = line.slice(5).trim();
    if (!data) continue;
    const message = JSON.parse(data);
    if (message.id === id) return message;
  }
  return undefined;
}

/**
 * A client in one era: `call(method, params, name)` posts a request. Older protocol: opens a session
 * (initialize + initialized) first; 2026-07-28: sends the version and method headers on every request.
 */
export async function openClient(agent, url, era) {
  let next = 1;
  const headers = {};
  if (era === 'legacy') {
    const init = await post(
      agent,
      url,
      {},
      { jsonrpc: '2.0', id: 0, method: 'initialize', params: initializeParams() },
    );
    if (init.status !== 200 || !init.message?.result)
      throw new Error(`initialize failed: HTTP ${init.status} ${JSON.stringify(init.message)}`);
    const sid = init.headers['mcp-session-id'];
    if (sid) headers['mcp-session-id'] = sid;
    headers['mcp-protocol-version'] = LEGACY_VERSION;
    const ack = await post(agent, url, headers, { jsonrpc: '2.0', method: 'notifications/initialized' });
    if (ack.status !== 202 && ack.status !== 200) throw new Error(`initialized notification: HTTP ${ack.status}`);
  } else {
    headers['mcp-protocol-version'] = MODERN_VERSION;
  }
  return {
    async call(method, params, name) {
      const id = next++;
      const h = era === 'modern' ? { ...headers, 'mcp-method': method, ...(name && { 'mcp-name': name }) } : headers;
      const res = await post(agent, url, h, { jsonrpc: '2.0', id, method, params });
      if (res.status !== 200)
        throw new Error(`${method}: HTTP ${res.status} ${JSON.stringify(res.message).slice(0, 300)}`);
      return res.message;
    },
  };
}

const echo = (client, era, text) =>
  client.call('tools/call', echoParams(era, text), 'echo').then((m) => checkToolResult(m, text));
const sleep = (client, era, ms) =>
  client.call('tools/call', sleepParams(era, ms), 'sleep').then((m) => checkToolResult(m));

export async function timedLoop(clients, era, { count, ms }) {
  const latencies = [];
  let sent = 0;
  const start = performance.now();
  const until = start + ms;
  await Promise.all(
    clients.map(async (client) => {
      while (sent < count && performance.now() < until) {
        const i = sent++;
        const t = performance.now();
        await echo(client, era, `hello ${i}`);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = performance.now() - start;
  return {
    calls: latencies.length,
    callsPerSec: (latencies.length / elapsed) * 1000,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

/** Every HTTP figure for one server in one era: throughput on one server process, memory on a fresh one. */
export async function httpSuite(target, era, size) {
  return {
    ...(await withServer(target, (server, url, agent) => throughput(server, url, agent, era, size))),
    ...(await withServer(target, (server, url, agent) => memory(server, url, agent, era, size))),
  };
}

async function withServer(target, fn) {
  const server = spawnServer(target);
  const agents = [];
  const agent = (maxSockets) => {
    const a = new Agent({ keepAlive: true, maxSockets });
    agents.push(a);
    return a;
  };
  try {
    return await fn(server, await server.waitUrl(), agent);
  } finally {
    for (const a of agents) a.destroy();
    await server.stop(0);
  }
}

async function throughput(server, url, agent, era, size) {
  const out = {};
  // One client, sequential.
  const one = await openClient(agent(1), url, era);
  let cpu0 = server.cpuMicros();
  const seq = await timedLoop([one], era, size.httpSequential);
  out['http.seq.cpuUsPerCall'] = (server.cpuMicros() - cpu0) / seq.calls;
  out['http.seq.callsPerSec'] = seq.callsPerSec;
  out['http.seq.p50Ms'] = seq.p50;
  out['http.seq.p99Ms'] = seq.p99;
  // 32 concurrent clients (each its own session on the older protocol) for a bounded time.
  const a32 = agent(32);
  const clients = await Promise.all(Array.from({ length: 32 }, () => openClient(a32, url, era)));
  cpu0 = server.cpuMicros();
  const c32 = await timedLoop(clients, era, size.http32);
  out['http.c32.cpuUsPerCall'] = (server.cpuMicros() - cpu0) / c32.calls;
  out['http.c32.callsPerSec'] = c32.callsPerSec;
  out['http.c32.p99Ms'] = c32.p99;
  // 50 concurrent sleep(100) from one client.
  const s50 = await openClient(agent(64), url, era);
  const t = performance.now();
  await Promise.all(Array.from({ length: 50 }, () => sleep(s50, era, 100)));
  out['http.sleep50x100.wallMs'] = performance.now() - t;
  return out;
}

/**
 * Heap after GC through the side channel, and the RSS once it has settled. A server's RSS read in its own
 * stats handler right after `gc()` still holds the pages that collection freed: V8 hands them back to the
 * OS from a background job a moment later (10 MiB or more after 1 000 handshakes' garbage). So the RSS is
 * read from /proc until two reads 100 ms apart agree (at most 3 s). `statsRss` keeps the handler's figure.
 */
export async function settledStats(server) {
  const stats = await server.stats();
  let rss = server.procMemory().rss;
  for (let i = 0; i < 30; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const now = server.procMemory().rss;
    if (now === rss) break;
    rss = now;
  }
  return { ...stats, statsRss: stats.rss, rss };
}

async function memory(server, url, agent, era, size) {
  const out = {};
  // Memory per in-flight request: 500 slow calls open at once (one client, 500 connections), after a short warm-up.
  const a500 = agent(size.inflight.count);
  const slow = await openClient(a500, url, era);
  await pipelined((i) => echo(slow, era, `w${i}`), { depth: 16, count: 400, ms: 5_000 });
  await Promise.all(Array.from({ length: 32 }, () => sleep(slow, era, 1)));
  const before = await settledStats(server);
  const calls = Array.from({ length: size.inflight.count }, () => sleep(slow, era, size.inflight.sleepMs));
  await new Promise((r) => setTimeout(r, size.inflight.settleMs));
  const during = await settledStats(server);
  await Promise.all(calls);
  out['http.inflight.heapKiB'] = (during.heapUsed - before.heapUsed) / size.inflight.count / 1024;
  out['http.inflight.rssKiB'] = (during.rss - before.rss) / size.inflight.count / 1024;
  if (era === 'legacy') {
    // Memory per open session and sessions opened per second (initialize + initialized each).
    const aS = agent(8);
    const open = (count) => pipelined(() => openClient(aS, url, era), { depth: 8, count, ms: 120_000 });
    const base = await settledStats(server);
    const t = performance.now();
    await open(size.sessions);
    out['http.sessions.perSec'] = (size.sessions / (performance.now() - t)) * 1000;
    const after = await settledStats(server);
    out['http.session.heapKiB'] = (after.heapUsed - base.heapUsed) / size.sessions / 1024;
    // The RSS of the first sessions also holds what the process pays once, whatever the count: the young
    // generation's pages (up to 32 MiB on Node 20) touched for the first time by the handshakes' garbage, if
    // the earlier load had not touched them, and the compiled code of the handshake path. So the RSS per open
    // session is what the next sessions add (held beside the first ones); the first figure is kept beside it.
    out['http.session.rssFirstKiB'] = (after.rss - base.rss) / size.sessions / 1024;
    const more = Math.ceil(size.sessions / 2);
    await open(more);
    const next = await settledStats(server);
    out['http.session.rssKiB'] = (next.rss - after.rss) / more / 1024;
  }
  return out;
}

/** The throughput figures alone (one client, 32 clients, 50 sleeps) on one server process. */
export function httpThroughput(target, era, size) {
  return withServer(target, (server, url, agent) => throughput(server, url, agent, era, size));
}
