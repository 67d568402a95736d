import { availableParallelism } from 'node:os';
import { basename, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { ClosedError, WorkerCrashError } from './errors.js';
import { warningLogger, type TaskLogger } from './logger.js';
import { assertPositiveInteger } from './validate.js';

/** Options of {@link WorkerPool}. */
export interface WorkerPoolOptions {
  /**
   * The worker module (absolute path or `file:` URL); its default export is called with
   * each task and may return a promise. Plain JavaScript: worker threads load it with Node.
   */
  filename: string | URL;
  /** Worker threads; default `os.availableParallelism()`, one per CPU the process may use. */
  size?: number;
  /** Names the pool in errors and logs; default the module's base name. */
  name?: string;
  /** Where a worker failure outside any task goes; default `process.emitWarning`. */
  logger?: TaskLogger;
}

/** Options of {@link WorkerPool.run}. */
export interface WorkerRunOptions {
  /** Aborting stops the task: a queued task is dropped, a running one's worker is terminated. */
  signal?: AbortSignal;
  /** Names the task in a {@link WorkerCrashError}; default the pool's name. */
  name?: string;
}

/** How piscina reports a worker that exited while it ran a task. */
const EXITED = /^worker exited with code: -?\d+$/;

/**
 * CPU-bound work on worker threads (Python: `loop.run_in_executor(ProcessPoolExecutor())`,
 * `asyncio.to_thread`), over piscina. The event loop stays free for other requests.
 *
 * - Abort really stops a task: piscina terminates the worker running it (even a busy loop)
 *   and starts a replacement; `run` rejects with the signal's reason.
 * - A worker that dies mid-task (`process.exit`, an uncaught error, out of memory) rejects
 *   that task with a {@link WorkerCrashError} naming it; the pool replaces the worker and
 *   keeps serving. An error thrown or rejected by the task function itself is not a crash:
 *   `run` rejects with it as is.
 *
 * @example
 * const pool = new WorkerPool({ filename: new URL('./render.worker.mjs', import.meta.url), name: 'render' });
 * const pdf = await pool.run({ html }, { signal: ctx.signal, name: 'render-pdf' });
 * await pool.close(); // on shutdown
 */
export class WorkerPool {
  /** Names the pool in errors and logs. */
  readonly name: string;
  /** Worker threads. */
  readonly size: number;
  readonly #pool: Piscina;
  readonly #watched = new WeakSet<Worker>();
  /** Errors reported by a dying worker (as opposed to errors a task threw). */
  readonly #crashes = new WeakSet<object>();
  #closed = false;

  /** @throws TypeError on a missing `filename` or a bad `size`. */
  constructor(options: WorkerPoolOptions) {
    const { filename, size = availableParallelism() } = options;
    if (!(filename instanceof URL) && (typeof filename !== 'string' || filename === '')) {
      throw new TypeError(`filename must be a path or a file: URL, got ${String(filename)}`);
    }
    assertPositiveInteger('size', size);
    const path = filename instanceof URL ? fileURLToPath(filename) : filename;
    this.name = options.name ?? basename(path, extname(path));
    this.size = size;
    const logger = options.logger ?? warningLogger;
    this.#pool = new Piscina({ filename: path, minThreads: size, maxThreads: size });
    // Without a listener, an 'error' event (a worker dying between tasks) would crash the process.
    this.#pool.on('error', (error: unknown) => {
      logger.error({ err: error, pool: this.name }, `worker pool "${this.name}": a worker failed outside any task`);
    });
    this.#pool.on('workerCreate', () => this.#watchWorkers());
    this.#watchWorkers();
  }

  /**
   * Runs `task` (structured-cloned) on a worker and resolves with what the worker returns.
   *
   * @throws ClosedError after `close()`.
   * @example
   * const digest = await pool.run<string>({ path }, { signal, name: 'hash-file' });
   */
  async run<R = unknown>(task: unknown, options: WorkerRunOptions = {}): Promise<R> {
    const { signal, name = this.name } = options;
    if (this.#closed) throw new ClosedError('WorkerPool', `cannot run task "${name}" in pool "${this.name}"`);
    signal?.throwIfAborted();
    this.#watchWorkers();
    try {
      return (await this.#pool.run(task, signal ? { signal } : {})) as R;
    } catch (error) {
      if (signal?.aborted && error instanceof Error && error.name === 'AbortError') throw signal.reason;
      if (this.#isCrash(error)) throw new WorkerCrashError(name, this.name, error);
      throw error;
    }
  }

  /**
   * Refuses new tasks, lets running and queued ones finish, then stops the workers.
   *
   * @example
   * await pool.close();
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#pool.close();
  }

  /**
   * Remembers the errors workers die of. Piscina rejects a crashed task with the very error
   * object the worker emitted, and its own listener runs before this one, which still comes
   * before the rejection reaches `run` (a microtask later).
   */
  #watchWorkers(): void {
    for (const worker of this.#pool.threads) {
      if (this.#watched.has(worker)) continue;
      this.#watched.add(worker);
      worker.on('error', (error: unknown) => {
        if (typeof error === 'object' && error !== null) this.#crashes.add(error);
      });
    }
  }

  #isCrash(error: unknown): boolean {
    if (typeof error !== 'object' || error === null) return false;
    return this.#crashes.has(error) || (error instanceof Error && EXITED.test(error.message));
  }
}
