export { fileOpener, fileResources } from './provider.js';
export type { FileResourcesOptions } from './provider.js';
