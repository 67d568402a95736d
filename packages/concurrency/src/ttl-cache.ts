import { callAsync } from './internal.js';
import { inheritTraceContext } from './trace-context.js';
import { assertPositiveInteger, assertPositiveNumber } from './validate.js';

/** Options of {@link TtlCache}. */
export interface TtlCacheOptions {
  /** How long a computed value stays fresh. */
  ttlMs: number;
  /** At most this many values are kept; the least recently used goes first. */
  maxEntries: number;
  /** The clock, in milliseconds; default `Date.now` (inject one in tests). */
  now?: () => number;
}

/** Options of {@link TtlCache.get}. */
export interface CacheGetOptions {
  /** Stops this caller's wait; the shared computation goes on while others still wait. */
  signal?: AbortSignal;
}

interface Entry<V> {
  value: V;
  expiresAt: number;
}

interface Flight<V> {
  promise: Promise<V>;
  controller: AbortController;
  waiters: number;
}

/**
 * A cache of computed values with expiry, a size bound and single-flight (Python:
 * `async-lru`'s `alru_cache(ttl=…)`; Go: `singleflight`). Concurrent `get`s of a missing key
 * share one computation. A caller that aborts stops waiting; the computation is aborted (its
 * signal fires) only when no caller is left. Failures are not cached: the next `get`
 * computes again. The computation runs in the first caller's `AsyncLocalStorage` context.
 *
 * @example
 * const schemas = new TtlCache<string, Schema>({ ttlMs: 60_000, maxEntries: 500 });
 * const schema = await schemas.get(table, (signal) => loadSchema(table, { signal }), { signal });
 */
export class TtlCache<K, V> {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #values = new Map<K, Entry<V>>();
  readonly #flights = new Map<K, Flight<V>>();

  /** @throws TypeError on a bad `ttlMs` or `maxEntries`. */
  constructor(options: TtlCacheOptions) {
    assertPositiveNumber('ttlMs', options.ttlMs);
    assertPositiveInteger('maxEntries', options.maxEntries);
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries;
    this.#now = options.now ?? Date.now;
  }

  /** Fresh values held (expired ones are dropped when counted). */
  get size(): number {
    const now = this.#now();
    for (const [key, entry] of this.#values) if (entry.expiresAt <= now) this.#values.delete(key);
    return this.#values.size;
  }

  /**
   * The fresh value of `key`, or the result of `compute` (shared with concurrent callers).
   *
   * @example
   * const user = await cache.get(id, (signal) => db.user(id, { signal }));
   */
  get(key: K, compute: (signal: AbortSignal) => Promise<V> | V, options: CacheGetOptions = {}): Promise<V> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const entry = this.#values.get(key);
    if (entry) {
      this.#values.delete(key);
      if (entry.expiresAt > this.#now()) {
        this.#values.set(key, entry); // most recently used goes last
        return Promise.resolve(entry.value);
      }
    }
    const flight = this.#flights.get(key) ?? this.#start(key, compute, signal);
    return this.#join(key, flight, signal);
  }

  /**
   * Forgets `key`; a computation in flight still answers its callers but is not stored.
   *
   * @example
   * cache.delete(id); // after writing the row
   */
  delete(key: K): boolean {
    const hadFlight = this.#flights.delete(key);
    return this.#values.delete(key) || hadFlight;
  }

  /**
   * Forgets everything, as `delete` does for each key.
   *
   * @example
   * cache.clear(); // after a schema migration
   */
  clear(): void {
    this.#values.clear();
    this.#flights.clear();
  }

  #start(key: K, compute: (signal: AbortSignal) => Promise<V> | V, caller: AbortSignal | undefined): Flight<V> {
    const controller = new AbortController();
    // The computation is traced under the caller that started it.
    if (caller) inheritTraceContext(controller.signal, [caller]);
    const flight: Flight<V> = { promise: callAsync(compute, controller.signal), controller, waiters: 0 };
    this.#flights.set(key, flight);
    flight.promise.then(
      (value) => {
        if (this.#flights.get(key) !== flight) return;
        this.#flights.delete(key);
        this.#store(key, value);
      },
      () => {
        if (this.#flights.get(key) === flight) this.#flights.delete(key);
      },
    );
    return flight;
  }

  #join(key: K, flight: Flight<V>, signal: AbortSignal | undefined): Promise<V> {
    flight.waiters++;
    if (!signal) return flight.promise;
    return new Promise<V>((resolve, reject) => {
      const onAbort = (): void => {
        reject(signal.reason);
        if (--flight.waiters > 0) return;
        if (this.#flights.get(key) === flight) this.#flights.delete(key);
        flight.controller.abort(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      flight.promise.then(
        (value) => {
          signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  #store(key: K, value: V): void {
    this.#values.delete(key);
    this.#values.set(key, { value, expiresAt: this.#now() + this.#ttlMs });
    if (this.#values.size <= this.#maxEntries) return;
    const now = this.#now();
    for (const [oldKey, entry] of this.#values) if (entry.expiresAt <= now) this.#values.delete(oldKey);
    for (const oldKey of this.#values.keys()) {
      if (this.#values.size <= this.#maxEntries) break;
      this.#values.delete(oldKey);
    }
  }
}
