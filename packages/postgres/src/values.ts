import pg from 'pg';

// Date and time types stay as PostgreSQL prints them: converting to a JS Date
// would shift `timestamp without time zone` into the server process's zone.
const AS_TEXT = [1082, 1083, 1114, 1184, 1266, 17];
const ARRAYS_AS_TEXT = [1182, 1183, 1115, 1185, 1270, 1001];
const TEXT_ARRAY_OID = 1009;

/** A parser that answers the text as sent when the real one fails (it runs inside the socket's data handler). */
function lenient(parse: (value: string) => unknown): (value: string) => unknown {
  return (value) => {
    try {
      return parse(value);
    } catch {
      return value;
    }
  };
}

/** Type parsers for results shown to a model: JSON-friendly, no time-zone surprises, never throwing. */
export const resultTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) => {
    if (AS_TEXT.includes(oid)) return (value: string) => value;
    if (ARRAYS_AS_TEXT.includes(oid)) return lenient(pg.types.getTypeParser(TEXT_ARRAY_OID as never, 'text'));
    return lenient(pg.types.getTypeParser(oid as never, (format ?? 'text') as 'text') as (value: string) => unknown);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** Makes a parsed value safe for JSON (buffers as hex, bigints as text). */
export function jsonValue(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  if (Array.isArray(value)) return value.map(jsonValue);
  return value;
}

/** Column names made unique (`a`, `a_2`) so rows can be objects. */
export function uniqueNames(names: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((name) => {
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
    return count === 1 ? name : `${name}_${count}`;
  });
}
