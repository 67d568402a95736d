import { Semaphore, type AcquireOptions, type Release } from './semaphore.js';
import { assertLimit } from './validate.js';

/**
 * One {@link Semaphore} per key (e.g. per host or per tenant), each with `limitPerKey`
 * permits. A key's semaphore exists only while something holds or waits on it: `size`
 * counts those live keys, and idle keys are freed.
 *
 * Hazard: as with `Semaphore`, don't wait on a key's permit while holding one for that key.
 *
 * @example
 * const perHost = new KeyedSemaphore(4);
 * const body = await perHost.run(new URL(url).host, () => fetchText(url, { signal }), { signal });
 */
export class KeyedSemaphore<K = string> {
  /** Permits per key. */
  readonly limitPerKey: number;
  readonly #semaphores = new Map<K, Semaphore>();

  /** @throws TypeError unless `limitPerKey` is a positive integer or Infinity. */
  constructor(limitPerKey: number) {
    assertLimit('limitPerKey', limitPerKey);
    this.limitPerKey = limitPerKey;
  }

  /** Keys with a holder or a waiter. */
  get size(): number {
    return this.#semaphores.size;
  }

  /**
   * Waits for a permit of `key`; see {@link Semaphore.acquire}.
   *
   * @example
   * const release = await perHost.acquire('api.example.com', { timeoutMs: 2000 });
   * try { await call(); } finally { release(); }
   */
  acquire(key: K, options?: AcquireOptions): Promise<Release> {
    let semaphore = this.#semaphores.get(key);
    if (!semaphore) {
      semaphore = new Semaphore(this.limitPerKey);
      this.#semaphores.set(key, semaphore);
    }
    const owned = semaphore;
    return owned.acquire(options).then(
      (release) => () => {
        release();
        this.#freeIfIdle(key, owned);
      },
      (error: unknown) => {
        this.#freeIfIdle(key, owned);
        throw error;
      },
    );
  }

  /**
   * Runs `fn` while holding a permit of `key`.
   *
   * @example
   * await perTenant.run(tenantId, () => reindex(tenantId));
   */
  async run<T>(key: K, fn: () => Promise<T> | T, options?: AcquireOptions): Promise<T> {
    const release = await this.acquire(key, options);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  #freeIfIdle(key: K, semaphore: Semaphore): void {
    if (semaphore.active === 0 && semaphore.pending === 0 && this.#semaphores.get(key) === semaphore) {
      this.#semaphores.delete(key);
    }
  }
}
