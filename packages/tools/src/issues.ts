import type { z } from 'zod';

/** One bad field: where it is and what was expected, in words a model can act on. */
export interface FieldProblem {
  /** Dotted path of the field (`filters.tags[2]`), or `(arguments)` for the whole object. */
  path: string;
  message: string;
}

/** Turns zod issues into one problem per bad field, each naming what was expected. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        problems.push({ path: joinPath([...issue.path, key]), message: 'is not a known argument' });
      continue;
    }
    problems.push({ path: joinPath(issue.path), message: explain(issue) });
  }
  return problems;
}

/** `name: problem; other: problem` — the line shown to a client. */
export function formatProblems(problems: readonly FieldProblem[]): string {
  return problems.map((p) => `${p.path}: ${p.message}`).join('; ');
}

function joinPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(arguments)';
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

function explain(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type': {
      // zod leaves `input` out of issues unless asked; its message names what it received.
      const received = 'input' in issue ? describeValue(issue.input) : /received (\w+)/.exec(issue.message)?.[1];
      return received === undefined || received === 'undefined'
        ? `is required (expected ${issue.expected})`
        : `expected ${issue.expected}, got ${received}`;
    }
    case 'too_small':
      return bound('at least', issue.origin, issue.minimum, issue.inclusive);
    case 'too_big':
      return bound('at most', issue.origin, issue.maximum, issue.inclusive);
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
      return issue.message && !issue.message.startsWith('Invalid') ? issue.message : `expected a valid ${issue.format}`;
    default:
      return issue.message;
  }
}

function bound(word: string, origin: string, limit: number | bigint, inclusive: boolean | undefined): string {
  const n = Number(limit);
  const exact = inclusive === false ? (word === 'at least' ? `more than ${n}` : `less than ${n}`) : `${word} ${n}`;
  switch (origin) {
    case 'string':
      return `must be ${exact} characters long`;
    case 'array':
    case 'set':
      return `must have ${exact} items`;
    default:
      return `must be ${exact}`;
  }
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
