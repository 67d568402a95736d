import { describe, expect, it } from 'vitest';
import { describeTransport } from './index.js';

describe('@trellis/transport', () => {
  it('names itself', () => {
    expect(describeTransport()).toBe('@trellis/transport');
  });
});
