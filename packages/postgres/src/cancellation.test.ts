import { afterEach, describe, expect, it, vi } from 'vitest';
import { settleOrGiveUp } from './cancellation.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('settleOrGiveUp', () => {
  it('waits for work that stops after its cancel', async () => {
    const controller = new AbortController();
    let stop!: (error: Error) => void;
    const work = new Promise<never>((_, reject) => (stop = reject));
    const onGiveUp = vi.fn();
    const settled = settleOrGiveUp(work, controller.signal, onGiveUp);
    controller.abort(new Error('cancelled by the client'));
    stop(new Error('canceling statement due to user request'));
    await expect(settled).rejects.toThrow(/user request/);
    expect(onGiveUp).not.toHaveBeenCalled();
  });

  it('gives up on work that does not stop within 5 s of the abort', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const onGiveUp = vi.fn();
    const settled = settleOrGiveUp(new Promise<never>(() => undefined), controller.signal, onGiveUp);
    const outcome = settled.catch((error: unknown) => error);
    controller.abort(new Error('server shutting down'));
    await vi.advanceTimersByTimeAsync(4_999);
    expect(onGiveUp).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(onGiveUp).toHaveBeenCalledOnce();
    expect(await outcome).toEqual(new Error('server shutting down'));
  });
});
