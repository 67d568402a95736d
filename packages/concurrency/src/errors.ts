/**
 * Errors of `@trellis/concurrency`. They stay local (never cross the wire): each is a
 * class with a stable string `code` plus the data needed to act on it.
 */

/**
 * A deadline passed. `operation` names what timed out, `limitMs` the limit.
 *
 * @example
 * try { await withTimeout(search, { ms: 1000, name: 'search' }); }
 * catch (error) { if (error instanceof TimeoutError) reply(`busy: ${error.message}`); }
 */
export class TimeoutError extends Error {
  readonly code = 'TIMEOUT' as const;
  readonly operation: string;
  readonly limitMs: number;

  constructor(operation: string, limitMs: number) {
    super(`${operation} timed out after ${limitMs} ms`);
    this.name = 'TimeoutError';
    this.operation = operation;
    this.limitMs = limitMs;
  }
}

/**
 * A semaphore waiter gave up: no permit within `limitMs` (it waited `waitedMs`).
 *
 * @example
 * if (error instanceof SemaphoreTimeoutError) return busy(`retry in ${error.limitMs} ms`);
 */
export class SemaphoreTimeoutError extends Error {
  readonly code = 'SEMAPHORE_TIMEOUT' as const;
  readonly waitedMs: number;
  readonly limitMs: number;

  constructor(waitedMs: number, limitMs: number) {
    super(`no semaphore permit within ${limitMs} ms (waited ${waitedMs} ms)`);
    this.name = 'SemaphoreTimeoutError';
    this.waitedMs = waitedMs;
    this.limitMs = limitMs;
  }
}

/**
 * Every failure of a task group's children (in the order they failed). Rejections caused
 * by the group aborting its other children are not failures and are not listed.
 *
 * @example
 * try { await group.wait(); }
 * catch (error) { if (error instanceof TaskGroupError) for (const e of error.errors) log.error({ err: e }, 'child failed'); }
 */
export class TaskGroupError extends AggregateError {
  readonly code = 'TASK_GROUP_FAILED' as const;

  constructor(errors: readonly unknown[]) {
    const first = errors[0];
    const detail = first instanceof Error ? first.message : String(first);
    super(errors, `${errors.length} task${errors.length === 1 ? '' : 's'} failed; first: ${detail}`);
    this.name = 'TaskGroupError';
  }
}

/**
 * A worker thread died (process.exit, uncaught error, out of memory) while running a task.
 * The pool replaces the worker; `cause` holds what the worker reported.
 *
 * @example
 * if (error instanceof WorkerCrashError) logger.error({ err: error, task: error.taskName }, 'crash');
 */
export class WorkerCrashError extends Error {
  readonly code = 'WORKER_CRASHED' as const;
  readonly taskName: string;
  readonly poolName: string;

  constructor(taskName: string, poolName: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(`worker crashed while running task "${taskName}" in pool "${poolName}": ${detail}`, { cause });
    this.name = 'WorkerCrashError';
    this.taskName = taskName;
    this.poolName = poolName;
  }
}

/**
 * A worker pool cannot start its workers: the worker module (or the pool library's own worker
 * script) is missing, or the module throws while it loads. Piscina stops starting workers after
 * such a failure, so every task of the pool, queued or new, rejects with this error instead of
 * waiting forever; `cause` holds what the worker reported.
 *
 * @example
 * if (error instanceof WorkerStartError) logger.error({ err: error.cause, pool: error.poolName }, 'worker cannot start');
 */
export class WorkerStartError extends Error {
  readonly code = 'WORKER_START_FAILED' as const;
  readonly poolName: string;

  constructor(poolName: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(`worker pool "${poolName}" cannot start a worker: ${detail}`, { cause });
    this.name = 'WorkerStartError';
    this.poolName = poolName;
  }
}

/**
 * A declared worker module could not be found where builds put it (see `locateWorker`).
 *
 * @example
 * if (error instanceof WorkerNotFoundError) console.error(error.tried);
 */
export class WorkerNotFoundError extends Error {
  readonly code = 'WORKER_NOT_FOUND' as const;
  readonly worker: string;
  /** The files looked for, in order. */
  readonly tried: readonly string[];

  constructor(worker: string, tried: readonly string[], hint: string) {
    super(`worker "${worker}" not found (looked for ${tried.join(', ')}); ${hint}`);
    this.name = 'WorkerNotFoundError';
    this.worker = worker;
    this.tried = tried;
  }
}

/**
 * A primitive was used after it closed: spawning into a finished `TaskGroup`, into
 * `BackgroundTasks` after `drain()` began, or running on a closed `WorkerPool`.
 *
 * @example
 * if (error instanceof ClosedError) return; // shutting down
 */
export class ClosedError extends Error {
  readonly code = 'CLOSED' as const;
  /** What refused the call, e.g. `'TaskGroup'`. */
  readonly resource: string;

  constructor(resource: string, detail: string) {
    super(`${resource} is closed: ${detail}`);
    this.name = 'ClosedError';
    this.resource = resource;
  }
}
