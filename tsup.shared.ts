import { defineConfig, type Options } from 'tsup';

/** Library build: ESM + declarations, dependencies left external. */
export function libraryBuild(overrides: Options = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    sourcemap: true,
    clean: true,
    // tsup 8.5's d.ts build on TypeScript 6 needs this (TS5101).
    // Dependencies are built first (^build): read their declarations, not their sources.
    dts: { compilerOptions: { ignoreDeprecations: '6.0', customConditions: [] } },
    ...overrides,
  });
}

/**
 * App build: one self-contained ESM file with every dependency bundled, so that
 * `dist/` copied alone runs with only Node. CommonJS dependencies (pino, pg)
 * need `require`, which ESM lacks: the banner provides it.
 */
export function appBuild(overrides: Options = {}) {
  return defineConfig({
    entry: { main: 'src/main.ts' },
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    sourcemap: false,
    clean: true,
    splitting: false,
    dts: false,
    noExternal: [/.*/],
    esbuildOptions(options) {
      // esbuild adds import/require by how a module is loaded; naming 'import' here would hand
      // require() calls the ESM build of a dual package (pg-pool breaks that way).
      options.conditions = ['@trellis/source', 'node'];
    },
    banner: {
      js: [
        '#!/usr/bin/env node',
        "import { createRequire as __trellisCreateRequire } from 'node:module';",
        "import { fileURLToPath as __trellisFileURLToPath } from 'node:url';",
        "import { dirname as __trellisDirname } from 'node:path';",
        'const require = __trellisCreateRequire(import.meta.url);',
        'const __filename = __trellisFileURLToPath(import.meta.url);',
        'const __dirname = __trellisDirname(__filename);',
      ].join('\n'),
    },
    ...overrides,
  });
}
