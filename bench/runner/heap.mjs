#!/usr/bin/env node
// Where the bytes of a session or an in-flight call go: heap snapshots of one HTTP server before and after
// opening N older-protocol sessions (or holding N slow calls open), and the objects that are new in the second
// snapshot (an object keeps its snapshot id) grouped by constructor/type, with bytes per session or call.
//   node runner/heap.mjs [--server trellis|v1|v2s|base] [--baseline-bundle <dir>] [--what sessions|inflight]
//                        [--count 300] [--era legacy|modern] [--top 30]
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { openClient, settledStats } from './http.mjs';
import { killAll, spawnServer } from './procs.mjs';
import { sleepParams } from './protocol.mjs';
import { markdown } from './table.mjs';
import { targets } from './targets.mjs';

const argv = process.argv.slice(2);
const option = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const serverId = option('--server', 'trellis');
const what = option('--what', 'sessions');
const count = Number(option('--count', 300));
const era = option('--era', 'legacy');
const top = Number(option('--top', 30));
const dir = join('/tmp', `trellis-heap-${process.pid}`);

/** Self size and count per (type, name) of the nodes whose snapshot id is not in `known`; and every id seen. */
function newObjects(file, known = new Set()) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const [iType, iName, iId, iSize] = ['type', 'name', 'id', 'self_size'].map((f) => fields.indexOf(f));
  const groups = new Map();
  const ids = new Set();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const id = snap.nodes[i + iId];
    ids.add(id);
    if (known.has(id)) continue;
    const type = types[snap.nodes[i + iType]];
    const name = snap.strings[snap.nodes[i + iName]];
    const key =
      type === 'object' || type === 'closure'
        ? `${type} ${name}`
        : type === 'string'
          ? 'string'
          : `${type} ${name.slice(0, 40)}`;
    const g = groups.get(key) ?? { size: 0, n: 0 };
    g.size += snap.nodes[i + iSize];
    g.n += 1;
    total += snap.nodes[i + iSize];
    groups.set(key, g);
  }
  return { groups, ids, total };
}

/**
 * V8's heap spaces (committed size and used bytes) before and after, per session or call: which space a
 * heapTotal growth is in. Servers whose stats channel predates the `spaces` field print nothing here.
 */
function spaceRows(before, after) {
  if (!before.spaces || !after.spaces) return '';
  const kib = (bytes) => (bytes / 1024).toFixed(0);
  const rows = Object.keys(after.spaces)
    .filter((name) => after.spaces[name].size > 0 || before.spaces[name]?.size > 0)
    .map((name) => {
      const [b, a] = [before.spaces[name] ?? { size: 0, used: 0 }, after.spaces[name]];
      return [
        name,
        `${kib(b.size)} → ${kib(a.size)}`,
        `${kib(b.used)} → ${kib(a.used)}`,
        ((a.size - b.size) / count / 1024).toFixed(2),
        ((a.used - b.used) / count / 1024).toFixed(2),
      ];
    });
  const per = what === 'sessions' ? 'session' : 'call';
  return (
    markdown(['V8 space', 'committed KiB', 'used KiB', `committed per ${per} (KiB)`, `used per ${per} (KiB)`], rows) +
    '\n'
  );
}

async function snapshot(server) {
  const before = new Set(readdirSync(dir));
  server.child.kill('SIGPWR');
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    const file = readdirSync(dir).find((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
    // Written once the size stops changing.
    if (file) {
      const path = join(dir, file);
      let size = -1;
      for (;;) {
        const now = readFileSync(path).length;
        if (now === size && now > 0) return path;
        size = now;
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  }
}

async function main() {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  const target = targets({ baselineBundle: option('--baseline-bundle') })[serverId].http;
  const server = spawnServer({
    ...target,
    nodeArgs: [...(target.nodeArgs ?? []), '--heapsnapshot-signal=SIGPWR', `--diagnostic-dir=${dir}`],
  });
  const url = await server.waitUrl();
  const agent = new Agent({ keepAlive: true, maxSockets: what === 'inflight' ? count + 8 : 8 });
  // Warm up: a few sessions and calls, so that lazily built tables exist before the first snapshot.
  const warm = await openClient(agent, url, era);
  await Promise.all(Array.from({ length: 8 }, () => warm.call('tools/call', sleepParams(era, 1), 'sleep')));
  for (let i = 0; i < 8; i++) await openClient(agent, url, era);
  const first = await snapshot(server);
  // After the first snapshot, whose writing grows the process's RSS by itself.
  const statsBefore = await settledStats(server);
  const { ids } = newObjects(first);
  const held = [];
  let pending = [];
  if (what === 'sessions') {
    for (let i = 0; i < count; i += 8)
      held.push(
        ...(await Promise.all(Array.from({ length: Math.min(8, count - i) }, () => openClient(agent, url, era)))),
      );
  } else {
    pending = Array.from({ length: count }, () =>
      warm.call('tools/call', sleepParams(era, 6000), 'sleep').catch(() => undefined),
    );
    await new Promise((r) => setTimeout(r, 2000));
  }
  const statsAfter = await settledStats(server);
  const second = await snapshot(server);
  const { groups, total } = newObjects(second, ids);
  await Promise.allSettled(pending);
  agent.destroy();
  await server.stop(0);
  const rows = [...groups]
    .sort((a, b) => b[1].size - a[1].size)
    .slice(0, top)
    .map(([k, g]) => [k, (g.n / count).toFixed(2), (g.size / count).toFixed(0)]);
  process.stdout.write(
    `${targets({ baselineBundle: option('--baseline-bundle') })[serverId].label}, ${what} (${era}), ${count}: ` +
      `${(total / count / 1024).toFixed(2)} KiB new heap objects per ${what === 'sessions' ? 'session' : 'call'}\n\n` +
      `process.memoryUsage() after GC, per ${what === 'sessions' ? 'session' : 'call'} (KiB): ` +
      ['rss', 'statsRss', 'heapTotal', 'heapUsed', 'external']
        .map((k) => `${k} ${((statsAfter[k] - statsBefore[k]) / count / 1024).toFixed(2)}`)
        .join(', ') +
      ' (rss: settled, read from /proc; statsRss: read in the stats handler right after gc())\n\n' +
      spaceRows(statsBefore, statsAfter) +
      markdown(['type / constructor', `objects per ${what === 'sessions' ? 'session' : 'call'}`, 'bytes'], rows),
  );
  if (argv.includes('--keep')) process.stdout.write(`\nsnapshots kept: ${first} ${second}\n`);
  else rmSync(dir, { recursive: true, force: true });
}

main()
  .catch((error) => {
    process.stderr.write(`${error.stack}\n`);
    process.exitCode = 1;
  })
  .finally(killAll);
