/**
 * The benchmark's side channel, off unless BENCH_STATS=1: on SIGUSR2 the
 * process collects garbage (when started with --expose-gc) and writes one
 * line `BENCH_STATS {"heapUsed":…,"rss":…}` to stderr. The baselines install
 * the same handler, so every server is measured the same way.
 */
export function installStatsSignal(env: NodeJS.ProcessEnv = process.env): void {
  if (env.BENCH_STATS !== '1') return;
  process.on('SIGUSR2', () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    const { heapUsed, rss, heapTotal, external } = process.memoryUsage();
    process.stderr.write(`BENCH_STATS ${JSON.stringify({ heapUsed, rss, heapTotal, external, gc: Boolean(gc) })}\n`);
  });
}
