import { describe, expect, it } from 'vitest';
import { describeServer } from './index.js';

describe('@trellis/server', () => {
  it('names itself', () => {
    expect(describeServer()).toBe('@trellis/server');
  });
});
