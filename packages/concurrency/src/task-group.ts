import { ClosedError, TaskGroupError } from './errors.js';
import { callAsync, followSignal, isAbortInduced } from './internal.js';

/** Options of {@link TaskGroup} and {@link runTaskGroup}. */
export interface TaskGroupOptions {
  /** An outer signal (a request's, a parent group's): when it aborts, so does the group. */
  signal?: AbortSignal;
}

/** A child task: receives the group's signal and should pass it to whatever it awaits. */
export type GroupTask<T> = (signal: AbortSignal) => Promise<T> | T;

/**
 * Structured concurrency (Python: `asyncio.TaskGroup`, anyio/trio nurseries). Children share
 * one `signal`; the first child to fail aborts it (with its error as the reason), so its
 * siblings stop. `wait()` waits for every child to settle, then:
 * - throws a {@link TaskGroupError} holding every failure, if any child failed — rejections
 *   that only echo the abort (the reason itself, an `AbortError`, or an error whose `cause`
 *   is the reason) are not failures;
 * - otherwise throws the outer signal's reason, if the outer signal aborted;
 * - otherwise returns the results in spawn order.
 *
 * Children may spawn siblings while `wait()` is pending; once `wait()` has settled, the group
 * is closed and `spawn` throws a {@link ClosedError}. A child spawned after the group aborted
 * is not started: its handle rejects with the abort reason. For nesting, bind a child's
 * group to the parent's signal (`new TaskGroup({ signal })` inside the child), so an abort
 * reaches grandchildren. Children start synchronously in `spawn`, in the caller's
 * `AsyncLocalStorage` context.
 *
 * Hazard: a child that awaits its own group's `wait()` never finishes (the group waits for
 * it). Await sibling handles instead, or give nested work a group of its own.
 *
 * @example
 * const group = new TaskGroup({ signal: ctx.signal });
 * group.spawn((signal) => fetchProfile(id, { signal }));
 * group.spawn((signal) => fetchOrders(id, { signal }));
 * const [profile, orders] = await group.wait();
 */
export class TaskGroup<T = unknown> {
  readonly #controller = new AbortController();
  readonly #results: T[] = [];
  readonly #failures: unknown[] = [];
  readonly #unlink: () => void;
  #spawned = 0;
  #running = 0;
  #closed = false;
  #waiting: Promise<T[]> | undefined;
  #onSettled: (() => void) | undefined;

  constructor(options: TaskGroupOptions = {}) {
    this.#unlink = followSignal(options.signal, this.#controller);
  }

  /** Aborts when a child fails or the outer signal aborts. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /**
   * Starts a child and returns its own result as a promise. The group keeps track of the
   * child either way: leaving the handle un-awaited never causes an unhandled rejection.
   *
   * @example
   * const user = group.spawn((signal) => loadUser(id, { signal }));
   */
  spawn<R extends T>(fn: GroupTask<R>): Promise<R> {
    if (this.#closed) throw new ClosedError('TaskGroup', 'cannot spawn after wait() has settled');
    const index = this.#spawned++;
    const signal = this.signal;
    const handle = signal.aborted ? Promise.reject<R>(signal.reason) : callAsync(fn, signal);
    this.#running++;
    handle.then(
      (value) => {
        this.#results[index] = value;
        this.#childSettled();
      },
      (error: unknown) => {
        this.#childFailed(error);
        this.#childSettled();
      },
    );
    return handle;
  }

  /**
   * Waits until every child (including ones spawned meanwhile) has settled, then returns
   * the results in spawn order or throws as described on the class. Idempotent.
   */
  wait(): Promise<T[]> {
    this.#waiting ??= this.#waitAll();
    return this.#waiting;
  }

  async #waitAll(): Promise<T[]> {
    while (this.#running > 0) {
      await new Promise<void>((resolve) => {
        this.#onSettled = resolve;
      });
    }
    this.#closed = true;
    this.#unlink();
    if (this.#failures.length > 0) throw new TaskGroupError(this.#failures);
    if (this.signal.aborted) throw this.signal.reason;
    return this.#results;
  }

  #childFailed(error: unknown): void {
    if (isAbortInduced(error, this.signal)) return;
    this.#failures.push(error);
    if (!this.signal.aborted) this.#controller.abort(error);
  }

  #childSettled(): void {
    this.#running--;
    if (this.#running > 0) return;
    const resolve = this.#onSettled;
    this.#onSettled = undefined;
    resolve?.();
  }
}

/**
 * Runs `body` with a fresh {@link TaskGroup} and returns the body's result once every child
 * has settled (Python: `async with asyncio.TaskGroup() as tg:`). If the body throws, the
 * children are aborted with its error and awaited; the body's error is rethrown as is, or
 * inside a {@link TaskGroupError} (first) when children failed too. A body that merely
 * rethrows a child's failure (e.g. from `Promise.all` over handles) gets the group's
 * `TaskGroupError`, exactly as if it had returned.
 *
 * @example
 * const total = await runTaskGroup(async (group) => {
 *   const parts = ids.map((id) => group.spawn((signal) => count(id, { signal })));
 *   return (await Promise.all(parts)).reduce((a, b) => a + b, 0);
 * }, { signal: ctx.signal });
 */
export async function runTaskGroup<R>(
  body: (group: TaskGroup) => Promise<R> | R,
  options: TaskGroupOptions = {},
): Promise<R> {
  const scope = new AbortController();
  const unlink = followSignal(options.signal, scope);
  const group = new TaskGroup({ signal: scope.signal });
  try {
    let result: R;
    try {
      result = await callAsync(body, group);
    } catch (error) {
      // A body that rethrows a child's failure (or the abort) adds no failure of its own.
      const echoed = isAbortInduced(error, group.signal);
      scope.abort(error);
      await group.wait().catch((groupError: unknown) => {
        if (!(groupError instanceof TaskGroupError)) return;
        throw echoed ? groupError : new TaskGroupError([error, ...groupError.errors]);
      });
      throw error;
    }
    await group.wait();
    return result;
  } finally {
    unlink();
  }
}
