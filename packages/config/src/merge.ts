import { z } from 'zod';
import { ConfigClashError } from './errors.js';
import { displayValue } from './redact.js';
import { describeFields, type ConfigSchema, type ConfigShape, type FieldInfo } from './schema.js';

/** One owner's part of an app's configuration. */
export interface ConfigPart<S extends ConfigSchema = ConfigSchema> {
  /** Who declares it: `server` or a plugin's name. Named in clash errors and grouped by in `--help`. */
  owner: string;
  schema: S;
}

type UnionToIntersection<U> = (U extends unknown ? (arg: U) => void : never) extends (arg: infer I) => void ? I : never;
type Flatten<T> = { [K in keyof T]: T[K] } & {};

/** The shape of every part's fields together. */
export type MergedShape<Parts extends readonly ConfigPart[]> =
  Flatten<UnionToIntersection<Parts[number]['schema']['shape']>> extends infer Shape extends ConfigShape
    ? Shape
    : ConfigShape;

/** An app's whole configuration and who declared each key. */
export interface MergedConfig<Shape extends ConfigShape> {
  schema: z.ZodObject<Shape, z.core.$strip>;
  /** Every owner of each key, in the order given; a key declared identically by several is shared. */
  owners: Readonly<Record<string, readonly string[]>>;
}

/**
 * Combines the schemas of the server and its plugins into one. A key declared by two owners must be
 * declared the same way (type and constraints, default, secrecy, flag; the description may differ): then it
 * is shared, else this throws `ConfigClashError` naming the key and both owners. Two keys may not share a flag.
 *
 * @example
 * const { schema, owners } = mergeConfigSchemas([
 *   { owner: 'server', schema: serverConfig },
 *   { owner: 'postgres', schema: postgres.config },
 * ]);
 * const config = loadConfig(schema);
 */
export function mergeConfigSchemas<const Parts extends readonly ConfigPart[]>(
  parts: Parts,
): MergedConfig<MergedShape<Parts>> {
  const shape: ConfigShape = {};
  const owners: Record<string, string[]> = {};
  const first = new Map<string, { owner: string; field: FieldInfo }>();
  const flags = new Map<string, { owner: string; key: string }>();
  const seenOwners = new Set<string>();
  for (const { owner, schema } of parts) {
    if (typeof owner !== 'string' || owner === '')
      throw new TypeError('mergeConfigSchemas(): every part needs a non-empty owner name');
    if (seenOwners.has(owner)) throw new TypeError(`mergeConfigSchemas(): owner "${owner}" is listed twice`);
    seenOwners.add(owner);
    for (const field of describeFields(schema)) {
      const earlier = first.get(field.key);
      if (earlier) {
        // Signatures (a JSON Schema each) only for a key declared twice: most keys have one owner, and this runs at every start.
        if (earlier.field.schema !== field.schema && signatureOf(earlier.field) !== signatureOf(field)) {
          throw new ConfigClashError(field.key, [earlier.owner, owner], difference(earlier.field, field));
        }
        owners[field.key]?.push(owner);
        continue;
      }
      if (field.flag) {
        const other = flags.get(field.flag);
        if (other)
          throw new ConfigClashError(field.flag, [other.owner, owner], `flag of both ${other.key} and ${field.key}`);
        flags.set(field.flag, { owner, key: field.key });
      }
      first.set(field.key, { owner, field });
      owners[field.key] = [owner];
      shape[field.key] = field.schema;
    }
  }
  return { schema: z.object(shape) as z.ZodObject<MergedShape<Parts>, z.core.$strip>, owners };
}

const NO_METADATA = z.registry<Record<string, unknown>>();

/** What must match for two owners to share a key. The description is left out: wording may differ. */
function signatureOf(field: FieldInfo): string {
  let structure: unknown;
  try {
    structure = z.toJSONSchema(field.schema, { io: 'input', unrepresentable: 'any', metadata: NO_METADATA });
  } catch {
    structure = null;
  }
  return stringify([
    field.type,
    field.expected,
    field.secret,
    field.flag,
    field.required,
    field.hasDefault,
    field.defaultValue,
    structure,
  ]);
}

function stringify(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? `${item}n` : item)) ?? 'undefined';
}

function difference(a: FieldInfo, b: FieldInfo): string {
  if (a.type !== b.type) return `type ${a.type} vs ${b.type}`;
  if (a.expected !== b.expected) return `expected ${a.expected} vs ${b.expected}`;
  if (a.secret !== b.secret) return `secret ${a.secret} vs ${b.secret}`;
  if (a.flag !== b.flag) return `flag ${a.flag ?? 'none'} vs ${b.flag ?? 'none'}`;
  if (a.hasDefault !== b.hasDefault || stringify(a.defaultValue) !== stringify(b.defaultValue)) {
    // Both are secret here, or neither: secrecy was compared first.
    if (a.secret) return 'defaults differ (secret, not shown)';
    const show = (field: FieldInfo) => (field.hasDefault ? displayValue(field.defaultValue, field) : 'none');
    const [left, right] = [show(a), show(b)];
    return left === right
      ? `default ${left} declared in two ways (.default vs .prefault)`
      : `default ${left} vs ${right}`;
  }
  if (a.required !== b.required)
    return `${a.required ? 'required' : 'optional'} vs ${b.required ? 'required' : 'optional'}`;
  return 'constraints differ';
}
