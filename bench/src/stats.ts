/**
 * The benchmark's side channel, off unless BENCH_STATS=1: on SIGUSR2 the
 * process collects garbage (when started with --expose-gc) and writes one
 * line `BENCH_STATS {"heapUsed":…,"rss":…}` to stderr. The baselines install
 * the same handler, so every server is measured the same way.
 */
export function installStatsSignal(env: NodeJS.ProcessEnv = process.env): void {
  if (env.BENCH_STATS !== '1') return;
  process.on('SIGUSR2', () => {
    // `node:v8` is imported here, not at start-up: it loads modules a start would not, and start-up is measured.
    void import('node:v8').then(({ getHeapSpaceStatistics }) => {
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      gc?.();
      const { heapUsed, rss, heapTotal, external } = process.memoryUsage();
      // Committed and used bytes per V8 heap space: which one a figure's growth is in.
      const spaces = Object.fromEntries(
        getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]),
      );
      process.stderr.write(
        `BENCH_STATS ${JSON.stringify({ heapUsed, rss, heapTotal, external, gc: Boolean(gc), spaces })}\n`,
      );
    });
  });
}
