// The servers under test, and which baselines are eligible for which figure (issue 10).
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const baseline = (file) => join(root, 'baselines', file);

/**
 * Trellis runs from its built bundle; the baselines from node_modules as plain scripts.
 * `baselineBundle`: the `dist/` of this bench built from another commit (a git worktree), run as the
 * server `base` ("Trellis @ <label>") beside this one, so a change is measured against its parent in one run.
 */
export function targets({ nodeArgs = [], baselineBundle, baselineLabel = 'baseline' } = {}) {
  const trellisEnv = { MAX_CONCURRENT_CALLS: '1024' };
  const trellisAt = (dir, label) => ({
    label,
    stdio: { script: join(dir, 'main.js'), args: [], env: trellisEnv, nodeArgs },
    http: { script: join(dir, 'main.js'), args: ['--transport', 'http', '--port', '0'], env: trellisEnv, nodeArgs },
  });
  return {
    trellis: trellisAt(join(root, 'dist'), 'Trellis'),
    ...(baselineBundle && { base: trellisAt(baselineBundle, `Trellis @ ${baselineLabel}`) }),
    v1: {
      label: 'SDK v1',
      stdio: { script: baseline('sdk-v1.mjs'), args: ['--stdio'], nodeArgs },
      http: { script: baseline('sdk-v1.mjs'), args: ['--port', '0'], nodeArgs },
    },
    v2s: {
      label: 'SDK v2 sessions',
      stdio: { script: baseline('sdk-v2-sessions.mjs'), args: ['--stdio'], nodeArgs },
      http: { script: baseline('sdk-v2-sessions.mjs'), args: ['--port', '0'], nodeArgs },
    },
    v2: {
      label: 'SDK v2 stateless',
      http: { script: baseline('sdk-v2-stateless.mjs'), args: ['--port', '0'], nodeArgs },
    },
  };
}

/**
 * Groups of runs: each names a transport and era and the servers that run it, Trellis first.
 * The baselines listed are exactly the eligible ones for that group's figures; a baseline bundle
 * (`base`) is eligible everywhere. `servers` keeps only the named ones (Trellis always).
 */
export function groups({ baseline = false, servers } = {}) {
  return GROUPS.map((group) => {
    const [ours, ...rest] = group.servers;
    const all = [ours, ...(baseline ? ['base'] : []), ...rest];
    return { ...group, servers: all.filter((id) => id === ours || !servers || servers.includes(id)) };
  });
}

export const GROUPS = [
  {
    id: 'stdio-legacy',
    transport: 'stdio',
    era: 'legacy',
    title: 'stdio, older protocol (2025-11-25)',
    servers: ['trellis', 'v1', 'v2s'],
  },
  { id: 'stdio-modern', transport: 'stdio', era: 'modern', title: 'stdio, 2026-07-28', servers: ['trellis', 'v2s'] },
  {
    id: 'http-legacy',
    transport: 'http',
    era: 'legacy',
    title: 'HTTP, older protocol (2025-11-25, sessions)',
    servers: ['trellis', 'v1', 'v2s'],
  },
  {
    id: 'http-modern',
    transport: 'http',
    era: 'modern',
    title: 'HTTP, 2026-07-28 (stateless)',
    servers: ['trellis', 'v2'],
  },
];

/** Figures: key, label, unit, and whether higher is better. Targets are ratios Trellis/best baseline. */
export const FIGURES = [
  {
    key: 'stdio.coldInitMs',
    label: 'cold start (spawn → initialize)',
    unit: 'ms',
    higher: false,
    target: { max: 0.8 },
  },
  {
    key: 'stdio.coldDiscoverMs',
    label: 'cold start (spawn → server/discover)',
    unit: 'ms',
    higher: false,
    target: { max: 0.8 },
  },
  {
    key: 'stdio.coldStartMs',
    label: 'cold start (spawn → tools/list)',
    unit: 'ms',
    higher: false,
    target: { max: 0.8 },
  },
  { key: 'stdio.seq.callsPerSec', label: 'sequential echo', unit: 'calls/s', higher: true, target: { min: 1.2 } },
  { key: 'stdio.seq.p50Ms', label: 'sequential echo p50', unit: 'ms', higher: false },
  { key: 'stdio.seq.p99Ms', label: 'sequential echo p99', unit: 'ms', higher: false },
  { key: 'stdio.seq.cpuUsPerCall', label: 'server CPU per sequential call', unit: 'µs', higher: false },
  {
    key: 'stdio.pipe64.callsPerSec',
    label: '64 in flight (pipelined) echo',
    unit: 'calls/s',
    higher: true,
    target: { min: 1.2 },
  },
  { key: 'stdio.pipe64.cpuUsPerCall', label: 'server CPU per pipelined call', unit: 'µs', higher: false },
  { key: 'stdio.sleep50x100.wallMs', label: '50 × sleep(100) wall', unit: 'ms', higher: false, target: { abs: 110 } },
  { key: 'stdio.peakRssMiB', label: 'peak RSS after echo loads', unit: 'MiB', higher: false, target: { max: 1.0 } },
  {
    key: 'http.seq.callsPerSec',
    label: 'one client sequential echo',
    unit: 'calls/s',
    higher: true,
    target: { min: 1.3 },
  },
  { key: 'http.seq.p50Ms', label: 'one client p50', unit: 'ms', higher: false },
  { key: 'http.seq.p99Ms', label: 'one client p99', unit: 'ms', higher: false },
  { key: 'http.seq.cpuUsPerCall', label: 'server CPU per call (one client)', unit: 'µs', higher: false },
  { key: 'http.c32.callsPerSec', label: '32 clients echo', unit: 'calls/s', higher: true, target: { min: 1.3 } },
  { key: 'http.c32.p99Ms', label: '32 clients p99', unit: 'ms', higher: false },
  { key: 'http.c32.cpuUsPerCall', label: 'server CPU per call (32 clients)', unit: 'µs', higher: false },
  { key: 'http.sleep50x100.wallMs', label: '50 × sleep(100) wall', unit: 'ms', higher: false, target: { max: 1.0 } },
  {
    key: 'http.inflight.heapKiB',
    label: 'heap per in-flight call (500 open)',
    unit: 'KiB',
    higher: false,
    target: { max: 0.4 },
  },
  { key: 'http.inflight.rssKiB', label: 'RSS per in-flight call (500 open)', unit: 'KiB', higher: false },
  {
    key: 'http.session.heapKiB',
    label: 'heap per open session (after GC)',
    unit: 'KiB',
    higher: false,
    target: { max: 0.4 },
  },
  {
    key: 'http.session.rssKiB',
    label: 'RSS per open session (beyond the first)',
    unit: 'KiB',
    higher: false,
    target: { max: 1 },
  },
  {
    key: 'http.session.rssFirstKiB',
    label: 'RSS per session, first sessions (one-time costs in)',
    unit: 'KiB',
    higher: false,
  },
  { key: 'http.sessions.perSec', label: 'sessions opened', unit: '/s', higher: true },
];
