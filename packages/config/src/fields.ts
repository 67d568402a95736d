import { z } from 'zod';
import {
  BOOLEAN_EXPECTED,
  coerceInput,
  kindOf,
  parseBoolean,
  parseNumber,
  splitList,
  tagKind,
  type FieldKind,
} from './kind.js';

/** A schema that reads the text of an env var or flag and gives a `T`. */
export type EnvField<T> = z.ZodPipe<z.ZodString, z.ZodTransform<Awaited<T>, string>>;

/** Builds a field from a parser that returns undefined for text it rejects; the error states the expected form. */
function textField<T>(kind: FieldKind, parse: (text: string) => T | undefined): EnvField<T> {
  const schema = z.string().transform((text, ctx) => {
    const value = parse(text);
    if (value === undefined) {
      // The given text is left out on purpose: messages must be safe to show for secrets.
      ctx.addIssue({ code: 'custom', message: `expected ${kind.expected}` });
      return z.NEVER;
    }
    return value;
  });
  return tagKind(schema as EnvField<T>, kind);
}

/** Options of `env.number()`; each bound is inclusive. */
export interface NumberOptions {
  /** Accept only integers. Default false. */
  int?: boolean;
  min?: number;
  max?: number;
}

function numberField(options: NumberOptions = {}, named?: FieldKind): EnvField<number> {
  const { int = false, min, max } = options;
  for (const [name, bound] of [
    ['min', min],
    ['max', max],
  ] as const) {
    if (bound !== undefined && !Number.isFinite(bound))
      throw new TypeError(`env.number(): option ${name} must be a finite number, got ${String(bound)}`);
  }
  if (min !== undefined && max !== undefined && min > max)
    throw new TypeError(`env.number(): option min (${min}) is greater than max (${max})`);
  const noun = int ? 'an integer' : 'a number';
  const range =
    min !== undefined && max !== undefined
      ? ` from ${min} to ${max}`
      : min !== undefined
        ? ` of at least ${min}`
        : max !== undefined
          ? ` of at most ${max}`
          : '';
  const kind = named ?? { type: int ? 'integer' : 'number', expected: `${noun}${range}` };
  return textField(kind, (text) => {
    const value = parseNumber(text);
    if (value === undefined || (int && !Number.isInteger(value))) return undefined;
    if ((min !== undefined && value < min) || (max !== undefined && value > max)) return undefined;
    return value;
  });
}

/** Options of `env.url()`. */
export interface UrlOptions {
  /** Accepted schemes, with or without the colon (`['postgres', 'postgresql']`). Default: any. */
  protocols?: readonly string[];
}

function urlField(options: UrlOptions = {}): EnvField<string> {
  const protocols = options.protocols?.map((protocol) => {
    const normalized = protocol.toLowerCase().replace(/:?$/, ':');
    if (!/^[a-z][a-z0-9+.-]*:$/.test(normalized))
      throw new TypeError(
        `env.url(): protocol ${JSON.stringify(protocol)} is not a URL scheme (expected e.g. "https" or "postgres:")`,
      );
    return normalized;
  });
  if (protocols?.length === 0)
    throw new TypeError('env.url(): protocols must list at least one scheme, or be left out to accept any');
  const expected = protocols
    ? `a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`
    : 'an absolute URL (e.g. https://example.com)';
  return textField({ type: 'url', expected }, (text) => {
    const trimmed = text.trim();
    let url: URL;
    try {
      url = new URL(trimmed);
    } catch {
      return undefined;
    }
    if (protocols && !protocols.includes(url.protocol)) return undefined;
    // The text as given, not `url.href`: normalising adds a trailing `/` that breaks `${base}/path`.
    return trimmed;
  });
}

const DURATION = /^(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h|d)?$/i;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `30s`, `5m`, `1h`, `1d` or a bare number of milliseconds, as milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const [, amount = '', unit = 'ms'] = match;
  return Number(amount) * (UNIT_MS[unit.toLowerCase()] ?? 1);
}

