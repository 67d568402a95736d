import { describe, expect, it } from 'vitest';
import { describePrompts } from './index.js';

describe('@trellis/prompts', () => {
  it('names itself', () => {
    expect(describePrompts()).toBe('@trellis/prompts');
  });
});
