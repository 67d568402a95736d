import { defineConfig } from 'vitest/config';

/**
 * One test configuration for every project. Workspace packages resolve to their
 * `src/` through the `@trellis/source` export condition, so tests need no build;
 * each run writes a JSON report that the closing summary counts (and Nx caches).
 */
export function trellisVitestConfig(options: { testTimeout?: number } = {}) {
  return defineConfig({
    resolve: { conditions: ['@trellis/source'] },
    ssr: { resolve: { conditions: ['@trellis/source'] } },
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      environment: 'node',
      testTimeout: options.testTimeout ?? 20_000,
      hookTimeout: 60_000,
      reporters: ['default', ['json', { outputFile: 'reports/vitest.json' }]],
      // Vitest empties CSS imports unless included; the status page imports its stylesheets as text (`?raw`).
      css: { include: [/\.css\?raw$/] },
      // A handler that leaks an unhandled rejection fails the run.
      dangerouslyIgnoreUnhandledErrors: false,
    },
  });
}
