import { CancelScope, TaskGroup, TaskGroupError, type GroupTask } from '@trellis/concurrency';

interface ChildRecord {
  observed: boolean;
}

/**
 * A child's handle that notes when the handler looks at it: awaiting it,
 * `.then`/`.catch`/`.finally`, or passing it to `Promise.all` and friends
 * (which call `then`). A failure of an observed child belongs to the handler.
 */
class ChildHandle<T> extends Promise<T> {
  // Derived promises (from then/catch) are plain promises.
  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }
  record: ChildRecord | undefined;

  override then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    if (this.record) this.record.observed = true;
    return super.then(onFulfilled, onRejected);
  }
}

/** The request's task group (`ctx.group`): a `TaskGroup` whose handles note whether the handler observed them. */
class RequestTaskGroup extends TaskGroup {
  readonly #records = new Map<Promise<unknown>, ChildRecord>();
  readonly #failedBy = new Map<unknown, ChildRecord>();

  override spawn<R>(fn: GroupTask<R>): Promise<R> {
    const raw = super.spawn(fn);
    const record: ChildRecord = { observed: false };
    const handle = new ChildHandle<R>((resolve, reject) => {
      // Through the base `then`: the group's own bookkeeping is not an observation.
      Promise.prototype.then.call(raw, resolve, (error: unknown) => {
        this.#failedBy.set(error, record);
        reject(error);
      });
    });
    handle.record = record;
    // Never an unhandled rejection for a child nobody awaited: the group reports it.
    Promise.prototype.then.call(handle, undefined, () => undefined);
    this.#records.set(handle, record);
    return handle;
  }

  /** The children's failures that the handler did not observe (abort echoes excluded). */
  async unobservedFailures(): Promise<unknown[]> {
    try {
      await this.wait();
      return [];
    } catch (error) {
      const failures = error instanceof TaskGroupError ? (error.errors as unknown[]) : [];
      return failures.filter((failure) => this.#failedBy.get(failure)?.observed !== true);
    }
  }
}

/**
 * The scope a tool handler runs in: its signal, and `ctx.group` with the
 * task-group semantics Trellis documents (docs/architecture.md, "Task groups
 * in a tool call"), the same with or without `timeoutMs`:
 * - the first child failure aborts its siblings;
 * - a failed child whose handle the handler observed belongs to the handler:
 *   if the handler returns normally, its answer stands;
 * - a failed child nobody observed turns the call into `unobserved(failures)`
 *   (an `isError` result) once the handler has returned;
 * - children still running when the handler returns are awaited; if the
 *   handler throws, they are aborted with its error and awaited, and its error stands.
 */
/** What a call's answer becomes when children failed unobserved (an object, so a call holds no closure for it). */
export interface UnobservedFailures<R> {
  unobserved(failures: unknown[]): R;
}

export class ToolCallScope<R> extends CancelScope {
  readonly #unobserved: UnobservedFailures<R> | undefined;
  #children: AbortController | undefined;
  #group: RequestTaskGroup | undefined;

  /** `unobserved` says what the answer becomes then; a subclass may override `unobserved()` instead. */
  constructor(inputs: readonly (AbortSignal | undefined)[] | AbortSignal, unobserved?: UnobservedFailures<R>) {
    super(inputs);
    this.#unobserved = unobserved;
  }

  /** The call's answer when children failed and the handler never observed them. */
  protected unobserved(failures: unknown[]): R {
    if (!this.#unobserved) throw new TypeError('ToolCallScope needs `unobserved` (or a subclass that overrides it)');
    return this.#unobserved.unobserved(failures);
  }

  override get group(): TaskGroup {
    if (!this.#group) {
      const children = new AbortController();
      this.#children = children;
      const signal = this.signal;
      if (signal.aborted) children.abort(signal.reason);
      else signal.addEventListener('abort', () => children.abort(signal.reason), { once: true });
      this.#group = new RequestTaskGroup({ signal: children.signal });
    }
    return this.#group;
  }

  /**
   * The handler failed, though its failure became a result before the scope
   * settles (the registry maps errors to `isError`): abort its children.
   */
  handlerFailed(error: unknown): void {
    this.#children?.abort(error);
  }

  /** As `CancelScope.finish`, with the task-group rules above; a handler that never used `ctx.group` costs one promise link. */
  override finish<T>(work: Promise<T>): Promise<T> {
    return work.then(
      (value) => this.completed(value),
      (error: unknown) => {
        const waiting = this.failedWith(error);
        if (!waiting) throw error;
        return waiting.then(() => Promise.reject(error));
      },
    );
  }

  /**
   * The work succeeded with `value`: settles the scope and says the answer —
   * `value`, at once when the handler never used `ctx.group`; else once the
   * children are done (an `unobserved(...)` answer if some failed unobserved).
   * For a caller that chains the work itself instead of calling `finish`.
   */
  completed<T>(value: T): T | Promise<T> {
    // The common case, a handler that never used `ctx.group`: nothing more to wait for.
    if (!this.#group) {
      this.settle();
      return value;
    }
    return this.#afterChildren(value);
  }

  /**
   * The work failed with `error` (which stands): settles the scope, its
   * children aborted with the error; returns what to wait for when there
   * were children, else nothing (settled already).
   */
  failedWith(error: unknown): Promise<void> | undefined {
    if (!this.#group) {
      this.settle();
      return undefined;
    }
    return this.#abortChildren(error);
  }

  async #abortChildren(error: unknown): Promise<void> {
    this.#children!.abort(error);
    await this.#group!.wait().catch(() => undefined);
    this.settle();
  }

  async #afterChildren<T>(value: T): Promise<T> {
    const group = this.#group!;
    // Children the handler's failure aborted report nothing more: its own error is the answer.
    const failures = this.#children!.signal.aborted ? [] : await group.unobservedFailures();
    if (this.#children!.signal.aborted) await group.wait().catch(() => undefined);
    this.settle();
    return failures.length > 0 ? (this.unobserved(failures) as unknown as T) : value;
  }
}
