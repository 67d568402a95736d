import { describe, expect, it } from 'vitest';
import { describeSampleWidget } from './index.js';

describe('@trellis/sample-widget', () => {
  it('names itself', () => {
    expect(describeSampleWidget()).toBe('@trellis/sample-widget');
  });
});
