import { describe, expect, it } from 'vitest';
import { describeConfig } from './index.js';

describe('@trellis/config', () => {
  it('names itself', () => {
    expect(describeConfig()).toBe('@trellis/config');
  });
});
