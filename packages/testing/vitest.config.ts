import { defineConfig, mergeConfig } from 'vitest/config';
import { trellisVitestConfig } from '../../vitest.shared.ts';

/**
 * The behaviour suite runs twice: with the fast path (as production serves
 * tool calls) and with every call through the SDK's dispatch. Both must give
 * the same answers, notifications and errors; `connectInProcess` reads
 * TRELLIS_FAST_PATH. The apps tests spawn real processes and run once.
 */
export default mergeConfig(
  trellisVitestConfig(),
  defineConfig({
    test: {
      projects: [
        { extends: true, test: { name: 'fast-path' } },
        {
          extends: true,
          test: {
            name: 'sdk-path',
            env: { TRELLIS_FAST_PATH: 'off' },
            exclude: ['test/apps.test.ts', '**/node_modules/**'],
          },
        },
      ],
    },
  }),
);
