import { trellisVitestConfig } from '../vitest.shared.ts';

export default trellisVitestConfig({ testTimeout: 180_000 });
