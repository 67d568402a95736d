import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

function affectedBy(file: string): string[] {
  const result = spawnSync(
    join(root, 'node_modules', '.bin', 'nx'),
    ['show', 'projects', '--affected', `--files=${file}`, '--json'],
    {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' },
    },
  );
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

/** Every workspace project that depends on `name`, directly or not. */
function dependentsOf(name: string): Set<string> {
  const manifests = ['packages', 'apps']
    .flatMap((group) =>
      existsSync(join(root, group))
        ? readdirSync(join(root, group)).map((d) => join(root, group, d, 'package.json'))
        : [],
    )
    .concat([join(root, 'bench', 'package.json')])
    .filter((file) => existsSync(file))
    .map(
      (file) =>
        JSON.parse(readFileSync(file, 'utf8')) as {
          name: string;
          dependencies?: Record<string, string>;
          devDependencies?: Record<string, string>;
        },
    );
  const found = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const m of manifests) {
      const deps = Object.keys({ ...m.dependencies, ...m.devDependencies });
      if (!found.has(m.name) && deps.some((d) => d === name || found.has(d))) {
        found.add(m.name);
        grew = true;
      }
    }
  }
  return found;
}

describe('nx affected', () => {
  it('a change to one package affects it and its dependents, not unrelated packages', () => {
    const affected = affectedBy('packages/config/src/index.ts');
    expect(affected).toContain('@trellis/config');
    for (const dependent of dependentsOf('@trellis/config')) expect(affected).toContain(dependent);
    expect(affected).not.toContain('@trellis/concurrency');
  });

  it('a change to the concurrency package leaves config alone', () => {
    const affected = affectedBy('packages/concurrency/src/index.ts');
    expect(affected).toContain('@trellis/concurrency');
    expect(affected).not.toContain('@trellis/config');
  });
});
