import { mergeConfig } from 'vitest/config';
import { trellisVitestConfig } from '../../vitest.shared.ts';

export default mergeConfig(trellisVitestConfig(), {
  test: {
    // Fails any test during which a promise rejection goes unhandled.
    setupFiles: ['./test/setup/no-unhandled-rejections.ts'],
  },
});
