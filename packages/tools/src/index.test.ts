import { describe, expect, it } from 'vitest';
import { describeTools } from './index.js';

describe('@trellis/tools', () => {
  it('names itself', () => {
    expect(describeTools()).toBe('@trellis/tools');
  });
});
