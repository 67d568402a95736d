import { getEventListeners } from 'node:events';

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

/** `Promise.withResolvers` arrived in Node 22. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets pending promise reactions run (no timers involved, so fake timers don't matter). */
export async function flush(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}

/** Resolves when `signal` aborts and never rejects: for tasks that wait to be aborted. */
export function aborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
  });
}

/** A task that runs until its signal aborts, then rejects with the reason (as fetch does). */
export async function untilAborted(signal: AbortSignal): Promise<never> {
  throw await aborted(signal);
}

/** Whether a promise has settled yet (checked after letting reactions run). */
export async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await flush();
  return settled;
}

export function abortListeners(signal: AbortSignal): number {
  return getEventListeners(signal, 'abort').length;
}
