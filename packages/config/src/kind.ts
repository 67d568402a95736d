import { z } from 'zod';

/** What a field accepts: a short type name for `--help` and the form named in errors. */
export interface FieldKind {
  /** `string`, `number`, `integer`, `port`, `boolean`, `list`, `url`, `duration`, `enum`, or zod's own type name. */
  type: string;
  /** The accepted form in words, completing "expected …" (`an integer from 1 to 10`). */
  expected: string;
}

// The `env.*` helpers tag the schemas they make. A zod registry is a WeakMap keyed by schema, and zod
// copies the link to a parent when a schema is cloned by `.meta()`, `.describe()`, `.refine()` or `.min()`.
const kinds = z.registry<FieldKind>();

/** Tags a schema made by an `env.*` helper with what it accepts. */
export function tagKind<S extends z.ZodType>(schema: S, kind: FieldKind): S {
  kinds.add(schema, kind);
  return schema;
}

/** The definition fields read here; zod's own def types are a union too wide to narrow by hand. */
interface LooseDef {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  entries?: Record<string, string | number>;
  values?: readonly unknown[];
}

export function defOf(schema: z.core.$ZodType): LooseDef {
  return schema._zod.def as unknown as LooseDef;
}

const WRAPPERS = new Set([
  'default',
  'prefault',
  'optional',
  'exact_optional',
  'nullable',
  'nonoptional',
  'readonly',
  'catch',
]);

/** The schema and every wrapper under it (`.default()`, `.optional()`, …), outermost first. */
export function layersOf(schema: z.ZodType): z.ZodType[] {
  const layers: z.ZodType[] = [];
  let current: z.ZodType | undefined = schema;
  while (current) {
    layers.push(current);
    const def = defOf(current);
    current = WRAPPERS.has(def.type) ? def.innerType : undefined;
  }
  return layers;
}

/** The innermost schema that is not a wrapper or the input side of a pipe, unless a helper tagged one on the way. */
function coreOf(schema: z.ZodType): { tagged?: FieldKind; core: z.ZodType } {
  let current = schema;
  for (;;) {
    const tagged = kinds.get(current);
    if (tagged) return { tagged, core: current };
    const def = defOf(current);
    if (WRAPPERS.has(def.type) && def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in) current = def.in;
    else return { core: current };
  }
}

/** What a field accepts, from its helper's tag or, for a plain zod schema, from its type. */
export function kindOf(schema: z.ZodType): FieldKind {
  const { tagged, core } = coreOf(schema);
  if (tagged) return tagged;
  const def = defOf(core);
  switch (def.type) {
    case 'string':
      return { type: 'string', expected: 'a string' };
    case 'number':
      return (core as z.ZodNumber).format?.includes('int')
        ? { type: 'integer', expected: 'an integer' }
        : { type: 'number', expected: 'a number' };
    case 'boolean':
      return { type: 'boolean', expected: BOOLEAN_EXPECTED };
    case 'enum':
      return { type: 'enum', expected: `one of: ${Object.values(def.entries ?? {}).join(', ')}` };
    case 'literal':
      return { type: 'literal', expected: `exactly ${(def.values ?? []).map(String).join(' or ')}` };
    case 'array':
      return {
        type: 'list',
        expected: `a comma-separated list (each item ${def.element ? kindOf(def.element).expected : 'a string'})`,
      };
    default:
      return { type: def.type, expected: `a value of type ${def.type}` };
  }
}

/**
 * Turns the text of an env var or flag into what a plain zod schema expects (`z.number()` gets a number,
 * `z.boolean()` a boolean, `z.array()` its items). Helper-made schemas parse text themselves: left as is.
 * Text that cannot be converted is passed on, so zod reports it against the field.
 */
export function coerceInput(schema: z.ZodType, text: string): unknown {
  const { tagged, core } = coreOf(schema);
  if (tagged) return text;
  const def = defOf(core);
  switch (def.type) {
    case 'number':
      return parseNumber(text) ?? text;
    case 'boolean':
      return parseBoolean(text) ?? text;
    case 'bigint':
      return /^\s*[+-]?\d+\s*$/.test(text) ? BigInt(text.trim()) : text;
    case 'array':
      return splitList(text).map((item) => (def.element ? coerceInput(def.element, item) : item));
    default:
      return text;
  }
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

/** A decimal number (`42`, `-1.5`, `1e3`), or undefined; rejects `''`, `0x10`, `Infinity`, `1_000`. */
export function parseNumber(text: string): number | undefined {
  const trimmed = text.trim();
  if (!NUMBER.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}

export const BOOLEAN_EXPECTED = 'a boolean (true/false, 1/0, yes/no or on/off)';
const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** true/false, 1/0, yes/no, on/off in any case, or undefined. */
export function parseBoolean(text: string): boolean | undefined {
  const word = text.trim().toLowerCase();
  if (TRUE.has(word)) return true;
  if (FALSE.has(word)) return false;
  return undefined;
}

/** Comma-separated items, trimmed, empty ones dropped. */
export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
