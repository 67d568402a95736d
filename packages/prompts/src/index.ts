export { PromptNameClashError } from './define.js';
export type { AnyPromptSpec, PromptArgs, PromptReturn, PromptSpec } from './define.js';
export { assistant, imageMessage, resourceMessage, user } from './messages.js';
export type { PromptContent } from './messages.js';
export { PromptRegistry } from './registry.js';
export type { PromptGetResult, PromptRegistryOptions } from './registry.js';
export type { Completer, CompletionContext, CompletionValues } from '@trellis/resources';
