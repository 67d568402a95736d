import type { z } from 'zod';
import { readArgv } from './argv.js';
import { readEnvFiles } from './env-files.js';
import { ConfigError, type ConfigIssue, type ConfigSource } from './errors.js';
import { displayValue } from './redact.js';
import { coerceInput } from './kind.js';
import { describeFields, type ConfigSchema, type FieldInfo } from './schema.js';
import { maskUrlPasswords, REDACTED } from './secrets.js';

/** Where `loadConfig` reads from; each defaults to the process's own. */
export interface ConfigSources {
  /** Command-line arguments without node and the script. Default: `process.argv.slice(2)`. */
  argv?: readonly string[];
  /** Default: `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Where env files are looked for. Default: `process.cwd()`. */
  cwd?: string;
  /** Env files, highest precedence first; missing ones are skipped. Default: `['.env.local', '.env']`. */
  envFiles?: readonly string[];
}

/** A readonly view of `T` at every depth. */
export type DeepReadonly<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends ReadonlyArray<infer Item>
    ? ReadonlyArray<DeepReadonly<Item>>
    : T extends object
      ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
      : T;

/** The loaded configuration of a schema: its output type, deeply readonly (and frozen at run time). */
export type Config<S extends ConfigSchema> = DeepReadonly<z.output<S>>;

const DEFAULT_ENV_FILES = ['.env.local', '.env'];

/**
 * Reads, converts and validates every field of a schema, and returns the result deeply frozen.
 *
 * Precedence, per field: flags > environment variables > `.env.local` > `.env` > the schema's default.
 * An empty value (`PORT=` or `--port=`) counts as unset. `--help` and `-h` are ignored (see `wantsHelp`).
 * Env files are only read: `process.env` is never changed.
 *
 * @throws {ConfigError} listing every bad or missing value and every unknown flag at once.
 * @example
 * const config = loadConfig(schema); // from process.argv, process.env, ./.env.local, ./.env
 * const forTest = loadConfig(schema, { argv: ['--port', '0'], env: {}, envFiles: [] });
 */
export function loadConfig<S extends ConfigSchema>(schema: S, sources: ConfigSources = {}): Config<S> {
  const fields = describeFields(schema);
  const argv = readArgv(sources.argv ?? process.argv.slice(2), fields);
  const env = sources.env ?? process.env;
  const { files, issues: fileIssues } = readEnvFiles(
    sources.cwd ?? process.cwd(),
    sources.envFiles ?? DEFAULT_ENV_FILES,
  );
  const layers: Array<{ source: ConfigSource; get: (key: string) => string | undefined }> = [
    { source: 'flag', get: (key) => argv.values.get(key) },
    { source: 'env', get: (key) => env[key] },
    ...files.map((file) => ({ source: file.name, get: (key: string) => file.values[key] })),
  ];

  const given = new Map<string, { source: ConfigSource; text: string }>();
  const input: Record<string, unknown> = {};
  for (const field of fields) {
    for (const layer of layers) {
      const text = layer.get(field.key);
      if (text === undefined || text === '') continue;
      given.set(field.key, { source: layer.source, text });
      input[field.key] = coerceInput(field.schema, text);
      break;
    }
  }

  const issues = [...argv.issues, ...fileIssues];
  const result = schema.safeParse(input);
  if (!result.success) issues.push(...describeZodIssues(result.error.issues, fields, given));
  if (issues.length > 0) throw new ConfigError(issues);
  return deepFreeze(result.data) as Config<S>;
}

/** One `ConfigIssue` per field with problems, in schema order, then problems of the whole object. */
function describeZodIssues(
  zodIssues: readonly z.core.$ZodIssue[],
  fields: readonly FieldInfo[],
  given: ReadonlyMap<string, { source: ConfigSource; text: string }>,
): ConfigIssue[] {
  const byKey = new Map<string | undefined, string[]>();
  for (const issue of zodIssues) {
    const head = issue.path[0];
    const key = typeof head === 'string' && fields.some((field) => field.key === head) ? head : undefined;
    const list = byKey.get(key) ?? [];
    list.push(
      key === undefined && issue.path.length > 0
        ? `${issue.path.map(String).join('.')}: ${issue.message}`
        : issue.message,
    );
    byKey.set(key, list);
  }
  const out: ConfigIssue[] = [];
  for (const field of fields) {
    const messages = byKey.get(field.key);
    if (messages) out.push(fieldIssue(field, messages, given.get(field.key)));
  }
  const whole = byKey.get(undefined);
  if (whole) {
    const text = whole.map(maskUrlPasswords).join('; ');
    out.push({
      key: undefined,
      flag: undefined,
      source: 'unset',
      given: undefined,
      expected: text,
      message: `configuration: ${text}`,
    });
  }
  return out;
}

function fieldIssue(
  field: FieldInfo,
  messages: readonly string[],
  given: { source: ConfigSource; text: string } | undefined,
): ConfigIssue {
  const base = { key: field.key, flag: field.flag, expected: field.expected };
  if (!given && !field.hasDefault && field.required) {
    const how = field.flag ? `set ${field.key} or pass ${field.flag}` : `set ${field.key}`;
    return {
      ...base,
      source: 'unset',
      given: undefined,
      message: `${field.key}: missing; expected ${field.expected} (${how})`,
    };
  }
  const source: ConfigSource = given?.source ?? (field.hasDefault ? 'default' : 'unset');
  const shown = given
    ? field.secret
      ? REDACTED
      : JSON.stringify(maskUrlPasswords(given.text))
    : field.hasDefault
      ? displayValue(field.defaultValue, field)
      : undefined;
  // Our helpers say "expected …" without the input; zod's own messages for a plain schema are reworded the same way.
  const problems = [...new Set(messages.map((message) => explain(message, field, given?.text)))];
  const label =
    source === 'flag'
      ? `${field.flag} (${field.key})`
      : source === 'env'
        ? `${field.key} (environment variable)`
        : source === 'unset'
          ? field.key
          : source === 'default'
            ? `${field.key} (its default)`
            : `${field.key} (in ${source})`;
  return { ...base, source, given: shown, message: `${label}: got ${shown ?? 'nothing'}; ${problems.join('; ')}` };
}

function explain(message: string, field: FieldInfo, text: string | undefined): string {
  const reworded = /^Invalid (input|option)\b/.test(message) ? `expected ${field.expected}` : message;
  // A custom message could quote the input: for a secret, take out every occurrence of it.
  const scrubbed = field.secret && text ? reworded.split(text).join(REDACTED) : reworded;
  return maskUrlPasswords(scrubbed);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
