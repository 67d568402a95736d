export { ResourceClashError } from './define.js';
export type {
  Completer,
  CompletionContext,
  CompletionValues,
  ResourceEntry,
  ResourceReturn,
  ResourceSpec,
  ResourceTemplateSpec,
} from './define.js';
export { FileAccessError } from './file-error.js';
export type { FileAccessCode } from './file-error.js';
export { assertPageSize, paginate } from './paging.js';
export type { Page } from './paging.js';
export { capCompletions, ResourceRegistry } from './registry.js';
export type { ResourceRegistryOptions, ResourceUpdatedListener } from './registry.js';
