import { trellisVitestConfig } from '../../vitest.shared.ts';

export default trellisVitestConfig();