function enumField<const T extends readonly [string, ...string[]]>(values: T): EnvField<T[number]> {
  if (!Array.isArray(values) || values.length === 0)
    throw new TypeError('env.enum(): expected a non-empty array of strings');
  if (new Set(values).size !== values.length)
    throw new TypeError(`env.enum(): values must be unique, got ${values.join(', ')}`);
  return textField({ type: 'enum', expected: `one of: ${values.join(', ')}` }, (text): T[number] | undefined => {
    const trimmed = text.trim();
    if (values.includes(trimmed)) return trimmed;
    // `LOG_LEVEL=INFO` means `info`, unless the case is what tells two values apart.
    const matches = values.filter((value) => value.toLowerCase() === trimmed.toLowerCase());
    return matches.length === 1 ? matches[0] : undefined;
  });
}

function listField<Item extends z.ZodType = z.ZodString>(item?: Item): EnvField<Array<z.output<Item>>> {
  const itemSchema: z.ZodType = item ?? z.string();
  const { expected } = kindOf(itemSchema);
  const schema = z.string().transform((text, ctx) => {
    const out: unknown[] = [];
    let failed = false;
    splitList(text).forEach((part, index) => {
      const result = itemSchema.safeParse(coerceInput(itemSchema, part));
      if (result.success) {
        out.push(result.data);
        return;
      }
      failed = true;
      ctx.addIssue({ code: 'custom', message: `item ${index + 1}: expected ${expected}` });
    });
    return failed ? z.NEVER : (out as Array<z.output<Item>>);
  });
  return tagKind(schema, { type: 'list', expected: `a comma-separated list (each item ${expected})` });
}

/**
 * Field helpers that read env-var and flag text the way people expect, each error naming the expected
 * form (and never the given text). Add a default with `.default()` (of the output type) or `.prefault()`
 * (text, parsed like a given value), a description with `.describe()`, and `secret` or `flag` with
 * `.meta()`. Plain zod schemas work too: `z.number()` and `z.boolean()` are converted from text.
 *
 * @example
 * const schema = defineConfig({
 *   PORT: env.port().default(3000).describe('HTTP port'),
 *   TRELLIS_TRANSPORT: env.enum(['stdio', 'http']).default('stdio').meta({ flag: '--transport' }),
 *   REQUEST_TIMEOUT: env.duration().prefault('30s'),
 *   ALLOWED_HOSTS: env.list().default([]),
 *   GITHUB_TOKEN: env.string().optional(), // secret: the name says TOKEN
 * });
 */
export const env = {
  /**
   * Any non-empty text, as given.
   * @example env.string().min(32).meta({ secret: true })
   */
  string: (): z.ZodString => tagKind(z.string(), { type: 'string', expected: 'a string' }),
  /**
   * A decimal number; `int`, `min`, `max` (inclusive) narrow it. Rejects hex, `Infinity` and `1_000`.
   * @example env.number({ int: true, min: 1, max: 64 }).default(8)
   */
  number: (options?: NumberOptions): EnvField<number> => numberField(options),
  /**
   * A TCP port: an integer from 0 to 65535 (0 lets the system choose a free port).
   * @example env.port().default(3000)
   */
  port: (): EnvField<number> =>
    numberField(
      { int: true, min: 0, max: 65535 },
      { type: 'port', expected: 'a port number (an integer from 0 to 65535)' },
    ),
  /**
   * true/false, 1/0, yes/no, on/off in any case. As a flag, `--name` alone means true and `--no-name` false.
   * @example env.boolean().default(false)
   */
  boolean: (): EnvField<boolean> => textField({ type: 'boolean', expected: BOOLEAN_EXPECTED }, parseBoolean),
  /**
   * Comma-separated items, trimmed, empty ones dropped; each parsed by `item` (default: any string).
   * @example env.list(env.url()).default([]) // 'https://a.example, https://b.example'
   */
  list: listField,
  /**
   * An absolute URL, kept as the given text (trimmed); `protocols` limits its scheme.
   * @example env.url({ protocols: ['postgres', 'postgresql'] })
   */
  url: urlField,
  /**
   * A duration in milliseconds: `500ms`, `30s`, `5m`, `1h`, `1d`, or a bare number of milliseconds.
   * @example env.duration().prefault('30s') // 30000
   */
  duration: (): EnvField<number> =>
    textField(
      { type: 'duration', expected: 'a duration such as 500ms, 30s, 5m, 1h or 1d (a bare number means milliseconds)' },
      parseDuration,
    ),
  /**
   * One of the given strings; a different case is accepted when it names exactly one value.
   * @example env.enum(['debug', 'info', 'warn', 'error']).default('info')
   */
  enum: enumField,
} as const;
