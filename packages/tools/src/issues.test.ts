import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeIssues, formatProblems } from './issues.js';

const problemsOf = (schema: z.ZodType, value: unknown) => {
  const result = schema.safeParse(value);
  if (result.success) throw new Error('expected a failure');
  return formatProblems(describeIssues(result.error.issues));
};

describe('describeIssues', () => {
  it('names each field and what was expected', () => {
    const schema = z.strictObject({
      query: z.string().min(1).max(5),
      limit: z.number().int().min(1).max(100),
      tags: z.array(z.string()).max(3),
      nested: z.object({ when: z.string() }),
      sort: z.enum(['a', 'b']),
    });
    const message = problemsOf(schema, { query: 'toolong', limit: 0, tags: ['a', 2], nested: {}, sort: 'c', bonus: 1 });
    expect(message).toContain('query: must be at most 5 characters long');
    expect(message).toContain('limit: must be at least 1');
    expect(message).toContain('tags[1]: expected string, got number');
    expect(message).toContain('nested.when: is required (expected string)');
    expect(message).toContain('sort: expected one of "a", "b"');
    expect(message).toContain('bonus: is not a known argument');
  });

  it('describes exclusive bounds and formats', () => {
    expect(problemsOf(z.object({ n: z.number().gt(0) }), { n: 0 })).toBe('n: must be more than 0');
    expect(problemsOf(z.object({ u: z.url() }), { u: 'nope' })).toMatch(/^u: expected a valid url/);
    expect(problemsOf(z.object({ a: z.string() }), 'text')).toBe('(arguments): expected object, got string');
  });
});
