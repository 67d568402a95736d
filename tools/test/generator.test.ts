import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const toolsDir = join(import.meta.dirname, '..');
const bin = join(toolsDir, '..', 'node_modules', '.bin');
const created: string[] = [];

function run(command: string, args: string[], cwd: string) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

/** What `pnpm install` would do for a new project: link its workspace and registry dependencies. */
function linkWorkspaceDeps(dir: string) {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const deps = { ...manifest.dependencies, ...manifest.devDependencies } as Record<string, string>;
  for (const name of Object.keys(deps)) {
    const target = name.startsWith('@trellis/')
      ? join(toolsDir, '..', 'packages', name.slice('@trellis/'.length))
      : join(toolsDir, '..', 'packages', 'testing', 'node_modules', name);
    const fallback = join(toolsDir, '..', 'packages', 'server', 'node_modules', name);
    const source = existsSync(target) ? target : fallback;
    const link = join(dir, 'node_modules', name);
    mkdirSync(join(link, '..'), { recursive: true });
    symlinkSync(source, link, 'dir');
  }
}

afterAll(() => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

describe('pnpm new package', () => {
  it('creates a package that lints, typechecks, tests and builds without edits', () => {
    const dir = join(toolsDir, `.gen-test-${process.pid}`);
    created.push(dir);
    const generated = run(process.execPath, [join(toolsDir, 'new.mjs'), 'package', 'sample-widget', '--dir', dir], toolsDir);
    expect(generated.status, generated.output).toBe(0);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(manifest.name).toBe('@trellis/sample-widget');
    expect(manifest.exports['.']['@trellis/source']).toBe('./src/index.ts');

    for (const [tool, args] of [
      ['eslint', ['.']],
      ['tsc', ['-p', 'tsconfig.json']],
      ['vitest', ['run', '--reporter=dot']],
      ['tsup', []],
    ] as const) {
      const step = run(join(bin, tool), [...args], dir);
      expect(step.status, `${tool}: ${step.output}`).toBe(0);
    }
    expect(existsSync(join(dir, 'dist', 'index.js'))).toBe(true);
    expect(existsSync(join(dir, 'dist', 'index.d.ts'))).toBe(true);
  });

  it('creates a plugin package whose sample tool works through a real client', () => {
    const dir = join(toolsDir, '..', 'packages', `zz-gen-plugin-${process.pid}`);
    created.push(dir);
    const generated = run(process.execPath, [join(toolsDir, 'new.mjs'), 'plugin', 'sample-plugin', '--dir', dir], toolsDir);
    expect(generated.status, generated.output).toBe(0);
    linkWorkspaceDeps(dir);
    for (const [tool, args] of [
      ['eslint', ['.']],
      ['tsc', ['-p', 'tsconfig.json']],
      ['vitest', ['run', '--reporter=dot']],
      ['tsup', []],
    ] as const) {
      const step = run(join(bin, tool), [...args], dir);
      expect(step.status, `${tool}: ${step.output}`).toBe(0);
    }
  });

  it('creates an app whose bundle serves a real client over stdio', () => {
    const dir = join(toolsDir, '..', 'apps', `zz-gen-app-${process.pid}`);
    created.push(dir);
    const generated = run(process.execPath, [join(toolsDir, 'new.mjs'), 'app', 'sample-app', '--dir', dir], toolsDir);
    expect(generated.status, generated.output).toBe(0);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(manifest.bin).toEqual({ 'trellis-sample-app': './dist/main.js' });
    linkWorkspaceDeps(dir);
    for (const [tool, args] of [
      ['eslint', ['.']],
      ['tsc', ['-p', 'tsconfig.json']],
      ['tsup', []],
      ['vitest', ['run', '--reporter=dot']],
    ] as const) {
      const step = run(join(bin, tool), [...args], dir);
      expect(step.status, `${tool}: ${step.output}`).toBe(0);
    }
  });

  it('refuses a bad name and an existing folder', () => {
    const bad = run(process.execPath, [join(toolsDir, 'new.mjs'), 'package', 'Bad_Name'], toolsDir);
    expect(bad.status).toBe(2);
    expect(bad.output).toMatch(/lower-case/);
    const existing = run(process.execPath, [join(toolsDir, 'new.mjs'), 'package', 'config'], toolsDir);
    expect(existing.status).toBe(2);
    expect(existing.output).toMatch(/already exists/);
  });
});
