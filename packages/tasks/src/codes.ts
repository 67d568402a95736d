/** The extension's identifier, under `capabilities.extensions` and in a request's client capabilities. */
export const TASKS_EXTENSION_ID = 'io.modelcontextprotocol/tasks';

/**
 * The JSON-RPC codes the tasks surface answers (named once; the protocol
 * defines them, SEP-2663 and SEP-2575 say when).
 */
export const TaskWireCodes = {
  /** `tasks/list`, `tasks/result` (removed in the 2026-07-28 extension); the SDK answers it. */
  MethodNotFound: -32601,
  /** An unknown task id — or another principal's task, which is not disclosed. */
  InvalidParams: -32602,
  /** Something failed inside the server while running a task (a `failed` task's error). */
  InternalError: -32603,
  /** The `Mcp-Name` header differs from `params.taskId` (the SDK's header check answers it). */
  HeaderMismatch: -32020,
  /** `tasks/*`, or a `required` tool, from a request that did not declare the extension. */
  MissingRequiredClientCapability: -32021,
} as const;

/** How a task stands. `completed`, `failed` and `cancelled` are terminal. */
export type TaskStatus = 'working' | 'input_required' | 'completed' | 'failed' | 'cancelled';

export const TERMINAL_STATUSES: readonly TaskStatus[] = ['completed', 'failed', 'cancelled'];
export const LIVE_STATUSES: readonly TaskStatus[] = ['working', 'input_required'];

export function isTerminal(status: TaskStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

/** Whether a tool may run as a task: never, when the server decides, or only as one. */
export type TaskSupport = 'forbidden' | 'optional' | 'required';
