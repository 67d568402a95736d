/**
 * @trellis/files: sandboxed `file:///` resources over configured roots (FILES_ROOT), with
 * completion, and a summary of the roots as a service.
 */
export { FilesError } from './errors.js';
export type { FilesErrorCode } from './errors.js';
export { files, filesServiceKey } from './plugin.js';
export type { FilesPluginOptions, FilesService } from './plugin.js';
export type { FilesSummary, RootSummary } from './summary.js';
