import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { env, parseDuration } from './fields.js';
import { configErrorOf, readOne } from './test-helpers.js';

function rejects(field: z.ZodType, text: string, expected: string) {
  const error = configErrorOf(() => readOne(field, text));
  expect(error.issues).toHaveLength(1);
  expect(error.issues[0]).toMatchObject({ key: 'VALUE', source: 'env', given: JSON.stringify(text), expected });
  expect(error.message).toContain(`expected ${expected}`);
}

describe('env.string', () => {
  it('keeps the text as given', () => {
    expect(readOne(env.string(), '  spaced  ')).toBe('  spaced  ');
  });
  it('keeps zod checks chained on it, with the failed check in the message', () => {
    const error = configErrorOf(() => readOne(env.string().min(5), 'abc'));
    expect(error.issues[0]!.message).toMatch(/VALUE \(environment variable\): got "abc"; .*5/);
  });
});

describe('env.number', () => {
  it.each([
    ['42', 42],
    [' -1.5 ', -1.5],
    ['1e3', 1000],
    ['.5', 0.5],
  ])('reads %j as %d', (text, value) => {
    expect(readOne(env.number(), text)).toBe(value);
  });
  it.each(['abc', '0x10', 'Infinity', '1_000', '12px'])('rejects %j', (text) => {
    rejects(env.number(), text, 'a number');
  });
  it('applies int, min and max, naming them in the expected form', () => {
    expect(readOne(env.number({ int: true, min: 1, max: 10 }), '10')).toBe(10);
    rejects(env.number({ int: true, min: 1, max: 10 }), '2.5', 'an integer from 1 to 10');
    rejects(env.number({ int: true, min: 1, max: 10 }), '11', 'an integer from 1 to 10');
    rejects(env.number({ min: 0 }), '-1', 'a number of at least 0');
    rejects(env.number({ max: 1 }), '2', 'a number of at most 1');
  });
  it('refuses bad options when the field is declared', () => {
    expect(() => env.number({ min: 5, max: 1 })).toThrow(/min \(5\) is greater than max \(1\)/);
    expect(() => env.number({ min: Number.NaN })).toThrow(TypeError);
  });
});

describe('env.port', () => {
  it('reads 0 to 65535', () => {
    expect(readOne(env.port(), '3000')).toBe(3000);
    expect(readOne(env.port(), '0')).toBe(0);
    expect(readOne(env.port(), '65535')).toBe(65535);
  });
  it.each(['65536', '-1', '80.5', 'http'])('rejects %j', (text) => {
    rejects(env.port(), text, 'a port number (an integer from 0 to 65535)');
  });
});

describe('env.boolean', () => {
  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['yes', true],
    ['On', true],
    ['false', false],
    ['0', false],
    ['No', false],
    [' off ', false],
  ])('reads %j as %s', (text, value) => {
    expect(readOne(env.boolean(), text)).toBe(value);
  });
  it.each(['y', 'enabled', '2'])('rejects %j', (text) => {
    rejects(env.boolean(), text, 'a boolean (true/false, 1/0, yes/no or on/off)');
  });
});

describe('env.list', () => {
  it('splits on commas, trims, and drops empty items', () => {
    expect(readOne(env.list(), ' a, b ,,c, ')).toEqual(['a', 'b', 'c']);
  });
  it('parses each item with the item schema', () => {
    expect(readOne(env.list(env.port()), '80, 443')).toEqual([80, 443]);
    expect(readOne(env.list(z.number()), '1,2')).toEqual([1, 2]);
  });
  it('names each bad item and the expected item form', () => {
    const error = configErrorOf(() => readOne(env.list(env.port()), '80,http,99999'));
    expect(error.issues[0]!.expected).toBe(
      'a comma-separated list (each item a port number (an integer from 0 to 65535))',
    );
    expect(error.message).toContain('item 2: expected a port number');
    expect(error.message).toContain('item 3: expected a port number');
  });
});

describe('env.url', () => {
  it('keeps a valid URL as given, trimmed', () => {
    expect(readOne(env.url(), ' https://example.com ')).toBe('https://example.com');
  });
  it('rejects text that is not an absolute URL', () => {
    rejects(env.url(), 'example.com', 'an absolute URL (e.g. https://example.com)');
  });
  it('limits protocols, with or without the colon', () => {
    const field = env.url({ protocols: ['postgres', 'postgresql:'] });
    expect(readOne(field, 'postgresql://db/app')).toBe('postgresql://db/app');
    rejects(field, 'mysql://db/app', 'a URL starting with postgres:// or postgresql://');
  });
  it('refuses a malformed protocol option', () => {
    expect(() => env.url({ protocols: ['not a scheme'] })).toThrow(TypeError);
    expect(() => env.url({ protocols: [] })).toThrow(TypeError);
  });
});

describe('env.duration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['1.5s', 1500],
    ['250', 250],
    ['10 S', 10_000],
  ])('reads %j as %d ms', (text, ms) => {
    expect(readOne(env.duration(), text)).toBe(ms);
    expect(parseDuration(text)).toBe(ms);
  });
  it.each(['5 minutes', '-1s', '1m30s', 's'])('rejects %j', (text) => {
    rejects(env.duration(), text, 'a duration such as 500ms, 30s, 5m, 1h or 1d (a bare number means milliseconds)');
  });
  it('parses a .prefault() text like a given value', () => {
    expect(readOne(env.duration().prefault('30s'), undefined)).toBe(30_000);
  });
});

describe('env.enum', () => {
  const level = env.enum(['debug', 'info', 'warn']);
  it('reads a listed value, also in another case', () => {
    expect(readOne(level, 'warn')).toBe('warn');
    expect(readOne(level, 'INFO')).toBe('info');
  });
  it('rejects others, listing the values', () => {
    rejects(level, 'verbose', 'one of: debug, info, warn');
  });
  it('needs the exact case when the case is what tells values apart', () => {
    const field = env.enum(['a', 'A']);
    expect(readOne(field, 'A')).toBe('A');
    rejects(env.enum(['a', 'A']), ' b', 'one of: a, A');
  });
  it('refuses an empty or repeated list', () => {
    expect(() => env.enum([] as unknown as ['x'])).toThrow(TypeError);
    expect(() => env.enum(['x', 'x'])).toThrow(/unique/);
  });
});

describe('plain zod schemas', () => {
  it('converts env text for z.number(), z.boolean() and z.array()', () => {
    expect(readOne(z.number().int(), '7')).toBe(7);
    expect(readOne(z.boolean(), 'yes')).toBe(true);
    expect(readOne(z.array(z.string()), 'a,b')).toEqual(['a', 'b']);
    expect(readOne(z.enum(['x', 'y']), 'y')).toBe('y');
  });
  it('names the expected form for them too', () => {
    rejects(z.number(), 'many', 'a number');
    rejects(z.enum(['x', 'y']), 'z', 'one of: x, y');
    rejects(z.boolean(), 'maybe', 'a boolean (true/false, 1/0, yes/no or on/off)');
  });
});
