export { transportConfigSchema } from './config.js';
export type { TransportConfig } from './config.js';
export { EXIT_BAD_CONFIG, EXIT_START_FAILED, run } from './run.js';
export type { App, RunIO, RunningApp } from './run.js';
