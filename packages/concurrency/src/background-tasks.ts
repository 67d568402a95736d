import { ClosedError, TimeoutError } from './errors.js';
import { callAsync, isAbortInduced } from './internal.js';
import { warningLogger, type TaskLogger } from './logger.js';
import { assertDuration } from './validate.js';

/** Options of {@link BackgroundTasks}. */
export interface BackgroundTasksOptions {
  /** Where failures go (pino-like). Default: `process.emitWarning`, so they are never silent. */
  logger?: TaskLogger;
}

/** Options of {@link BackgroundTasks.drain}. */
export interface DrainOptions {
  /** How long running tasks may take to finish on their own before they are aborted. */
  timeoutMs: number;
  /**
   * How long aborted tasks get to settle before they are abandoned; default 1000 ms. It
   * bounds the shutdown even if a task ignores its signal.
   */
  graceMs?: number;
}

/** What {@link BackgroundTasks.drain} had to do beyond waiting. */
export interface DrainReport {
  /** Names of the tasks still running at the deadline, which were aborted. */
  aborted: string[];
  /** Names of the aborted tasks still running after the grace period. */
  abandoned: string[];
}

/**
 * Tracked fire-and-forget work (Python: `asyncio.create_task` plus the set of tasks kept so
 * they are not lost). Every task gets a signal that aborts on shutdown; a failure is logged
 * with the task's name instead of becoming an unhandled rejection; `drain()` ends them all.
 *
 * @example
 * const background = new BackgroundTasks({ logger });
 * background.spawn('notify-user', (signal) => notify(userId, message, { signal }));
 * // on shutdown:
 * await background.drain({ timeoutMs: 5000 });
 */
export class BackgroundTasks {
  readonly #logger: TaskLogger;
  readonly #controller = new AbortController();
  readonly #running = new Map<Promise<void>, string>();
  #draining: Promise<DrainReport> | undefined;

  constructor(options: BackgroundTasksOptions = {}) {
    this.#logger = options.logger ?? warningLogger;
  }

  /** Tasks still running. */
  get size(): number {
    return this.#running.size;
  }

  /**
   * Starts `fn` now and tracks it until it settles; returns nothing to await on purpose.
   *
   * @throws ClosedError once `drain()` has begun.
   * @example
   * background.spawn('refresh-index', (signal) => refreshIndex({ signal }));
   */
  spawn(name: string, fn: (signal: AbortSignal) => Promise<void> | void): void {
    if (this.#draining) throw new ClosedError('BackgroundTasks', `cannot spawn "${name}" after drain() began`);
    const tracked: Promise<void> = callAsync(fn, this.#controller.signal).then(
      () => {
        this.#running.delete(tracked);
      },
      (error: unknown) => {
        this.#running.delete(tracked);
        this.#report(name, error);
      },
    );
    this.#running.set(tracked, name);
  }

  /**
   * Refuses new tasks, waits up to `timeoutMs` for the running ones, then aborts the rest
   * (their signal's reason is a {@link TimeoutError}) and waits up to `graceMs` for them to
   * settle. Idempotent: later calls return the first call's report.
   *
   * @example
   * const { aborted } = await background.drain({ timeoutMs: 5000 });
   */
  drain(options: DrainOptions): Promise<DrainReport> {
    const { timeoutMs, graceMs = 1000 } = options;
    assertDuration('timeoutMs', timeoutMs);
    assertDuration('graceMs', graceMs);
    this.#draining ??= this.#drain(timeoutMs, graceMs);
    return this.#draining;
  }

  async #drain(timeoutMs: number, graceMs: number): Promise<DrainReport> {
    const report: DrainReport = { aborted: [], abandoned: [] };
    if (await this.#settledWithin(timeoutMs)) return report;
    report.aborted = [...this.#running.values()];
    this.#logger.warn?.(
      { tasks: report.aborted, timeoutMs },
      `aborting ${report.aborted.length} background task(s) still running after ${timeoutMs} ms`,
    );
    this.#controller.abort(new TimeoutError('background task drain', timeoutMs));
    if (await this.#settledWithin(graceMs)) return report;
    report.abandoned = [...this.#running.values()];
    this.#logger.error(
      { tasks: report.abandoned, graceMs },
      `abandoning ${report.abandoned.length} background task(s) that ignored their abort signal`,
    );
    return report;
  }

  /** Whether every running task settled within `ms`. */
  async #settledWithin(ms: number): Promise<boolean> {
    if (this.#running.size === 0) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const all = Promise.all(this.#running.keys()).then(() => true);
    try {
      return await Promise.race([all, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  #report(name: string, error: unknown): void {
    if (isAbortInduced(error, this.#controller.signal)) {
      this.#logger.warn?.({ task: name }, `background task "${name}" stopped after abort`);
      return;
    }
    this.#logger.error({ err: error, task: name }, `background task "${name}" failed`);
  }
}
