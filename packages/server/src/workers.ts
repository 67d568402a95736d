import { ClosedError, locateWorker, WorkerCrashError, WorkerPool, WorkerStartError } from '@trellis/concurrency';
import { ToolError } from '@trellis/tools';
import type { Logger } from './logging.js';

/** Options of `scope.workers()`. */
export interface PluginWorkersOptions {
  /** The calling module's `import.meta.url`: the built worker is found relative to it. */
  from: string | URL;
  /** Most threads; default the server's WORKER_THREADS. */
  size?: number;
}

/** Options of {@link PluginWorkerPool.run}. */
export interface PluginWorkerRunOptions {
  /** Pass `ctx.signal`: when the request ends, its job is dropped or its thread terminated. */
  signal?: AbortSignal;
  /** Names the job in logs; default the worker's name. */
  name?: string;
}

/** A pool of threads running one worker module of a plugin (see `PluginScope.workers`). */
export interface PluginWorkerPool {
  readonly name: string;
  readonly size: number;
  /**
   * Runs `job` (structured-cloned) on a thread; resolves with what the worker's default
   * export returns. A worker that cannot start, crashes, or a server that is shutting down
   * rejects with a `ToolError` whose message is safe to show (the cause goes to the log).
   * @example const { sha256 } = await hasher.run<{ sha256: string }>({ path }, { signal: ctx.signal });
   */
  run<R = unknown>(job: unknown, options?: PluginWorkerRunOptions): Promise<R>;
}

/**
 * A plugin's worker pool: the module is located now (a missing build stops the start, naming
 * the fix), threads start on first use, and `close` stops them. Failures of the pool itself
 * become `ToolError`s so a tool call ends in a clear `isError` result, never a hang.
 */
export function createPluginWorkerPool(
  worker: string,
  options: PluginWorkersOptions & { size: number; log: Logger },
): { pool: PluginWorkerPool; close(): Promise<void> } {
  const filename = locateWorker(worker, options.from);
  const log = options.log.child({ worker });
  const pool = new WorkerPool({ filename, size: options.size, name: worker, logger: log });
  return {
    pool: {
      name: worker,
      size: pool.size,
      async run<R>(job: unknown, runOptions: PluginWorkerRunOptions = {}): Promise<R> {
        try {
          return await pool.run<R>(job, runOptions);
        } catch (error) {
          if (error instanceof WorkerStartError) {
            // Logged once by the pool, with its cause.
            throw new ToolError(
              `The "${worker}" worker cannot start, so this cannot be done now; the server log has the details.`,
              { cause: error },
            );
          }
          if (error instanceof WorkerCrashError) {
            log.error({ err: error, job: runOptions.name ?? worker }, error.message);
            throw new ToolError(
              `The "${worker}" worker crashed while doing this; try again, and report it if it happens again.`,
              { cause: error },
            );
          }
          if (error instanceof ClosedError)
            throw new ToolError('The server is shutting down; try again shortly.', { cause: error });
          throw error;
        }
      },
    },
    close: () => pool.close(),
  };
}
