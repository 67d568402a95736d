import { SemaphoreTimeoutError } from './errors.js';
import { assertDuration, assertLimit } from './validate.js';

/** Gives a permit back. Calling it more than once does nothing. */
export type Release = () => void;

/** Options of {@link Semaphore.acquire} and {@link Semaphore.run}. */
export interface AcquireOptions {
  /** Stops waiting: the waiter leaves the queue and rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Gives up waiting after this long with a {@link SemaphoreTimeoutError}. Default: wait forever. */
  timeoutMs?: number;
}

interface Waiter {
  done: boolean;
  grant(release: Release): void;
  fail(reason: unknown): void;
  /** Removes the abort listener and the timer, if the waiter has them. */
  cleanup: (() => void) | undefined;
}

/**
 * A FIFO counting semaphore (Python: `asyncio.Semaphore`; p-limit's shape): at most `limit`
 * holders at once, waiters served in arrival order. Observable through `active`, `pending`
 * and `onIdle()`. `AsyncLocalStorage` context survives the queue (a waiter resumes in its
 * own context).
 *
 * Hazard: a holder that waits on the same semaphore (directly, or through a task that needs
 * a permit) deadlocks once all permits are held by such holders. Don't acquire while
 * holding, or give nested work its own semaphore.
 *
 * @example
 * const api = new Semaphore(10); // at most 10 calls to the API at once, server-wide
 * const data = await api.run(() => fetchJson(url, { signal }), { signal, timeoutMs: 5000 });
 */
export class Semaphore {
  /** How many holders may run at once. */
  readonly limit: number;
  #active = 0;
  #pending = 0;
  #queue: Array<Waiter | undefined> = [];
  #head = 0;
  #idle: Array<() => void> = [];

  /** @throws TypeError unless `limit` is a positive integer or Infinity. */
  constructor(limit: number) {
    assertLimit('limit', limit);
    this.limit = limit;
  }

  /** Permits currently held. */
  get active(): number {
    return this.#active;
  }

  /** Callers waiting for a permit. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Waits for a permit and resolves with its release function; call it in a `finally`.
   *
   * @example
   * const release = await sem.acquire({ signal });
   * try { await work(); } finally { release(); }
   */
  acquire(options: AcquireOptions = {}): Promise<Release> {
    const { signal, timeoutMs } = options;
    if (timeoutMs !== undefined) assertDuration('timeoutMs', timeoutMs);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#active < this.limit && this.#pending === 0) {
      this.#active++;
      return Promise.resolve(this.#release());
    }
    return new Promise<Release>((grant, fail) => {
      const waiter: Waiter = { done: false, grant, fail, cleanup: undefined };
      this.#queue.push(waiter);
      this.#pending++;
      // Most waiters have neither: keep them to one small object (a queue can be long).
      if (signal || timeoutMs !== undefined) waiter.cleanup = this.#watch(waiter, signal, timeoutMs);
    });
  }

  /**
   * Takes a permit at once if one is free and nobody is queued; otherwise
   * returns `undefined` without waiting. For hot paths that only need to wait
   * (with a signal and a timeout) when the limit is actually reached.
   *
   * @example
   * const release = sem.tryAcquire() ?? (await sem.acquire({ signal, timeoutMs: 5000 }));
   */
  tryAcquire(): Release | undefined {
    if (this.#active >= this.limit || this.#pending > 0) return undefined;
    this.#active++;
    return this.#release();
  }

  /**
   * `tryAcquire` for a hot path that keeps the permit in an object of its own:
   * true when a permit was taken (no release function is made); give it back
   * with `releasePermit()`, exactly once.
   *
   * @example
   * if (sem.tryAcquirePermit()) {
   *   try { work(); } finally { sem.releasePermit(); }
   * }
   */
  tryAcquirePermit(): boolean {
    if (this.#active >= this.limit || this.#pending > 0) return false;
    this.#active++;
    return true;
  }

  /** Gives back a permit `tryAcquirePermit()` took. Calling it more often than permits were taken is a bug. */
  releasePermit(): void {
    if (this.#active === 0) throw new Error('releasePermit() without a permit held');
    this.#active--;
    this.#dispatch();
  }

  /**
   * Runs `fn` while holding a permit and releases it however `fn` ends.
   *
   * @example
   * const page = await sem.run(() => render(doc));
   */
  async run<T>(fn: () => Promise<T> | T, options?: AcquireOptions): Promise<T> {
    const release = await this.acquire(options);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /**
   * Resolves once nothing holds or waits for a permit (at once if that is already so).
   *
   * @example
   * await sem.onIdle(); // every queued call has finished
   */
  onIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  #release(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
      this.#dispatch();
    };
  }

  #dispatch(): void {
    while (this.#active < this.limit && this.#pending > 0) {
      const waiter = this.#queue[this.#head];
      this.#queue[this.#head++] = undefined;
      if (!waiter || waiter.done) continue;
      waiter.done = true;
      waiter.cleanup?.();
      this.#pending--;
      this.#active++;
      waiter.grant(this.#release());
    }
    this.#compact();
    this.#notifyIdle();
  }

  #watch(waiter: Waiter, signal: AbortSignal | undefined, timeoutMs: number | undefined): () => void {
    const onAbort = (): void => this.#cancel(waiter, signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const startedAt = Date.now();
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(
            () => this.#cancel(waiter, new SemaphoreTimeoutError(Date.now() - startedAt, timeoutMs)),
            timeoutMs,
          );
    return () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
  }

  #cancel(waiter: Waiter, reason: unknown): void {
    if (waiter.done) return;
    waiter.done = true;
    waiter.cleanup?.();
    this.#pending--;
    waiter.fail(reason);
    this.#compact();
    this.#notifyIdle();
  }

  /** Cancelled waiters stay in the array until passed over; drop them in bulk. */
  #compact(): void {
    if (this.#pending === 0) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  #isIdle(): boolean {
    return this.#active === 0 && this.#pending === 0;
  }

  #notifyIdle(): void {
    if (!this.#isIdle() || this.#idle.length === 0) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }
}
