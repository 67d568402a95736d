import type { ConfigIssue } from './errors.js';
import { parseBoolean } from './kind.js';
import type { FieldInfo } from './schema.js';

/** Values read from the command line by key, and every problem with it. */
export interface ArgvValues {
  values: Map<string, string>;
  issues: ConfigIssue[];
}

const HELP = new Set(['--help', '-h']);

/**
 * Whether the command line asks for help (`--help` or `-h` before any `--`). `loadConfig` ignores these
 * flags so that the caller can print `formatHelp()` first.
 *
 * @example
 * if (wantsHelp()) {
 *   process.stdout.write(formatHelp({ name: 'weather', schema }));
 *   process.exit(0);
 * }
 */
export function wantsHelp(argv: readonly string[] = process.argv.slice(2)): boolean {
  for (const arg of argv) {
    if (arg === '--') return false;
    if (HELP.has(arg)) return true;
  }
  return false;
}

/**
 * Reads `--name value`, `--name=value`, and for booleans also `--name`, `--no-name` and `--name false`. Repeating a list flag
 * adds items; repeating another flag keeps the last value. Everything after `--` is left to the app.
 */
export function readArgv(argv: readonly string[], fields: readonly FieldInfo[]): ArgvValues {
  const byFlag = new Map(fields.flatMap((field) => (field.flag ? [[field.flag, field] as const] : [])));
  const values = new Map<string, string>();
  const issues: ConfigIssue[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') break;
    if (HELP.has(arg)) continue;
    if (!arg.startsWith('-') || arg === '-') {
      // Named by position, not shown: a stray argument may be a secret that lost its flag.
      issues.push(
        argIssue(
          undefined,
          undefined,
          'a --flag (put arguments meant for the app after --)',
          `argument ${i + 1} is not a --flag: options are given as --flag value or --flag=value`,
        ),
      );
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    const next = argv[i + 1];
    const nextIsValue = next !== undefined && !next.startsWith('--');
    let field = byFlag.get(name);
    let negated = false;
    if (!field && name.startsWith('--no-')) {
      const positive = byFlag.get(`--${name.slice(5)}`);
      if (positive?.type === 'boolean') [field, negated] = [positive, true];
    }
    if (!field) {
      // The value of an unknown flag is skipped unseen: it may be a secret given to a mistyped flag.
      if (inline === undefined && nextIsValue) i++;
      const hint = closest(name, [...byFlag.keys()]);
      issues.push(
        argIssue(
          undefined,
          name,
          'a flag listed by --help',
          `${name}: unknown flag${hint ? ` (did you mean ${hint}?)` : ''}`,
        ),
      );
      continue;
    }
    let value: string | undefined;
    if (negated) {
      if (inline !== undefined) {
        issues.push(
          argIssue(
            field.key,
            name,
            'no value',
            `${name} (${field.key}): takes no value; use ${field.flag}=false or ${name} alone`,
          ),
        );
        continue;
      }
      value = 'false';
    } else if (field.type === 'boolean') {
      // `--verbose false` reads the word: a stray argument is an error anyway, so nothing is lost.
      if (inline === undefined && next !== undefined && parseBoolean(next) !== undefined) {
        value = next;
        i++;
      } else {
        value = inline ?? 'true';
      }
    } else if (inline !== undefined) {
      value = inline;
    } else if (nextIsValue) {
      value = next;
      i++;
    } else {
      issues.push(
        argIssue(
          field.key,
          name,
          field.expected,
          `${name} (${field.key}): missing its value; expected ${field.expected}`,
        ),
      );
      continue;
    }
    // An empty value counts as unset, as an empty env var does.
    if (value === '') continue;
    const previous = values.get(field.key);
    values.set(field.key, field.type === 'list' && previous !== undefined ? `${previous},${value}` : value);
  }
  return { values, issues };
}

function argIssue(key: string | undefined, flag: string | undefined, expected: string, message: string): ConfigIssue {
  return { key, flag, source: 'flag', given: undefined, expected, message };
}

/** The known flag within two edits of a mistyped one, if exactly one is that close. */
function closest(name: string, flags: readonly string[]): string | undefined {
  const near = flags.filter((flag) => distance(name, flag) <= 2);
  return near.length === 1 ? near[0] : undefined;
}

function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(
        (row[j] ?? 0) + 1,
        (next[j - 1] ?? 0) + 1,
        (row[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    row = next;
  }
  return row[b.length] ?? 0;
}
