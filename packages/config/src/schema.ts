import { z } from 'zod';
import { defOf, kindOf, layersOf } from './kind.js';
import { isSecretKey } from './secrets.js';

declare module 'zod' {
  // Typed `.meta()` keys read by @trellis/config (zod's documented way to extend its metadata).
  interface GlobalMeta {
    /** Redact this field's value everywhere it is shown. Default: whether the key looks secret (`isSecretKey`). */
    secret?: boolean;
    /** The command-line flag (`'--transport'`), or false for none. Default: `--` + the key in kebab-case. */
    flag?: string | false;
  }
}

/** The fields of one owner's configuration: env var names (UPPER_SNAKE) to zod schemas. */
export type ConfigShape = Record<string, z.ZodType>;

/** A configuration schema: a zod object whose keys are env var names. */
export type ConfigSchema<Shape extends ConfigShape = ConfigShape> = z.ZodObject<Shape, z.core.$ZodObjectConfig>;

/** Everything known about one field, read once from its schema. */
export interface FieldInfo {
  key: string;
  /** `--log-level`, or undefined when the field has no flag. */
  flag: string | undefined;
  secret: boolean;
  description: string | undefined;
  type: string;
  expected: string;
  hasDefault: boolean;
  /** The default as declared: the output value of `.default()`, or the input of `.prefault()`. */
  defaultValue: unknown;
  /** Neither a default nor optional: a missing value is an error. */
  required: boolean;
  schema: z.ZodType;
}

const KEY = /^[A-Z][A-Z0-9_]*$/;
const FLAG = /^--[a-z0-9][a-z0-9-]*$/;

/**
 * The schema of one owner (the server or a plugin). Checks, when it is declared, that every key is an
 * env var name and that no two fields share a flag.
 *
 * @example
 * const serverConfig = defineConfig({
 *   TRELLIS_TRANSPORT: env.enum(['stdio', 'http']).default('stdio').meta({ flag: '--transport', description: 'Transport to serve on' }),
 *   PORT: env.port().default(3000).describe('HTTP port'),
 * });
 */
export function defineConfig<Shape extends ConfigShape>(shape: Shape): z.ZodObject<Shape, z.core.$strip> {
  if (typeof shape !== 'object' || shape === null)
    throw new TypeError('defineConfig(): expected an object of zod schemas keyed by env var name');
  const schema = z.object(shape) as z.ZodObject<Shape, z.core.$strip>;
  describeFields(schema);
  return schema;
}

/** `LOG_LEVEL` → `--log-level`. */
export function defaultFlag(key: string): string {
  return `--${key
    .toLowerCase()
    .replace(/_+/g, '-')
    .replace(/^-+|-+$/g, '')}`;
}

/** The fields of a configuration schema in declaration order; throws a TypeError for a malformed one. */
export function describeFields(schema: ConfigSchema): FieldInfo[] {
  if (defOf(schema).type !== 'object' || typeof schema.shape !== 'object') {
    throw new TypeError('expected a configuration schema: defineConfig({...}) or z.object({...})');
  }
  const byFlag = new Map<string, string>();
  return Object.entries(schema.shape).map(([key, field]) => {
    const info = describeField(key, field);
    if (info.flag) {
      const other = byFlag.get(info.flag);
      if (other)
        throw new TypeError(
          `config keys ${other} and ${key} both use the flag ${info.flag}; give one a different flag with .meta({ flag })`,
        );
      byFlag.set(info.flag, key);
    }
    return info;
  });
}

function describeField(key: string, schema: z.ZodType): FieldInfo {
  if (!KEY.test(key))
    throw new TypeError(
      `config key ${JSON.stringify(key)} is not an env var name (expected UPPER_SNAKE_CASE, e.g. LOG_LEVEL)`,
    );
  const layers = layersOf(schema);
  // Outer metadata wins: `env.port().meta({ flag: '--p' }).default(1).meta({ flag: '--port' })` uses --port.
  const meta = (name: string): unknown => {
    for (const layer of layers) {
      const value = z.globalRegistry.get(layer)?.[name];
      if (value !== undefined) return value;
    }
    return undefined;
  };
  const secret = meta('secret');
  if (secret !== undefined && typeof secret !== 'boolean')
    throw new TypeError(`config key ${key}: meta secret must be a boolean, got ${typeof secret}`);
  const description = meta('description');
  const withDefault = layers.find((layer) => ['default', 'prefault'].includes(defOf(layer).type));
  const optional = layers.some((layer) => ['optional', 'exact_optional'].includes(defOf(layer).type));
  const { type, expected } = kindOf(schema);
  return {
    key,
    flag: flagOf(key, meta('flag')),
    secret: secret ?? isSecretKey(key),
    description: typeof description === 'string' ? description : undefined,
    type,
    expected,
    hasDefault: withDefault !== undefined,
    defaultValue: withDefault ? (withDefault._zod.def as { defaultValue?: unknown }).defaultValue : undefined,
    required: withDefault === undefined && !optional,
    schema,
  };
}

function flagOf(key: string, flag: unknown): string | undefined {
  if (flag === false) return undefined;
  const normalized =
    flag === undefined
      ? defaultFlag(key)
      : typeof flag === 'string'
        ? flag.startsWith('--')
          ? flag
          : `--${flag}`
        : '';
  if (!FLAG.test(normalized) || normalized === '--help') {
    throw new TypeError(
      `config key ${key}: flag ${JSON.stringify(flag ?? normalized)} is not usable (expected --lower-kebab-case other than --help, or false for none)`,
    );
  }
  return normalized;
}
