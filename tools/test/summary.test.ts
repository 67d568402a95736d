import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFailedTasks, readReports } from '../summary-lib.mjs';

const temps: string[] = [];
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function project(name: string, reports: Record<string, unknown>) {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-summary-'));
  temps.push(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name }));
  mkdirSync(join(dir, 'reports'));
  for (const [file, data] of Object.entries(reports))
    writeFileSync(join(dir, 'reports', file), typeof data === 'string' ? data : JSON.stringify(data));
  return dir;
}

describe('test summary', () => {
  it('reads the failed tasks Nx lists, ignoring colour codes', () => {
    const output =
      '\u001b[31m NX   Running targets failed\u001b[0m\n\nFailed tasks:\n\n- @trellis/config:lint\n- @trellis/server:test\n\n  Run duration: 2s\n';
    expect(parseFailedTasks(output)).toEqual(['@trellis/config:lint', '@trellis/server:test']);
    expect(parseFailedTasks('NX Successfully ran targets')).toEqual([]);
  });

  it('adds vitest reports and scenario summaries, counting an unreadable report as a failure', () => {
    const a = project('@trellis/a', { 'vitest.json': { numPassedTests: 5, numFailedTests: 1, testResults: [] } });
    const b = project('@trellis/b', { 'conformance.json': { passed: 30, failed: 2 }, 'broken.json': '{not json' });
    const c = project('@trellis/c', {
      'vitest.json': {
        numPassedTests: 2,
        numFailedTests: 0,
        testResults: [{ status: 'failed', assertionResults: [] }],
      },
    });
    const { passed, failed, byProject } = readReports([a, b, c]);
    expect(passed).toBe(37);
    expect(failed).toBe(1 + 2 + 1 + 1);
    expect(byProject.get('@trellis/b')).toEqual({ passed: 30, failed: 3 });
  });
});
