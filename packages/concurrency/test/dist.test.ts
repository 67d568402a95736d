import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as source from '@trellis/concurrency';

/** The built output is what other packages and apps import: check it, not only src/. */
const distEntry = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const built = existsSync(distEntry);

/** Names the core server consumes: renaming one is a breaking change. */
const CORE_NAMES = [
  'BackgroundTasks',
  'ClosedError',
  'KeyedSemaphore',
  'Semaphore',
  'SemaphoreTimeoutError',
  'TaskGroup',
  'TaskGroupError',
  'TimeoutError',
  'TtlCache',
  'WorkerCrashError',
  'WorkerPool',
  'anySignal',
  'runTaskGroup',
  'settleAll',
  'sleep',
  'withTimeout',
];

describe.skipIf(!built)('built package (dist/)', () => {
  it('points every target of the exports map at a file that exists', () => {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      exports: Record<string, Record<string, string>>;
    };
    for (const target of Object.values(manifest.exports['.']!)) {
      expect(existsSync(fileURLToPath(new URL(`../${target}`, import.meta.url))), target).toBe(true);
    }
  });

  it('exports exactly what the sources export (a stale build fails here), and it works', async () => {
    const dist = (await import(/* @vite-ignore */ distEntry)) as typeof source;
    expect(Object.keys(dist).sort()).toEqual(Object.keys(source).sort());
    expect(Object.keys(dist)).toEqual(expect.arrayContaining(CORE_NAMES));
    const sem = new dist.Semaphore(2);
    const results = await dist.runTaskGroup(async (group) => {
      for (const n of [1, 2, 3]) group.spawn(() => sem.run(async () => n * 10));
      return group.wait();
    });
    expect(results).toEqual([10, 20, 30]);
    expect(new dist.TimeoutError('x', 1).code).toBe('TIMEOUT');
  });
});
