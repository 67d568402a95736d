import { describe, expect, it } from 'vitest';
import { describeTesting } from './index.js';

describe('@trellis/testing', () => {
  it('names itself', () => {
    expect(describeTesting()).toBe('@trellis/testing');
  });
});
