import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { defineConfig, type Options } from 'tsup';
import { BANNER, buildStartScripts } from './tools/app-start.ts';

/**
 * `import text from './file?raw'` bundles the file's text as a string, as Vite
 * does in tests (the status page's HTML, script and uPlot ship inside the build).
 */
export const rawText: NonNullable<Options['esbuildPlugins']>[number] = {
  name: 'raw-text',
  setup(build) {
    build.onResolve({ filter: /\?raw$/ }, (args) => {
      const bare = args.path.slice(0, -'?raw'.length);
      const path = bare.startsWith('.') ? resolve(args.resolveDir, bare) : createRequire(args.importer).resolve(bare);
      // The suffix stays on, so that no loader keyed on the extension (tsup's CSS) claims the file.
      return { path: `${path}?raw`, namespace: 'raw-text' };
    });
    build.onLoad({ filter: /.*/, namespace: 'raw-text' }, async (args) => {
      const path = args.path.slice(0, -'?raw'.length);
      return { contents: await readFile(path, 'utf8'), loader: 'text', resolveDir: dirname(path) };
    });
  },
};

/**
 * The OpenTelemetry packages from their ES module builds. They ship two builds, and esbuild took the
 * CommonJS one: some have no `exports` map (only `main` and `module`), and the API's map keeps its ES
 * module build behind the bundler-only `module` condition, which the app build's own `conditions` leave
 * out. Every import of a CommonJS module goes through esbuild's interop object, whose getters all share
 * one function reading `module[key]`: a megamorphic call on each `context.active()` or `trace.getSpan()`,
 * several per request with telemetry on. Taken as ES modules, their exports are plain bindings, and one
 * build of each package is bundled.
 */
export const openTelemetryModules: NonNullable<Options['esbuildPlugins']>[number] = {
  name: 'opentelemetry-modules',
  setup(build) {
    build.onResolve({ filter: /^@opentelemetry\// }, (args) => {
      const [scope, name, ...rest] = args.path.split('/');
      const packageName = `${scope}/${name}`;
      const lookup = createRequire(join(args.resolveDir, 'importer.js')).resolve.paths(packageName) ?? [];
      const dir = lookup.map((modules) => join(modules, packageName)).find((d) => existsSync(join(d, 'package.json')));
      if (!dir) return undefined;
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        module?: string;
        exports?: Record<string, unknown>;
      };
      const key = rest.length === 0 ? '.' : `./${rest.join('/')}`;
      const mapped = manifest.exports?.[key];
      const entry =
        typeof mapped === 'object' && mapped !== null && typeof (mapped as { module?: unknown }).module === 'string'
          ? (mapped as { module: string }).module
          : key === '.' && manifest.exports === undefined
            ? manifest.module
            : undefined;
      return entry === undefined ? undefined : { path: join(dir, entry) };
    });
  },
};

/**
 * Worker modules are declared in a package's package.json, where both builds can see them
 * (esbuild does not follow `new URL('./x.worker.js', import.meta.url)`):
 *
 *   "trellis": { "workers": { "hash-file": "./src/hash-file.worker.ts" } }
 *
 * At run time `locateWorker(name, import.meta.url)` (@trellis/concurrency) finds the built
 * file at `workers/<name>.js` beside the calling module: a library's dist/index.js or an
 * app's dist/main.js.
 */
interface Manifest {
  name?: string;
  dependencies?: Record<string, string>;
  trellis?: { workers?: Record<string, string> };
}

function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
}

/** The workers a package declares, as tsup entries `workers/<name>` → file. */
function declaredWorkers(dir: string, manifest: Manifest): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const [name, file] of Object.entries(manifest.trellis?.workers ?? {})) {
    if (!/^[a-z][a-z0-9-]*$/.test(name))
      throw new Error(
        `${join(dir, 'package.json')}: worker name ${JSON.stringify(name)} must be lower-case letters, digits and dashes`,
      );
    const source = resolve(dir, file);
    // A published package ships dist/ only: bundle its built worker instead.
    const built = join(dir, 'dist', 'workers', `${name}.js`);
    const entry = existsSync(source) ? source : built;
    if (!existsSync(entry))
      throw new Error(
        `${manifest.name ?? dir} declares worker "${name}" as ${file}, but neither it nor ${built} exists`,
      );
    entries[`workers/${name}`] = entry;
  }
  return entries;
}

