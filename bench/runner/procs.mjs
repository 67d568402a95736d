// Starting and stopping the servers under test. Every child is tracked and stopped, even on Ctrl-C.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const children = new Set();

/**
 * Spawns `node --expose-gc [nodeArgs] script [args]` with stdio pipes, tracked for cleanup.
 * `asClient`: without `--expose-gc`, as an MCP client spawns a stdio server (`node script`): any V8 flag
 * makes V8 refuse the code cache a Trellis app's build made, which a real start would use.
 */
export function spawnServer({ script, args = [], nodeArgs = [], env = {}, asClient = false }) {
  const child = spawn(process.execPath, [...(asClient ? [] : ['--expose-gc']), ...nodeArgs, script, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'error', BENCH_STATS: '1', ...env },
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.stdin.on('error', () => undefined);
  const statsWaiters = [];
  let stderrTail = '';
  let urlResolve;
  const url = new Promise((resolve) => (urlResolve = resolve));
  let pending = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderrTail = (stderrTail + chunk).slice(-4000);
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.startsWith('BENCH_STATS ')) statsWaiters.shift()?.(JSON.parse(line.slice(12)));
      const m = /serving MCP on (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(line);
      if (m) urlResolve(m[1]);
    }
  });
  return {
    child,
    pid: child.pid,
    /** Resolves with the HTTP endpoint once the server announces it. */
    waitUrl: () => withTimeout(url, 15_000, () => `server did not announce its URL; stderr: ${stderrTail}`),
    /** Heap after GC and RSS, through the BENCH_STATS side channel. */
    stats() {
      const p = new Promise((resolve) => statsWaiters.push(resolve));
      child.kill('SIGUSR2');
      return withTimeout(p, 10_000, () => 'no BENCH_STATS answer');
    },
    /** Peak and current RSS from /proc (bytes). */
    procMemory() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kib = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) * 1024;
      return { hwm: kib('VmHWM'), rss: kib('VmRSS') };
    },
    /** CPU time used so far (user + system), in microseconds, from /proc (10 ms resolution). */
    cpuMicros() {
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(fields[11]) + Number(fields[12])) * (1_000_000 / 100);
    },
    stderrTail: () => stderrTail,
    stop: (graceMs) => stopChild(child, graceMs),
  };
}

/** Closes stdin, then SIGTERM, then SIGKILL; resolves when the process has exited. */
export function stopChild(child, graceMs = 3_000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), graceMs + 2_000);
    const term = setTimeout(() => child.kill('SIGTERM'), graceMs);
    child.once('exit', () => {
      clearTimeout(killer);
      clearTimeout(term);
      resolve();
    });
    child.stdin.end();
    if (child.stdio[0] === null || child.stdin.destroyed) child.kill('SIGTERM');
  });
}

/** Kills whatever is still running (on exit or interruption). */
export function killAll() {
  for (const child of children) child.kill('SIGKILL');
}

export function withTimeout(promise, ms, message) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(typeof message === 'function' ? message() : message)), ms);
      timer.unref?.();
    }),
  ]);
}

process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}
