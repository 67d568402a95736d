export { ToolCallScope, type UnobservedFailures } from './call-scope.js';
export { audio, embeddedResource, image, resourceLink, text } from './content.js';
export { ToolError, ToolNameClashError } from './define.js';
export type {
  AnyToolSpec,
  TaskSupport,
  ToolArgs,
  ToolResult,
  ToolReturn,
  ToolSpec,
  ToolTaskOptions,
} from './define.js';
export { describeIssues, formatProblems } from './issues.js';
export type { FieldProblem } from './issues.js';
export { ToolRegistry, busyResult, errorResult, failureKindOf } from './registry.js';
export type {
  ToolCallAnswer,
  ToolCallOptions,
  ToolCallResult,
  ToolFailureKind,
  ToolRegistryOptions,
} from './registry.js';
export { toolJsonSchema } from './schema.js';
