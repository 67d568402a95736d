import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Options } from 'tsup';
import { expect } from 'vitest';

/**
 * The exports map is the contract: builds a package with its own tsup config
 * (declarations aside, for speed) and checks that every subpath's `default`
 * file exists and exports exactly what its source entry does. Used by the
 * packages' `exports.test.ts`.
 */
export async function expectBuiltExportsMatchSource(packageDir: string, config: Options): Promise<void> {
  const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
    exports: Record<string, { '@trellis/source': string; types: string; default: string }>;
  };
  // Inside the package (in reports/, which lint and git ignore), so the built files
  // resolve their dependencies from the workspace as dist/ would.
  const cacheDir = join(packageDir, 'reports');
  mkdirSync(cacheDir, { recursive: true });
  const outDir = mkdtempSync(join(cacheDir, 'exports-test-'));
  try {
    await build({
      ...config,
      config: false,
      outDir,
      dts: false,
      sourcemap: false,
      silent: true,
      clean: false,
      tsconfig: join(packageDir, 'tsconfig.json'),
    });
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      expect(target.types, subpath).toBe(target.default.replace(/\.js$/, '.d.ts'));
      const built = (await import(pathToFileURL(join(outDir, target.default.replace('./dist/', ''))).href)) as Record<
        string,
        unknown
      >;
      const source = (await import(pathToFileURL(join(packageDir, target['@trellis/source'])).href)) as Record<
        string,
        unknown
      >;
      expect(Object.keys(built).sort(), subpath).toEqual(Object.keys(source).sort());
      expect(Object.keys(built).length, subpath).toBeGreaterThan(0);
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}
