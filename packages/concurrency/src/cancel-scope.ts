import { anySignal, type LinkedSignal } from './signals.js';
import { TaskGroup } from './task-group.js';

/**
 * The signal and task group of one unit of work (a request, a tool call), made
 * only when someone asks for them (trio/anyio call this a cancel scope). Most
 * request handlers never read their signal or spawn a task; creating both
 * eagerly would cost every request controllers, listeners and promise chains.
 *
 * `finish(work)` ends the scope the way `runTaskGroup` does: after `work`
 * settles, children are awaited (on success) or aborted with the error and
 * awaited (on failure), and the links to the inputs are released.
 *
 * @example
 * const scope = new CancelScope([request.signal, shutdown.signal]);
 * const result = await scope.finish(handler({ get signal() { return scope.signal; }, get group() { return scope.group; } }));
 */
export class CancelScope {
  readonly #inputs: readonly (AbortSignal | undefined)[] | AbortSignal;
  #link: LinkedSignal | undefined;
  #children: AbortController | undefined;
  #group: TaskGroup | undefined;
  #finished = false;

  /**
   * `inputs`: the signals the scope follows (a combined signal is made on first
   * use, and unlinked when the scope settles). One signal given on its own,
   * not in a list, is the unit's own — made for it and dropped with it, never
   * a long-lived one such as a server's shutdown signal — and is the scope's
   * signal as it is: no second signal, no link.
   */
  constructor(inputs: readonly (AbortSignal | undefined)[] | AbortSignal) {
    this.#inputs = inputs;
  }

  /** Aborts when any input does. Created on first use. */
  get signal(): AbortSignal {
    const inputs = this.#inputs;
    if (inputs instanceof AbortSignal) return inputs;
    this.#link ??= anySignal(inputs);
    return this.#link.signal;
  }

  /** Whether an input has aborted, without creating the signal. */
  get aborted(): boolean {
    const inputs = this.#inputs;
    if (inputs instanceof AbortSignal) return inputs.aborted;
    if (this.#link) return this.#link.signal.aborted;
    return inputs.some((input) => input?.aborted === true);
  }

  /** The abort reason, if aborted. */
  get reason(): unknown {
    const inputs = this.#inputs;
    if (inputs instanceof AbortSignal) return inputs.reason;
    if (this.#link) return this.#link.signal.reason;
    return inputs.find((input) => input?.aborted)?.reason;
  }

  /** A task group bound to `signal`. Created on first use; spawning after `finish` throws. */
  get group(): TaskGroup {
    if (!this.#group) {
      this.#children = new AbortController();
      const children = this.#children;
      const signal = this.signal;
      if (signal.aborted) children.abort(signal.reason);
      else signal.addEventListener('abort', () => children.abort(signal.reason), { once: true });
      this.#group = new TaskGroup({ signal: children.signal });
      if (this.#finished) void this.#group.wait().catch(() => undefined);
    }
    return this.#group;
  }

  /**
   * Waits for `work`, then settles the scope's children and releases its links.
   * Not an async function: a unit of work in flight holds one promise link
   * here, not a suspended frame; only a scope with children goes async.
   */
  finish<T>(work: Promise<T>): Promise<T> {
    return work.then(
      (result) => {
        if (this.#group) return this.#awaitChildren(result);
        this.settle();
        return result;
      },
      (error: unknown) => {
        if (this.#group) return this.#abortChildren(error);
        this.settle();
        throw error;
      },
    );
  }

  async #awaitChildren<T>(result: T): Promise<T> {
    try {
      await this.#group!.wait();
      return result;
    } finally {
      this.settle();
    }
  }

  async #abortChildren(error: unknown): Promise<never> {
    this.#children!.abort(error);
    await this.#group!.wait().catch(() => undefined);
    this.settle();
    throw error;
  }

  /** Ends the scope without waiting: its linked signal is released and a later group is awaited by nobody. For subclasses whose `finish` has already settled the work. */
  protected settle(): void {
    this.#finished = true;
    this.#link?.dispose();
  }
}
