import { describe, expect, it } from 'vitest';
import { CancelScope, TaskGroupError } from '@trellis/concurrency';
import { abortListeners, aborted, deferred, isSettled } from './helpers.ts';

describe('CancelScope', () => {
  it('creates nothing until asked: aborted and reason read the inputs', async () => {
    const request = new AbortController();
    const scope = new CancelScope([request.signal, undefined]);
    expect(scope.aborted).toBe(false);
    await expect(scope.finish(Promise.resolve('done'))).resolves.toBe('done');
    expect(abortListeners(request.signal)).toBe(0);
    request.abort('late');
    expect([scope.aborted, scope.reason]).toEqual([true, 'late']);
  });

  it('aborts its signal and group when an input aborts', async () => {
    const request = new AbortController();
    const shutdown = new AbortController();
    const scope = new CancelScope([request.signal, shutdown.signal]);
    const seen = scope.group.spawn(async (signal) => aborted(signal));
    shutdown.abort('shutting down');
    expect(scope.signal.reason).toBe('shutting down');
    await expect(seen).resolves.toBe('shutting down');
    await expect(scope.finish(Promise.resolve(1))).rejects.toBe('shutting down');
  });

  it('finish waits for the children, then releases the links to long-lived inputs', async () => {
    const shutdown = new AbortController();
    const scope = new CancelScope([shutdown.signal]);
    const child = deferred();
    scope.group.spawn(() => child.promise);
    const finishing = scope.finish(Promise.resolve('result'));
    expect(await isSettled(finishing)).toBe(false);
    child.resolve();
    await expect(finishing).resolves.toBe('result');
    expect(abortListeners(shutdown.signal)).toBe(0);
  });

  it('finish reports failed children after successful work', async () => {
    const scope = new CancelScope([]);
    scope.group.spawn(() => Promise.reject(new Error('child')));
    await expect(scope.finish(Promise.resolve(1))).rejects.toBeInstanceOf(TaskGroupError);
  });

  it('finish aborts the children with the error of failed work and rethrows it', async () => {
    const scope = new CancelScope([]);
    const seen = scope.group.spawn(async (signal) => aborted(signal));
    const failure = new Error('handler failed');
    await expect(scope.finish(Promise.reject(failure))).rejects.toBe(failure);
    await expect(seen).resolves.toBe(failure);
  });

  it('uses a signal given on its own as its signal: no second signal, and its group follows it', async () => {
    const own = new AbortController();
    const scope = new CancelScope(own.signal);
    expect(scope.signal).toBe(own.signal);
    expect(scope.aborted).toBe(false);
    const seen = scope.group.spawn(async (signal) => aborted(signal));
    own.abort('cancelled');
    expect([scope.aborted, scope.reason]).toEqual([true, 'cancelled']);
    await expect(seen).resolves.toBe('cancelled');
    await expect(scope.finish(Promise.resolve(1))).rejects.toBe('cancelled');
  });
});