/** Where a dependency of the package in `fromDir` lives (pnpm links it under node_modules). */
function dependencyDir(fromDir: string, name: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Every worker declared by the app's runtime dependencies (transitively), and where the
 * pool library (piscina) lives if any package uses it. Two packages declaring the same
 * worker name would overwrite each other's file: that stops the build.
 */
function workersOfApp(appDir: string): { entries: Record<string, string>; piscinaDir: string | undefined } {
  const entries: Record<string, string> = {};
  const owners = new Map<string, string>();
  const seen = new Set<string>();
  let piscinaDir: string | undefined;
  const visit = (dir: string) => {
    if (seen.has(dir)) return;
    seen.add(dir);
    const manifest = readManifest(dir);
    for (const [entry, file] of Object.entries(declaredWorkers(dir, manifest))) {
      const owner = manifest.name ?? dir;
      const other = owners.get(entry);
      if (other !== undefined && other !== owner)
        throw new Error(
          `worker "${entry.slice('workers/'.length)}" is declared by both ${other} and ${owner}: rename one`,
        );
      owners.set(entry, owner);
      entries[entry] = file;
    }
    for (const name of Object.keys(manifest.dependencies ?? {})) {
      const found = dependencyDir(dir, name);
      if (!found) continue;
      if (name === 'piscina') piscinaDir ??= found;
      visit(found);
    }
  };
  visit(appDir);
  return { entries, piscinaDir };
}

/** Library build: ESM + declarations, dependencies left external; each declared worker as dist/workers/<name>.js. */
export function libraryBuild(overrides: Options = {}) {
  const dir = process.cwd();
  const workers = declaredWorkers(dir, readManifest(dir));
  const { entry = { index: 'src/index.ts' }, ...rest } = overrides;
  const hasWorkers = Object.keys(workers).length > 0;
  if (hasWorkers && (Array.isArray(entry) || typeof entry !== 'object'))
    throw new Error('libraryBuild: give `entry` as an object when the package declares workers');
  return defineConfig({
    entry: hasWorkers ? { ...(entry as Record<string, string>), ...workers } : entry,
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    sourcemap: true,
    clean: true,
    // tsup 8.5's d.ts build on TypeScript 6 needs this (TS5101).
    // Dependencies are built first (^build): read their declarations, not their sources.
    // Workers are loaded by path, never imported: they need no declarations.
    dts: { ...(hasWorkers && { entry }), compilerOptions: { ignoreDeprecations: '6.0', customConditions: [] } },
    esbuildPlugins: [rawText],
    ...rest,
  });
}

/**
 * App build: one self-contained ESM bundle with every dependency bundled, so that
 * `dist/` copied alone runs with only Node. CommonJS dependencies (pino, pg)
 * need `require`, which ESM lacks: the banner provides it. Then `dist/main.js` becomes
 * a start through V8's code cache, built by tools/app-start.ts.
 *
 * Worker threads load files of their own, so the build also ships, with no per-app setting:
 * every worker the app's packages declare, as `dist/workers/<name>.js`, and piscina's own
 * worker script as `dist/worker.js` (piscina, bundled into main.js, starts its threads from
 * `__dirname/worker.js`). Piscina's optional native helper (`@napi-rs/nice`, only used to
 * lower thread priority) stays out: piscina loads it in a try and does without.
 */
export function appBuild(overrides: Options = {}) {
  const { onSuccess, ...rest } = overrides;
  if (typeof onSuccess === 'string') throw new Error('appBuild: give `onSuccess` as a function');
  const { entries: workers, piscinaDir } = workersOfApp(process.cwd());
  const needsPool = Object.keys(workers).length > 0 && piscinaDir !== undefined;
  const piscinaWorker = needsPool
    ? join(dirname(createRequire(join(piscinaDir, 'package.json')).resolve('piscina')), 'worker.js')
    : undefined;
  return defineConfig({
    entry: { main: 'src/main.ts', ...workers, ...(piscinaWorker && { worker: piscinaWorker }) },
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    sourcemap: false,
    clean: true,
    // Code reached only by a dynamic import (the OpenTelemetry SDK, loaded when telemetry is on)
    // goes to chunk files beside main.js and is never read otherwise. Chunks sit in dist/ itself,
    // so that __dirname and import.meta.url mean the same in them as in main.js.
    splitting: true,
    dts: false,
    noExternal: [/.*/],
    esbuildPlugins: [rawText, openTelemetryModules],
    esbuildOptions(options) {
      // noExternal would pull it in; esbuild's own list is checked after tsup's plugin.
      options.external = [...(options.external ?? []), '@napi-rs/nice'];
      // esbuild adds import/require by how a module is loaded; naming 'import' here would hand
      // require() calls the ESM build of a dual package (pg-pool breaks that way).
      options.conditions = ['@trellis/source', 'node'];
      options.chunkNames = 'chunk-[name]-[hash]';
    },
    banner: { js: BANNER },
    // The app's own step first (assets the training start may read), then the start through the code cache.
    onSuccess: async () => {
      await onSuccess?.();
      await buildStartScripts(join(process.cwd(), 'dist'));
    },
    ...rest,
  });
}
