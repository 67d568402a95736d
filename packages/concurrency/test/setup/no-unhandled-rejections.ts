import { afterEach, expect, vi } from 'vitest';

/**
 * Every test of this package must leave no rejection unhandled: the primitives promise that
 * a failing child, waiter, background task or worker never surfaces as one.
 */
const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => {
  unhandled.push(reason);
});

afterEach(async () => {
  vi.useRealTimers();
  // Node reports unhandled rejections after the microtask queue drains: let two turns pass.
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  expect(unhandled.splice(0), 'unhandled rejections').toEqual([]);
});
