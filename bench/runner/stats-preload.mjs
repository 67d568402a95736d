// Installs the benchmark's stats side channel (BENCH_STATS=1, SIGUSR2 → one `BENCH_STATS {json}` line on
// stderr) in a process whose code has none, such as an app bundle run by tools/fleet.mjs:
//   NODE_OPTIONS="--expose-gc --import=<this file>" BENCH_STATS=1 node apps/conformance/dist/main.js
import { installStatsSignal } from '../baselines/common.mjs';

installStatsSignal();
