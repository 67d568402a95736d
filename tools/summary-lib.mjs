// Pure helpers of the test summary, kept apart so they can be tested.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ansi = /\u001b\[[0-9;]*[A-Za-z]/g;

/** Task ids listed under Nx's "Failed tasks:" heading. */
export function parseFailedTasks(output) {
  const lines = output.replace(ansi, '').split('\n');
  const start = lines.findIndex((line) => line.trim() === 'Failed tasks:');
  if (start < 0) return [];
  const tasks = [];
  for (const line of lines.slice(start + 1)) {
    const match = /^\s*-\s+(\S+:\S+)\s*$/.exec(line);
    if (match) tasks.push(match[1]);
    else if (line.trim() !== '' && tasks.length > 0) break;
  }
  return tasks;
}

/** Every project folder of the workspace (packages/*, apps/*, tests/*, bench, tools, docs, release). */
export function projectDirs(root) {
  const dirs = [];
  for (const group of ['packages', 'apps', 'tests']) {
    const base = join(root, group);
    if (!existsSync(base)) continue;
    for (const entry of readdirSync(base, { withFileTypes: true })) {
      if (entry.isDirectory() && existsSync(join(base, entry.name, 'package.json'))) dirs.push(join(base, entry.name));
    }
  }
  for (const single of ['bench', 'tools', 'docs', 'release']) {
    if (existsSync(join(root, single, 'package.json'))) dirs.push(join(root, single));
  }
  return dirs;
}

/**
 * Counts test cases from each project's reports/*.json: vitest JSON reports
 * (numPassedTests/numFailedTests) and Trellis summaries ({ passed, failed }).
 */
export function readReports(dirs) {
  let passed = 0;
  let failed = 0;
  const byProject = new Map();
  for (const dir of dirs) {
    const reports = join(dir, 'reports');
    if (!existsSync(reports)) continue;
    const name = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name;
    const counts = { passed: 0, failed: 0 };
    for (const file of readdirSync(reports)) {
      if (!file.endsWith('.json')) continue;
      let data;
      try {
        data = JSON.parse(readFileSync(join(reports, file), 'utf8'));
      } catch {
        counts.failed += 1;
        continue;
      }
      if (typeof data.numPassedTests === 'number') {
        counts.passed += data.numPassedTests;
        // A file that failed to load counts as one failure even with no case.
        const brokenSuites = (data.testResults ?? []).filter(
          (r) => r.status === 'failed' && (r.assertionResults ?? []).every((a) => a.status !== 'failed'),
        ).length;
        counts.failed += data.numFailedTests + brokenSuites;
      } else if (typeof data.passed === 'number' && typeof data.failed === 'number') {
        counts.passed += data.passed;
        counts.failed += data.failed;
      }
    }
    byProject.set(name, counts);
    passed += counts.passed;
    failed += counts.failed;
  }
  return { passed, failed, byProject };
}
