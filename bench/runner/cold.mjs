#!/usr/bin/env node
// Cold start alone, interleaved: each round spawns every server once per era (A B C, A B C …) and times
// spawn → initialize / server/discover and spawn → first tools/list; medians over the rounds.
//   node runner/cold.mjs [--rounds 10] [--servers trellis,v1,v2s] [--baseline-bundle <dir>] [--node-args "--x"]
import { open } from './stdio.mjs';
import { killAll } from './procs.mjs';
import { percentile } from './protocol.mjs';
import { targets } from './targets.mjs';

const argv = process.argv.slice(2);
const option = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const rounds = Number(option('--rounds', 10));
const servers = option('--servers', 'trellis,v1,v2s').split(',');
const all = targets({ baselineBundle: option('--baseline-bundle'), baselineLabel: option('--baseline-label') });
const runs = [];
for (const id of servers)
  for (const era of ['legacy', 'modern'])
    if (all[id]?.stdio && !(era === 'modern' && id === 'v1')) runs.push({ id, era, handshake: [], list: [] });

async function main() {
  for (let round = -1; round < rounds; round++) {
    for (const run of runs) {
      const { server, handshakeMs, coldStartMs } = await open(all[run.id].stdio, run.era);
      await server.stop();
      if (round < 0) continue;
      run.handshake.push(handshakeMs);
      run.list.push(coldStartMs);
    }
  }
  for (const run of runs)
    process.stdout.write(
      `${all[run.id].label.padEnd(22)} ${run.era.padEnd(7)} spawn → ${run.era === 'legacy' ? 'initialize' : 'discover  '} ` +
        `${percentile(run.handshake, 50).toFixed(0).padStart(4)} ms   spawn → tools/list ${percentile(run.list, 50).toFixed(0).padStart(4)} ms\n`,
    );
}

main()
  .catch((error) => {
    process.stderr.write(`${error.stack}\n`);
    process.exitCode = 1;
  })
  .finally(killAll);
