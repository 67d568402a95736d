import { inheritTraceContext } from './trace-context.js';
import { assertDuration } from './validate.js';

/** A signal combined from others, and the way to unlink it from them. */
export interface LinkedSignal {
  /** Aborts, with the same reason, as soon as any input aborts. */
  readonly signal: AbortSignal;
  /** Removes the listeners this link added to its inputs. Idempotent. */
  dispose(): void;
}

/**
 * Combines signals: the result aborts with the reason of the first input that aborts
 * (`undefined` entries are skipped). Call `dispose()` when the operation ends.
 *
 * Why not plain `AbortSignal.any`: every call links the new signal into each input, and on
 * Node 20 that link is only released when the input aborts (nodejs/node#55351; measured on
 * 20.20: a million calls on one long-lived signal kept a million entries). Combining a
 * server's shutdown signal with each request's signal is exactly that pattern. This helper
 * keeps the semantics but uses listeners that `dispose()` removes, so a long-lived input
 * holds nothing once the operation is over; inputs that abort first unlink the rest too.
 *
 * @example
 * const linked = anySignal([request.signal, server.shutdownSignal]);
 * try { return await fetch(url, { signal: linked.signal }); } finally { linked.dispose(); }
 */
export function anySignal(signals: Iterable<AbortSignal | undefined>): LinkedSignal {
  return new SignalLink(signals);
}

/**
 * One object per link, listening to its inputs as an `EventListener` object:
 * no closure per input or per link (a tool call in flight holds one of these).
 */
class SignalLink implements LinkedSignal {
  readonly signal: AbortSignal;
  readonly #controller = new AbortController();
  #inputs: AbortSignal[] | undefined;

  constructor(signals: Iterable<AbortSignal | undefined>) {
    this.signal = this.#controller.signal;
    const inputs: AbortSignal[] = [];
    for (const source of signals) {
      if (!source) continue;
      if (source.aborted) {
        this.#unlink(inputs);
        this.#controller.abort(source.reason);
        return;
      }
      source.addEventListener('abort', this, { once: true });
      inputs.push(source);
    }
    if (inputs.length > 0) this.#inputs = inputs;
    inheritTraceContext(this.signal, inputs);
  }

  /** An input aborted: unlink the others, then abort with its reason. */
  handleEvent(event: Event): void {
    this.dispose();
    this.#controller.abort((event.target as AbortSignal).reason);
  }

  dispose(): void {
    const inputs = this.#inputs;
    this.#inputs = undefined;
    if (inputs) this.#unlink(inputs);
  }

  #unlink(inputs: readonly AbortSignal[]): void {
    for (const input of inputs) input.removeEventListener('abort', this);
  }
}

/** Options of {@link sleep}. */
export interface SleepOptions {
  /** Stops the wait early: the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/**
 * Waits `ms` milliseconds; rejects with the abort reason if `signal` aborts first
 * (the timer and the listener are both released). Works with fake timers.
 *
 * @example
 * for (let attempt = 0; ; attempt++) {
 *   try { return await call(signal); } catch { await sleep(100 * 2 ** attempt, { signal }); }
 * }
 */
export function sleep(ms: number, options: SleepOptions = {}): Promise<void> {
  assertDuration('ms', ms);
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
