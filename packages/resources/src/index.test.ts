import { describe, expect, it } from 'vitest';
import { describeResources } from './index.js';

describe('@trellis/resources', () => {
  it('names itself', () => {
    expect(describeResources()).toBe('@trellis/resources');
  });
});
