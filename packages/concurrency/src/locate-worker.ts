import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkerNotFoundError } from './errors.js';

/** A worker's name becomes a file name: keep it to one plain segment. */
const WORKER_NAME = /^[a-z][a-z0-9-]*$/;

/**
 * Finds the built file of a worker module that a package declares in its `package.json`:
 *
 * ```json
 * "trellis": { "workers": { "hash-file": "./src/hash-file.worker.ts" } }
 * ```
 *
 * The builds know that declaration (`tsup.shared.ts`): a library build emits each worker as
 * `dist/workers/<name>.js` beside `dist/index.js`, and an app build ships every worker its
 * packages declare as `dist/workers/<name>.js` beside `dist/main.js`. So the file is
 * `./workers/<name>.js` next to the module calling this, whether that module is a library's
 * `dist/index.js` or an app's bundle. Run from sources (tests), it is the package's built
 * `dist/workers/<name>.js`: Node 20 cannot run a `.ts` worker.
 *
 * @param name the key under `trellis.workers`
 * @param from the calling module's `import.meta.url`
 * @throws TypeError on a bad name; WorkerNotFoundError, saying what to do, when no file is there.
 * @example
 * const pool = new WorkerPool({ filename: locateWorker('hash-file', import.meta.url) });
 */
export function locateWorker(name: string, from: string | URL): string {
  if (typeof name !== 'string' || !WORKER_NAME.test(name)) {
    throw new TypeError(
      `worker name must be lower-case letters, digits and dashes, starting with a letter, got ${JSON.stringify(name)}`,
    );
  }
  const fromPath = from instanceof URL || from.startsWith('file:') ? fileURLToPath(from) : from;
  const beside = join(dirname(fromPath), 'workers', `${name}.js`);
  if (existsSync(beside)) return beside;

  const manifest = nearestManifest(dirname(fromPath));
  if (!manifest) {
    throw new WorkerNotFoundError(
      name,
      [beside],
      'an app build ships every worker its packages declare into dist/workers/: rebuild the app',
    );
  }
  const declared = manifest.json.trellis?.workers?.[name];
  const packageName = manifest.json.name ?? manifest.dir;
  if (typeof declared !== 'string') {
    throw new WorkerNotFoundError(
      name,
      [beside],
      `declare it in ${join(manifest.dir, 'package.json')} as "trellis": { "workers": { "${name}": "./src/${name}.worker.ts" } } so that the builds emit it`,
    );
  }
  const built = join(manifest.dir, 'dist', 'workers', `${name}.js`);
  if (existsSync(built)) return built;
  throw new WorkerNotFoundError(
    name,
    [beside, built],
    `build ${packageName} first: its build emits ${declared} as dist/workers/${name}.js`,
  );
}

interface Manifest {
  dir: string;
  json: { name?: string; trellis?: { workers?: Record<string, unknown> } };
}

function nearestManifest(start: string): Manifest | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        return { dir, json: JSON.parse(readFileSync(file, 'utf8')) as Manifest['json'] };
      } catch {
        return undefined;
      }
    }
    if (dirname(dir) === dir) return undefined;
  }
}
