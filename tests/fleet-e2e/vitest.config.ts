import { trellisVitestConfig } from '../../vitest.shared.ts';

// Real processes and a real PostgreSQL on a shared machine: room for a loaded scheduler.
export default trellisVitestConfig({ testTimeout: 60_000 });
