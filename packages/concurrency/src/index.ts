/**
 * @trellis/concurrency: structured concurrency for tool handlers — task groups, semaphores,
 * deadlines, partial results, a worker-thread pool, tracked background tasks and a
 * single-flight TTL cache.
 */
export { BackgroundTasks } from './background-tasks.js';
export type { BackgroundTasksOptions, DrainOptions, DrainReport } from './background-tasks.js';
export { withTimeout } from './deadline.js';
export type { WithTimeoutOptions } from './deadline.js';
export {
  ClosedError,
  SemaphoreTimeoutError,
  TaskGroupError,
  TimeoutError,
  WorkerCrashError,
  WorkerNotFoundError,
  WorkerStartError,
} from './errors.js';
export { KeyedSemaphore } from './keyed-semaphore.js';
export type { TaskLogger } from './logger.js';
export { Semaphore } from './semaphore.js';
export type { AcquireOptions, Release } from './semaphore.js';
export { settleAll } from './settle-all.js';
export type { SettleAllOptions, SettleAllResult } from './settle-all.js';
export { anySignal, sleep } from './signals.js';
export type { LinkedSignal, SleepOptions } from './signals.js';
export { TaskGroup, runTaskGroup } from './task-group.js';
export type { GroupTask, TaskGroupOptions } from './task-group.js';
export { TtlCache } from './ttl-cache.js';
export type { CacheGetOptions, TtlCacheOptions } from './ttl-cache.js';
export { locateWorker } from './locate-worker.js';
export { WorkerPool } from './worker-pool.js';
export type { WorkerPoolOptions, WorkerRunOptions } from './worker-pool.js';
export { CancelScope } from './cancel-scope.js';
export { observeQueueWait } from './queue-telemetry.js';
export { carryTraceContext, releaseTraceContext, traceContextOf, withTraceContextOf } from './trace-context.js';
