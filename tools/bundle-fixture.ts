import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rawText } from '../tsup.shared.ts';
import { tsupEsbuild } from './app-start.ts';

const workspace = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Bundles a test's fixture app into one self-contained ESM file in a fresh
 * temporary directory, as an app build does (workspace packages from source,
 * the status page's assets imported as text), with esbuild taken from tsup's
 * own dependencies. Returns the bundle's path.
 */
export async function bundleFixture(entry: string, name: string): Promise<string> {
  const esbuild = tsupEsbuild();
  const outfile = join(mkdtempSync(join(tmpdir(), `trellis-${name}-`)), `${name}.mjs`);
  await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@trellis/source'],
    nodePaths: [join(workspace, 'packages/server/node_modules')],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    plugins: [rawText],
    logLevel: 'error',
  });
  return outfile;
}
