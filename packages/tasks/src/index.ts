export { isTerminal, TASKS_EXTENSION_ID, TaskWireCodes } from './codes.js';
export type { TaskStatus, TaskSupport } from './codes.js';
export { TaskError, TaskLimitError } from './errors.js';
export type { TaskErrorCode } from './errors.js';
export { newTaskId } from './ids.js';
export { MemoryTaskStore } from './memory-store.js';
export type { MemoryTaskStoreOptions } from './memory-store.js';
export { declaresTasks, installTaskMethods, missingTasksCapability } from './methods.js';
export type { OwnerOf } from './methods.js';
export { detailedView, statusMessageOf, TaskRuntime, taskView } from './runtime.js';
export type {
  CallAnswer,
  CreateTaskResult,
  DetachedRound,
  DetailedTask,
  ProgressUpdate,
  RoundOutcome,
  RoundRunner,
  TaskCall,
  TaskChange,
  TaskRuntimeOptions,
} from './runtime.js';
export type {
  AppliedResponses,
  Json,
  JsonObject,
  NewTask,
  TaskFailure,
  TaskPatch,
  TaskRecord,
  TaskSignal,
  TaskStore,
  TaskWrite,
} from './store.js';
