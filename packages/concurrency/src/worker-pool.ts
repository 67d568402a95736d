import { availableParallelism } from 'node:os';
import { basename, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { Piscina } from 'piscina';
import { ClosedError, WorkerCrashError, WorkerStartError } from './errors.js';
import { observeWorkerPool } from './queue-telemetry.js';
import { warningLogger, type TaskLogger } from './logger.js';
import { traceContextOf } from './trace-context.js';
import { assertDuration, assertPositiveInteger } from './validate.js';

/** Options of {@link WorkerPool}. */
export interface WorkerPoolOptions {
  /**
   * The worker module (absolute path or `file:` URL); its default export is called with
   * each task and may return a promise. Plain JavaScript: worker threads load it with Node.
   */
  filename: string | URL;
  /** Most worker threads; default `os.availableParallelism()`, one per CPU the process may use. */
  size?: number;
  /**
   * Threads start on demand and stop after this long without work (ms); default 30 s. A pool
   * nobody uses costs no thread.
   */
  idleTimeoutMs?: number;
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
 * - A worker that dies before it is ready (its module or piscina's own worker script is
 *   missing, or the module throws as it loads) breaks the pool: piscina starts no more
 *   workers, so every queued and later task rejects with a {@link WorkerStartError} instead
 *   of waiting forever.
 *
 * @example
 * const pool = new WorkerPool({ filename: locateWorker('render', import.meta.url), name: 'render' });
 * const pdf = await pool.run({ html }, { signal: ctx.signal, name: 'render-pdf' });
 * await pool.close(); // on shutdown
 */
export class WorkerPool {
  /** Names the pool in errors and logs. */
  readonly name: string;
  /** Most worker threads. */
  readonly size: number;
  /** Made on the first `run` (piscina is loaded then: an app whose pools never run never loads it). */
  #pool: Piscina | undefined;
  #starting: Promise<Piscina> | undefined;
  readonly #piscinaOptions: { filename: string; minThreads: number; maxThreads: number; idleTimeout: number };
  readonly #logger: TaskLogger;
  readonly #watched = new WeakSet<Worker>();
  /** Errors reported by a dying worker (as opposed to errors a task threw). */
  readonly #crashes = new WeakSet<object>();
  /** Rejects the runs still waiting when the pool breaks. */
  readonly #waiting = new Set<(error: WorkerStartError) => void>();
  #broken: WorkerStartError | undefined;
  #closed = false;
  readonly #unobserve: () => void;
  /** Jobs handed to piscina and not yet settled (running or queued there), for telemetry. */
  readonly #jobs = { running: 0 };

  /** @throws TypeError on a missing `filename`, a bad `size` or a bad `idleTimeoutMs`. */
  constructor(options: WorkerPoolOptions) {
    const { filename, size = availableParallelism(), idleTimeoutMs = 30_000 } = options;
    if (!(filename instanceof URL) && (typeof filename !== 'string' || filename === '')) {
      throw new TypeError(`filename must be a path or a file: URL, got ${String(filename)}`);
    }
    assertPositiveInteger('size', size);
    assertDuration('idleTimeoutMs', idleTimeoutMs);
    const path = filename instanceof URL ? fileURLToPath(filename) : filename;
    this.name = options.name ?? basename(path, extname(path));
    this.size = size;
    this.#logger = options.logger ?? warningLogger;
    this.#piscinaOptions = { filename: path, minThreads: 0, maxThreads: size, idleTimeout: idleTimeoutMs };
    const jobs = this.#jobs;
    const queued = () => this.#pool?.queueSize ?? 0;
    this.#unobserve = observeWorkerPool(this.name, {
      size,
      get running() {
        return jobs.running;
      },
      get queued() {
        return queued();
      },
    });
  }

  /**
   * Runs `task` (structured-cloned) on a worker and resolves with what the worker returns.
   *
   * @throws ClosedError after `close()`; WorkerStartError once a worker could not start.
   * @example
   * const digest = await pool.run<string>({ path }, { signal, name: 'hash-file' });
   */
  async run<R = unknown>(task: unknown, options: WorkerRunOptions = {}): Promise<R> {
    const { signal, name = this.name } = options;
    if (this.#closed) throw new ClosedError('WorkerPool', `cannot run task "${name}" in pool "${this.name}"`);
    if (this.#broken) throw this.#broken;
    signal?.throwIfAborted();
    const pool = this.#pool ?? (await this.#start());
    if (this.#closed) throw new ClosedError('WorkerPool', `cannot run task "${name}" in pool "${this.name}"`);
    if (this.#broken) throw this.#broken;
    signal?.throwIfAborted();
    // A span per job, under the request `signal` belongs to (through @opentelemetry/api: nothing happens unless an app set up telemetry).
    const span = trace
      .getTracer('@trellis/concurrency')
      .startSpan(
        `worker job ${name}`,
        { attributes: { 'trellis.worker_pool.name': this.name, 'trellis.worker_pool.queued': pool.queueSize } },
        traceContextOf(signal),
      );
    let reject!: (error: WorkerStartError) => void;
    const broken = new Promise<never>((_, fail) => (reject = fail));
    this.#waiting.add(reject);
    const running = pool.run(task, signal ? { signal } : {});
    this.#jobs.running++;
    // Piscina starts a thread for this task synchronously, if it needs one: watch it before
    // it can fail (its events come later, from its own thread).
    this.#watchWorkers();
    try {
      return (await Promise.race([running, broken])) as R;
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      if (error instanceof WorkerStartError) {
        running.catch(() => undefined);
        throw error;
      }
      if (signal?.aborted && error instanceof Error && error.name === 'AbortError') throw signal.reason;
      if (this.#broken) throw this.#broken;
      if (this.#isCrash(error)) throw new WorkerCrashError(name, this.name, error);
      throw error;
    } finally {
      this.#waiting.delete(reject);
      this.#jobs.running--;
      span.end();
    }
  }

  /**
   * Refuses new tasks, lets running and queued ones finish, then stops the workers.
   *
   * @example
   * await pool.close();
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unobserve();
    if (this.#broken) return;
    const pool = this.#pool ?? (await this.#starting?.catch(() => undefined));
    await pool?.close();
  }

  /** Loads piscina and makes the pool (once; runs arriving meanwhile wait for the same one). */
  #start(): Promise<Piscina> {
    this.#starting ??= import('piscina').then(({ Piscina }) => {
      const pool = new Piscina(this.#piscinaOptions);
      // Without a listener, an 'error' event (a worker dying between tasks) would crash the process.
      pool.on('error', (error: unknown) => {
        // Piscina emits this before the worker's own 'error' listeners run: let them tell a
        // worker that could not start (logged once, by #break) from one that died idle.
        queueMicrotask(() => {
          if (this.#broken) return;
          this.#logger.error(
            { err: error, pool: this.name },
            `worker pool "${this.name}": a worker failed outside any task`,
          );
        });
      });
      pool.on('workerCreate', () => this.#watchWorkers());
      this.#pool = pool;
      return pool;
    });
    return this.#starting;
  }

  /**
   * Remembers the errors workers die of, and tells a worker that died before it was ready
   * (it never sent its first message) from one that crashed at work. Piscina rejects a
   * crashed task with the very error object the worker emitted, and its own listener runs
   * before this one, which still comes before the rejection reaches `run` (a microtask later).
   */
  #watchWorkers(): void {
    for (const worker of this.#pool?.threads ?? []) {
      if (this.#watched.has(worker)) continue;
      this.#watched.add(worker);
      let ready = false;
      worker.once('message', () => (ready = true));
      worker.on('error', (error: unknown) => {
        if (typeof error === 'object' && error !== null) this.#crashes.add(error);
        if (!ready) this.#break(error);
      });
      worker.once('exit', (code: number) => {
        if (!ready && !this.#closed) this.#break(new Error(`worker exited with code ${code} before it was ready`));
      });
    }
  }

  /** A worker could not start: fail everything now and later, and stop the pool. */
  #break(cause: unknown): void {
    if (this.#broken || this.#closed) return;
    const error = new WorkerStartError(this.name, cause);
    this.#broken = error;
    this.#logger.error({ err: cause, pool: this.name }, error.message);
    for (const reject of this.#waiting) reject(error);
    this.#waiting.clear();
    this.#pool?.destroy().catch(() => undefined);
  }

  #isCrash(error: unknown): boolean {
    if (typeof error !== 'object' || error === null) return false;
    return this.#crashes.has(error) || (error instanceof Error && EXITED.test(error.message));
  }
}
