import { describeFields, type ConfigSchema, type FieldInfo } from './schema.js';
import { isSecretKey, maskUrlPasswords, REDACTED } from './secrets.js';

/** A value that survives `JSON.stringify` unchanged. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * A copy of a configuration that is safe to show (the `config://settings` resource, logs): secret fields
 * become `[redacted]`, URL passwords `***`, unset values `null`, and everything is plain JSON. Secrecy
 * comes from the schema when given, else from the key's name (`isSecretKey`).
 *
 * @example
 * redact(config, schema);
 * // { PORT: 3000, API_TOKEN: '[redacted]', DATABASE_URL: 'postgres://app:***@db/app', ALLOWED_HOSTS: [] }
 */
export function redact(config: Readonly<Record<string, unknown>>, schema?: ConfigSchema): { [key: string]: JsonValue } {
  const fields = new Map<string, FieldInfo>(schema ? describeFields(schema).map((field) => [field.key, field]) : []);
  const out: { [key: string]: JsonValue } = {};
  for (const [key, value] of Object.entries(config)) {
    const secret = fields.get(key)?.secret ?? isSecretKey(key);
    out[key] = secret ? (value === undefined || value === null ? null : REDACTED) : toJson(value, new Set());
  }
  return out;
}

function toJson(value: unknown, seen: Set<object>): JsonValue {
  switch (typeof value) {
    case 'string':
      return maskUrlPasswords(value);
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'object':
      break;
    default:
      return null;
  }
  if (value === null) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof URL) return maskUrlPasswords(value.href);
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  try {
    if (Array.isArray(value) || value instanceof Set) return [...value].map((item: unknown) => toJson(item, seen));
    const entries =
      value instanceof Map
        ? [...value.entries()].map(([k, v]): [string, unknown] => [String(k), v])
        : Object.entries(value);
    const out: { [key: string]: JsonValue } = {};
    for (const [key, item] of entries)
      out[key] = isSecretKey(key) && item !== undefined && item !== null ? REDACTED : toJson(item, seen);
    return out;
  } finally {
    seen.delete(value);
  }
}

/** A value in words for `--help`, errors and clash messages: secrets redacted, durations humanised. */
export function displayValue(value: unknown, field: Pick<FieldInfo, 'secret' | 'type'>): string {
  if (field.secret) return REDACTED;
  if (value === undefined) return 'none';
  if (field.type === 'duration' && typeof value === 'number') return formatDuration(value);
  if (Array.isArray(value))
    return value.length === 0
      ? '(empty list)'
      : value.map((item) => displayValue(item, { secret: false, type: '' })).join(',');
  if (typeof value === 'string') return maskUrlPasswords(value);
  const json = toJson(value, new Set());
  return typeof json === 'string' ? json : JSON.stringify(json);
}

const UNITS: Array<[string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
];

/** 30000 → `30s`; 1500 → `1500ms`: the largest unit that divides it exactly. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of UNITS) if (ms !== 0 && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
