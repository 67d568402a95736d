import { describe, expect, it } from 'vitest';
import { describeConcurrency } from './index.js';

describe('@trellis/concurrency', () => {
  it('names itself', () => {
    expect(describeConcurrency()).toBe('@trellis/concurrency');
  });
});
