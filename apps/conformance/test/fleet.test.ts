import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { httpConfigSchema } from '@trellis/transport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureConformanceTools, runConformanceSuite } from '../../../tools/conformance.mjs';
import { startFleet, type Fleet } from '../../../tools/fleet.mjs';
import { DEPLOY_CONFIG } from '../../../tools/nginx.mjs';
import { BUNDLE } from './bundle.js';

/**
 * Three instances of the built app on 127.0.0.1 behind nginx round-robin (the shipped
 * deploy/nginx/trellis-mcp.conf, see tools/fleet.mjs), sharing a throwaway PostgreSQL 15 through
 * FLEET_DATABASE_URL.
 */
let fleet: Fleet;
let tools: Awaited<ReturnType<typeof ensureConformanceTools>>;

beforeAll(async () => {
  [tools, fleet] = await Promise.all([
    ensureConformanceTools(),
    startFleet({
      bundle: BUNDLE,
      // input_required round-trips carry request state that another instance must be able to open.
      env: { REQUEST_STATE_SECRET: randomBytes(32).toString('hex'), SHUTDOWN_GRACE_MS: '2000' },
    }),
  ]);
}, 600_000);

afterAll(async () => {
  await fleet?.stop();
}, 60_000);

function failuresOf(run: Awaited<ReturnType<typeof runConformanceSuite>>) {
  return run.scenarios
    .filter((s) => s.scored && !s.ok)
    .map((s) => `${s.name}: ${s.failures.map((f) => `${f.id}: ${f.message}`).join('; ')}`);
}

describe('the shipped nginx configuration (deploy/nginx/trellis-mcp.conf)', () => {
  it('lets the instances’ largest body through and closes idle connections before the instances do', () => {
    const text = readFileSync(DEPLOY_CONFIG, 'utf8');
    const defaults = httpConfigSchema.parse({}) as { MAX_BODY_BYTES: number; KEEP_ALIVE_TIMEOUT_MS: number };
    const size = /^\s*client_max_body_size\s+(\d+)([kmg]?);/m.exec(text);
    const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[size![2] as '' | 'k' | 'm' | 'g'];
    expect(Number(size![1]) * unit).toBeGreaterThanOrEqual(defaults.MAX_BODY_BYTES);
    const keepalive = /^\s*keepalive_timeout\s+(\d+)s;/m.exec(text);
    expect(Number(keepalive![1]) * 1000).toBeLessThan(defaults.KEEP_ALIVE_TIMEOUT_MS);
    expect(text).not.toMatch(/^\s*(ip_hash|hash|sticky)\b/m);
  });
});

describe('three instances behind nginx round-robin', () => {
  it('the 0.2.0-alpha.12 --requirements 2026-07-28 suite passes, its requests spread over every instance', async () => {
    const before = fleet.upstreamCounts();
    const run = await runConformanceSuite(tools, {
      version: '0.2.0-alpha.12',
      url: fleet.url,
      args: ['--requirements', '2026-07-28'],
    });
    const context = `results in ${run.outDir}\n${run.output.slice(-3000)}\n${fleet.output().slice(-6000)}`;
    expect(failuresOf(run), context).toEqual([]);
    expect(run.scenarios.filter((s) => s.scored)).toHaveLength(37);
    const served = fleet.upstreamCounts().map((n, i) => n - before[i]!);
    const total = served.reduce((a, b) => a + b, 0);
    // Round-robin: each instance gets about a third; a third minus a wide margin for the retries
    // and the order in which parallel scenarios reach nginx.
    for (const n of served) expect(n, `requests per instance: ${served.join(', ')}`).toBeGreaterThan(total / 5);
  }, 240_000);

  it('a body over the instances’ MAX_BODY_BYTES reaches one and gets its JSON-RPC error, not nginx’s page', async () => {
    const res = await fetch(fleet.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(4 * 1024 * 1024) } }),
    });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(JSON.stringify(await res.json())).toMatch(/4194304|too large/i);
  });
});
