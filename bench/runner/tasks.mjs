// The Tasks extension (Trellis only: the SDK's servers do not implement it): what a task round-trip costs
// beside the same tool called inline, and the heap a live task holds.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { settledStats } from './http.mjs';
import { spawnServer } from './procs.mjs';
import { MODERN_VERSION, percentile } from './protocol.mjs';
import { median } from './table.mjs';

const TASKS = 'io.modelcontextprotocol/tasks';
const envelope = (tasks) => ({
  'io.modelcontextprotocol/protocolVersion': MODERN_VERSION,
  'io.modelcontextprotocol/clientCapabilities': tasks ? { extensions: { [TASKS]: {} } } : {},
  'io.modelcontextprotocol/clientInfo': { name: 'trellis-bench', version: '0.0.0' },
});

function post(agent, url, method, params, name, id) {
  const payload = JSON.stringify({ jsonrpc: '2.0', id, method, params });
  const headers = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': MODERN_VERSION,
    'mcp-method': method,
    'mcp-name': name,
    'content-length': Buffer.byteLength(payload),
  };
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const body = res.headers['content-type']?.includes('text/event-stream')
          ? text
              .split('\n')
              .filter((l) => l.startsWith('data:'))
              .map((l) => JSON.parse(l.slice(5)))
              .find((m) => m.id === id)
          : JSON.parse(text);
        if (!body || body.error) reject(new Error(`${method}: ${JSON.stringify(body?.error ?? text.slice(0, 200))}`));
        else resolve(body.result);
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

function client(agent, url) {
  let id = 0;
  return {
    call: (name, args, tasks) =>
      post(agent, url, 'tools/call', { name, arguments: args, _meta: envelope(tasks) }, name, ++id),
    task: (method, taskId) => post(agent, url, method, { taskId, _meta: envelope(true) }, taskId, ++id),
  };
}

/** Sequential rounds for at most `ms` or `count`, returning per-round times (ms). */
async function timed(fn, { count, ms }) {
  const times = [];
  const end = performance.now() + ms;
  for (let i = 0; i < count && performance.now() < end; i += 1) {
    const t = performance.now();
    await fn(i);
    times.push(performance.now() - t);
  }
  return times;
}

/**
 * One run: inline `job` calls (a client without the extension), then the same tool as a task
 * (tools/call → CreateTaskResult → tasks/get until completed, polling back to back), then heap per
 * live task (`sleep_task` tasks held open, measured after GC through the BENCH_STATS side channel).
 */
export async function tasksSuite(script, { quick }) {
  const server = spawnServer({
    script,
    args: ['--transport', 'http', '--port', '0'],
    env: { BENCH_TASKS: '1', MAX_CONCURRENT_CALLS: '1024', MAX_LIVE_TASKS: '5000' },
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  try {
    const url = await server.waitUrl();
    const c = client(agent, url);
    const size = quick ? { count: 300, ms: 1_500 } : { count: 2_000, ms: 5_000 };
    await timed((i) => c.call('job', { text: `w${i}` }, false), { count: 100, ms: 2_000 });
    const inline = await timed(async (i) => {
      const result = await c.call('job', { text: `i${i}` }, false);
      if (result.content?.[0]?.text !== `i${i}`) throw new Error(`inline job answered ${JSON.stringify(result)}`);
    }, size);
    let polls = 0;
    const task = await timed(async (i) => {
      const created = await c.call('job', { text: `t${i}` }, true);
      if (created.resultType !== 'task') throw new Error(`job did not become a task: ${JSON.stringify(created)}`);
      for (;;) {
        polls += 1;
        const got = await c.task('tasks/get', created.taskId);
        if (got.status === 'completed') {
          if (got.result?.content?.[0]?.text !== `t${i}`) throw new Error(`task answered ${JSON.stringify(got)}`);
          break;
        }
        if (got.status !== 'working') throw new Error(`task ${got.status}`);
      }
    }, size);

    // Heap per live task: a run's heap after GC, minus the same before, over the tasks open.
    const live = quick ? 300 : 1_000;
    // RSS read once V8 has handed freed pages back (see settledStats).
    const before = await settledStats(server);
    const ids = [];
    for (let i = 0; i < live; i += 16) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(16, live - i) }, () => c.call('sleep_task', { ms: 600_000 }, true)),
      );
      ids.push(...batch.map((r) => r.taskId));
    }
    const during = await settledStats(server);
    for (let i = 0; i < ids.length; i += 16)
      await Promise.all(ids.slice(i, i + 16).map((id) => c.task('tasks/cancel', id)));
    return {
      'tasks.inline.p50Ms': median(inline),
      'tasks.inline.p99Ms': percentile(inline, 99),
      'tasks.roundtrip.p50Ms': median(task),
      'tasks.roundtrip.p99Ms': percentile(task, 99),
      'tasks.pollsPerTask': polls / task.length,
      'tasks.live.heapKiB': (during.heapUsed - before.heapUsed) / live / 1024,
      'tasks.live.rssKiB': (during.rss - before.rss) / live / 1024,
      'tasks.live.count': live,
    };
  } finally {
    agent.destroy();
    await server.stop(0);
  }
}
