import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { locateWorker, WorkerNotFoundError } from '@trellis/concurrency';

const home = mkdtempSync(join(tmpdir(), 'trellis-locate-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

function write(path: string, text = '') {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

describe('locateWorker', () => {
  const pkg = join(home, 'plugin');
  write(
    join(pkg, 'package.json'),
    JSON.stringify({ name: '@acme/plugin', trellis: { workers: { 'hash-file': './src/hash-file.worker.ts' } } }),
  );
  write(join(pkg, 'src', 'plugin.ts'));
  write(join(pkg, 'dist', 'index.js'));

  it('finds dist/workers/<name>.js beside a built library or an app bundle', () => {
    write(join(pkg, 'dist', 'workers', 'hash-file.js'));
    expect(locateWorker('hash-file', pathToFileURL(join(pkg, 'dist', 'index.js')))).toBe(
      join(pkg, 'dist', 'workers', 'hash-file.js'),
    );
    expect(locateWorker('hash-file', join(pkg, 'dist', 'index.js'))).toBe(join(pkg, 'dist', 'workers', 'hash-file.js'));
  });

  it('from sources, finds the package build of a declared worker', () => {
    expect(locateWorker('hash-file', pathToFileURL(join(pkg, 'src', 'plugin.ts')).href)).toBe(
      join(pkg, 'dist', 'workers', 'hash-file.js'),
    );
  });

  it('says what to do when the worker is not declared, not built, or not shipped', () => {
    const undeclared = (() => {
      try {
        locateWorker('resize', pathToFileURL(join(pkg, 'src', 'plugin.ts')));
      } catch (error) {
        return error as WorkerNotFoundError;
      }
    })();
    expect(undeclared).toBeInstanceOf(WorkerNotFoundError);
    expect(undeclared!.code).toBe('WORKER_NOT_FOUND');
    expect(undeclared!.message).toMatch(
      /declare it in .*package\.json as "trellis": \{ "workers": \{ "resize": "\.\/src\/resize\.worker\.ts" \} \}/,
    );

    const unbuilt = join(home, 'unbuilt');
    write(
      join(unbuilt, 'package.json'),
      JSON.stringify({ name: '@acme/unbuilt', trellis: { workers: { crunch: './src/crunch.worker.ts' } } }),
    );
    expect(() => locateWorker('crunch', pathToFileURL(join(unbuilt, 'src', 'index.ts')))).toThrow(
      /build @acme\/unbuilt first: its build emits \.\/src\/crunch\.worker\.ts as dist\/workers\/crunch\.js/,
    );

    expect(() => locateWorker('crunch', '/nonexistent-root-dir/dist/main.js')).toThrow(/rebuild the app/);
  });

  it('refuses a name that is not one plain file name', () => {
    expect(() => locateWorker('../escape', import.meta.url)).toThrow(TypeError);
    expect(() => locateWorker('', import.meta.url)).toThrow(/lower-case letters/);
  });
});
