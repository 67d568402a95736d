// Shared by the SDK baseline servers (plain scripts, run from node_modules as users run the SDK).
// Not SDK code: the stats side channel and the abortable sleep every server uses alike.

/** Same contract as bench/src/stats.ts: BENCH_STATS=1 + SIGUSR2 → one `BENCH_STATS {json}` line on stderr. */
export function installStatsSignal() {
  if (process.env.BENCH_STATS !== '1') return;
  process.on('SIGUSR2', () => {
    // `node:v8` is imported here, not at start-up: it loads modules a start would not, and start-up is measured.
    void import('node:v8').then(({ getHeapSpaceStatistics }) => {
      globalThis.gc?.();
      globalThis.gc?.();
      const { heapUsed, rss, heapTotal, external } = process.memoryUsage();
      const spaces = Object.fromEntries(
        getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]),
      );
      process.stderr.write(
        `BENCH_STATS ${JSON.stringify({ heapUsed, rss, heapTotal, external, gc: Boolean(globalThis.gc), spaces })}\n`,
      );
    });
  });
}

/** Resolves after `ms`, or rejects as soon as `signal` aborts. */
export function abortableSleep(ms, signal) {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `--stdio` or `--port N` (0 = a free port). */
export function parseArgs(argv = process.argv.slice(2)) {
  const stdio = argv.includes('--stdio');
  const i = argv.indexOf('--port');
  return { stdio, port: i === -1 ? 0 : Number(argv[i + 1]) };
}

/** Reads a JSON request body. */
export function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined);
      } catch (error) {
        reject(error);
      }
    });
    req.on('error', reject);
  });
}

/** Listens on 127.0.0.1 and announces the URL on stderr (the runner waits for that line). */
export function listen(server, port, name) {
  server.listen(port, '127.0.0.1', () => {
    process.stderr.write(`${name} is serving MCP on http://127.0.0.1:${server.address().port}/mcp\n`);
  });
  const stop = () => server.close(() => process.exit(0)) && server.closeAllConnections();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
