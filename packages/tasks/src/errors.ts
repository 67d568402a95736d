/** Codes of the errors the tasks package throws. */
export type TaskErrorCode = 'TASK_LIMIT' | 'TASK_STORE' | 'TASK_STATE';

/** A task problem with a stable code. */
export class TaskError extends Error {
  constructor(
    readonly code: TaskErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TaskError';
  }
}

/** The live-task cap is reached: no task was created. */
export class TaskLimitError extends TaskError {
  constructor(
    readonly live: number,
    readonly limit: number,
  ) {
    super(
      'TASK_LIMIT',
      `too many live tasks (${live} of ${limit}); no task was created — retry when some have finished`,
    );
    this.name = 'TaskLimitError';
  }
}
