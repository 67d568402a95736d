import { trellisVitestConfig } from '../vitest.shared.ts';

const config = trellisVitestConfig({ testTimeout: 120_000 });
// The guides' example tests run with the docs' own tests.
config.test!.include = ['test/**/*.test.ts', 'examples/**/*.test.ts'];
export default config;
