import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectBundle, startHttpBundle, type HttpBundle } from '@trellis/testing/apps';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureConformanceTools, runConformanceScenarios, runConformanceSuite } from '../../../tools/conformance.mjs';
import { BUNDLE } from './bundle.js';
import { TASKS_SCENARIOS } from './tasks-scenarios.js';

/**
 * The official conformance suites against the built bundle over HTTP. Each
 * suite is one vitest case; the scenarios themselves are counted in
 * reports/conformance.json (each scenario name once, see the README).
 */
const SUITES = [
  { id: '0.1.16 --suite active', version: '0.1.16', args: ['--suite', 'active'], required: 30 },
  { id: '0.1.16 --suite pending', version: '0.1.16', args: ['--suite', 'pending'], required: 2 },
  { id: '0.2.0-alpha.12 default', version: '0.2.0-alpha.12', args: [], required: 31 },
  {
    id: '0.2.0-alpha.12 --requirements 2026-07-28',
    version: '0.2.0-alpha.12',
    args: ['--requirements', '2026-07-28'],
    required: 37,
  },
  // The Tasks extension, by name (see tasks-scenarios.ts).
  {
    id: '0.2.0-alpha.12 tasks-* by name',
    version: '0.2.0-alpha.12',
    args: [],
    scenarios: TASKS_SCENARIOS,
    required: 9,
  },
] as const;

type Suite = (typeof SUITES)[number];
type Scenario = Awaited<ReturnType<typeof runConformanceSuite>>['scenarios'][number];

const REPORT = join(import.meta.dirname, '..', 'reports', 'conformance.json');
const results = new Map<string, Scenario[]>();
let tools: Awaited<ReturnType<typeof ensureConformanceTools>>;
let server: HttpBundle | undefined;

function writeReport() {
  type Entry = { name: string; ok: boolean; suites: string[]; warnings: string[]; failures: string[] };
  const byName = new Map<string, Entry>();
  const notScored: { suite: string; name: string; reason: string; ok: boolean }[] = [];
  const suites: { id: string; expected: number; ran: number; passed: number; failed: number }[] = [];
  for (const suite of SUITES) {
    const scenarios = results.get(suite.id);
    const scored = scenarios?.filter((s) => s.scored) ?? [];
    const good = scored.filter((s) => s.ok).length;
    suites.push({
      id: suite.id,
      expected: suite.required,
      ran: scored.length,
      passed: good,
      failed: scenarios ? scored.length - good : suite.required,
    });
    if (!scenarios || scored.length !== suite.required) {
      const why = scenarios ? `${scored.length} of ${suite.required} required scenarios ran` : 'the suite did not run';
      byName.set(`(${suite.id})`, {
        name: `(${suite.id})`,
        ok: false,
        suites: [suite.id],
        warnings: [],
        failures: [why],
      });
      if (!scenarios) continue;
    }
    for (const s of scenarios) {
      if (!s.scored) {
        notScored.push({ suite: suite.id, name: s.name, reason: s.notScoredReason ?? 'not scored', ok: s.ok });
        continue;
      }
      const entry: Entry = byName.get(s.name) ?? { name: s.name, ok: true, suites: [], warnings: [], failures: [] };
      entry.ok &&= s.ok;
      entry.suites.push(suite.id);
      entry.warnings.push(...s.warnings.map((w) => `${suite.id}: ${w.id}: ${w.message}`));
      entry.failures.push(...s.failures.map((f) => `${suite.id}: ${f.id}: ${f.message}`));
      byName.set(s.name, entry);
    }
  }
  const scenarios = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  const passed = scenarios.filter((s) => s.ok).length;
  mkdirSync(join(REPORT, '..'), { recursive: true });
  writeFileSync(
    REPORT,
    `${JSON.stringify({ passed, failed: scenarios.length - passed, scenarios, suites, notScored }, null, 2)}\n`,
  );
}

beforeAll(async () => {
  rmSync(REPORT, { force: true });
  tools = await ensureConformanceTools();
  server = await startHttpBundle({ bundle: BUNDLE });
}, 420_000);

afterAll(async () => {
  writeReport();
  await server?.stop();
}, 30_000);

describe('the official MCP conformance suites', () => {
  it('run on an isolated Node 22 while the tests themselves run on Node 20', () => {
    expect(process.version).toMatch(/^v20\./);
    expect(execFileSync(tools.node, ['--version'], { encoding: 'utf8' }).trim()).toMatch(/^v22\./);
  });

  it('the server lists test_simple_text and test_error_handling (upstream passes those checks without them)', async () => {
    const client = await connectBundle({ transport: 'http', client: 'v2', url: server!.url });
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['test_simple_text', 'test_error_handling']));
    } finally {
      await client.close();
    }
  });

  it.each(SUITES.map((s) => [s.id, s] as [string, Suite]))(
    '%s: every required scenario passes',
    async (id, suite) => {
      // Each run writes into its own temporary folder (kept only when something failed).
      const run =
        'scenarios' in suite
          ? await runConformanceScenarios(tools, {
              version: suite.version,
              url: server!.url,
              scenarios: suite.scenarios,
            })
          : await runConformanceSuite(tools, { version: suite.version, url: server!.url, args: [...suite.args] });
      results.set(id, run.scenarios);
      const required = run.scenarios.filter((s) => s.scored);
      const failed = required
        .filter((s) => !s.ok)
        .map((s) => `${s.name}: ${s.failures.map((f) => `${f.id}: ${f.message}`).join('; ')}`);
      const context = `${id} (results in ${run.outDir})\n${run.output.slice(-4000)}\nserver log:\n${server!.output().slice(-4000)}`;
      expect(failed, context).toEqual([]);
      expect(required.length, context).toBe(suite.required);
      rmSync(run.outDir, { recursive: true, force: true });
    },
    240_000,
  );
});
