// stdio workloads: raw newline-delimited JSON-RPC over the child's pipes.
import { performance } from 'node:perf_hooks';
import { spawnServer } from './procs.mjs';
import {
  checkToolResult,
  checkToolsList,
  echoParams,
  initializeParams,
  params,
  percentile,
  sleepParams,
} from './protocol.mjs';

class StdioClient {
  #next = 1;
  #pending = new Map();
  #buffer = '';
  constructor(server) {
    this.server = server;
    server.child.stdout.setEncoding('utf8');
    server.child.stdout.on('data', (chunk) => {
      this.#buffer += chunk;
      let nl;
      while ((nl = this.#buffer.indexOf('\n')) !== -1) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        if (!line.trim()) continue;
        const message = JSON.parse(line);
        const waiter = message.id !== undefined ? this.#pending.get(message.id) : undefined;
        if (waiter) {
          this.#pending.delete(message.id);
          waiter(message);
        }
      }
    });
    server.child.once('exit', (code, signal) => {
      for (const waiter of this.#pending.values())
        waiter({ error: { message: `server exited (${code ?? signal}): ${server.stderrTail()}` } });
      this.#pending.clear();
    });
  }
  request(method, p) {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.server.child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params: p })}\n`);
    });
  }
  notify(method, p) {
    this.server.child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method, ...(p && { params: p }) })}\n`);
  }
}

/**
 * Spawns the server and opens a connection in the given era. Returns ms from spawn to the first answer a
 * client waits for (`handshakeMs`: `initialize` on the older protocol, `server/discover` on 2026-07-28) and
 * to the first good `tools/list` after it (`coldStartMs`).
 */
export async function open(target, era) {
  const t0 = performance.now();
  // Spawned the way a client starts a stdio server; no stdio figure needs the GC side channel.
  const server = spawnServer({ ...target, asClient: true });
  const client = new StdioClient(server);
  if (era === 'legacy') {
    const init = await client.request('initialize', initializeParams());
    if (!init.result) throw new Error(`initialize failed: ${JSON.stringify(init).slice(0, 300)}`);
    client.notify('notifications/initialized');
  } else {
    const discover = await client.request('server/discover', params(era));
    if (!discover.result?.supportedVersions)
      throw new Error(`server/discover failed: ${JSON.stringify(discover).slice(0, 300)}`);
  }
  const handshakeMs = performance.now() - t0;
  checkToolsList(await client.request('tools/list', params(era)));
  return { server, client, handshakeMs, coldStartMs: performance.now() - t0 };
}

/** Runs `fn` repeatedly, one at a time, until `count` calls or `ms` elapsed. */
export async function sequential(client, era, { count, ms }) {
  const latencies = [];
  const start = performance.now();
  const until = start + ms;
  for (let i = 0; i < count && performance.now() < until; i++) {
    const text = `hello ${i}`;
    const t = performance.now();
    checkToolResult(await client.request('tools/call', echoParams(era, text)), text);
    latencies.push(performance.now() - t);
  }
  const elapsed = performance.now() - start;
  return {
    calls: latencies.length,
    callsPerSec: (latencies.length / elapsed) * 1000,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

/** Keeps `depth` calls in flight until `count` calls or `ms` elapsed. */
export async function pipelined(call, { depth, count, ms }) {
  let sent = 0;
  let done = 0;
  const start = performance.now();
  const until = start + ms;
  await Promise.all(
    Array.from({ length: depth }, async () => {
      while (sent < count && performance.now() < until) {
        const i = sent++;
        await call(i);
        done++;
      }
    }),
  );
  return { calls: done, callsPerSec: (done / (performance.now() - start)) * 1000 };
}

async function concurrentSleeps(client, era, n, ms) {
  const start = performance.now();
  const answers = await Promise.all(
    Array.from({ length: n }, () => client.request('tools/call', sleepParams(era, ms))),
  );
  const wall = performance.now() - start;
  for (const a of answers) checkToolResult(a);
  return wall;
}

/**
 * Every stdio figure for one server in one era: cold start (median of `coldStarts` spawns),
 * sequential echo, 64-in-flight pipelined echo, 50 × sleep(100), peak RSS after the echo loads.
 */
export async function stdioSuite(target, era, size) {
  const colds = [];
  const handshakes = [];
  for (let i = 0; i < size.coldStarts - 1; i++) {
    const { server, coldStartMs, handshakeMs } = await open(target, era);
    colds.push(coldStartMs);
    handshakes.push(handshakeMs);
    await server.stop();
  }
  const { server, client, coldStartMs, handshakeMs } = await open(target, era);
  colds.push(coldStartMs);
  handshakes.push(handshakeMs);
  try {
    const cpuSeq = server.cpuMicros();
    const seq = await sequential(client, era, size.stdioSequential);
    const seqCpuPerCall = (server.cpuMicros() - cpuSeq) / seq.calls;
    const cpu0 = server.cpuMicros();
    const pipe = await pipelined(
      (i) => client.request('tools/call', echoParams(era, `p${i}`)).then((m) => checkToolResult(m, `p${i}`)),
      { depth: 64, ...size.stdioPipelined },
    );
    const cpuPerCall = (server.cpuMicros() - cpu0) / pipe.calls;
    const { hwm } = server.procMemory();
    const sleepWall = await concurrentSleeps(client, era, 50, 100);
    return {
      'stdio.coldStartMs': percentile(colds, 50),
      [era === 'legacy' ? 'stdio.coldInitMs' : 'stdio.coldDiscoverMs']: percentile(handshakes, 50),
      'stdio.seq.callsPerSec': seq.callsPerSec,
      'stdio.seq.p50Ms': seq.p50,
      'stdio.seq.p99Ms': seq.p99,
      'stdio.seq.cpuUsPerCall': seqCpuPerCall,
      'stdio.pipe64.callsPerSec': pipe.callsPerSec,
      'stdio.pipe64.cpuUsPerCall': cpuPerCall,
      'stdio.sleep50x100.wallMs': sleepWall,
      'stdio.peakRssMiB': hwm / 1048576,
    };
  } finally {
    await server.stop();
  }
}

export { StdioClient, open as openStdio };
