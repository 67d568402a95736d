import { ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api';

/**
 * The default context manager of Trellis's telemetry (`TELEMETRY_CONTEXT=request`):
 * `context.with(ctx, fn)` makes `ctx` the active context while `fn` runs
 * synchronously, and nothing more — no `AsyncLocalStorage`, whose async hooks
 * on Node 20 make every promise of the process slower once a context is entered.
 *
 * Across `await`s the request's context travels explicitly instead: the
 * request's signal carries it (`carryTraceContext` of `@trellis/concurrency`),
 * and everything Trellis does for a request — queue waits, queries, fetches,
 * worker jobs, task rounds and state changes — takes its parent from there.
 * What it costs a user: `trace.getActiveSpan()` (or a span their own code
 * starts) in a handler sees the request's span before the handler's first
 * `await`, not after it; `TELEMETRY_CONTEXT=async` registers OpenTelemetry's
 * `AsyncLocalStorageContextManager` for apps that need the ambient context
 * everywhere, at its price.
 */
export class SynchronousContextManager implements ContextManager {
  #active: Context = ROOT_CONTEXT;

  active(): Context {
    return this.#active;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    const previous = this.#active;
    this.#active = context;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.#active = previous;
    }
  }

  bind<T>(context: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const enter = <R>(fn: () => R): R => this.with(context, fn);
    const fn = target as unknown as (...args: unknown[]) => unknown;
    return function bound(this: unknown, ...args: unknown[]) {
      return enter(() => fn.apply(this, args));
    } as unknown as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.#active = ROOT_CONTEXT;
    return this;
  }
}
