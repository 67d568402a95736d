import { trellisVitestConfig } from '../vitest.shared.ts';

// Packing and an npm install of every package take about a minute on a busy machine (once, in beforeAll).
export default trellisVitestConfig({ testTimeout: 120_000 });
