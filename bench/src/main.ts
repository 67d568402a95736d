import { run } from '@trellis/transport';
import { installStatsSignal } from './stats.js';
import { benchTaskTools, benchTools } from './tools.js';

installStatsSignal();

void run({
  name: 'trellis-bench',
  version: '0.1.0',
  description: 'Benchmark server: echo and sleep tools, compared against the official SDK baselines by `pnpm bench`.',
  plugins: process.env.BENCH_TASKS === '1' ? [benchTools(), benchTaskTools()] : [benchTools()],
});
