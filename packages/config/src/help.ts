import { displayValue } from './redact.js';
import { describeFields, type ConfigSchema, type FieldInfo } from './schema.js';

/** What `formatHelp` describes. */
export interface HelpOptions {
  /** The command's name, shown in the usage line. */
  name: string;
  /** One or a few sentences under the usage line. */
  description?: string;
  schema: ConfigSchema;
  /** Who declared each key (from `mergeConfigSchemas`): options are then grouped by owner. */
  owners?: Readonly<Record<string, readonly string[]>>;
}

const WIDTH = 34;

/**
 * The `--help` text: every flag and env var with its type, default (redacted for secrets) and description,
 * then the precedence of sources. Ends with a newline.
 *
 * @example
 * const { schema, owners } = mergeConfigSchemas(parts);
 * if (wantsHelp()) process.stdout.write(formatHelp({ name: 'weather', description: 'Weather tools over MCP.', schema, owners }));
 */
export function formatHelp(options: HelpOptions): string {
  const { name, description, schema, owners } = options;
  const lines = [`Usage: ${name} [options]`, ''];
  if (description) lines.push(description.trim(), '');
  const fields = describeFields(schema);
  for (const [title, group] of groups(fields, owners)) {
    lines.push(`${title}:`);
    for (const field of group) lines.push(...describe(field, owners?.[field.key]));
    lines.push('');
  }
  lines.push(
    `  ${pad('-h, --help')}show this help and exit`,
    '',
    'Each option is read from its flag, else its environment variable, else .env.local, else .env, else its default.',
    'An empty value counts as unset. Secret values are never shown.',
    '',
  );
  return lines.join('\n');
}

function groups(fields: readonly FieldInfo[], owners: HelpOptions['owners']): Array<[string, FieldInfo[]]> {
  if (!owners) return [['Options', [...fields]]];
  const byOwner = new Map<string, FieldInfo[]>();
  for (const field of fields) {
    const owner = owners[field.key]?.[0] ?? 'other';
    byOwner.set(owner, [...(byOwner.get(owner) ?? []), field]);
  }
  return [...byOwner].map(([owner, group]) => [`Options of ${owner}`, group]);
}

function describe(field: FieldInfo, owners: readonly string[] | undefined): string[] {
  const flag = field.flag
    ? field.type === 'boolean'
      ? `${field.flag}, --no-${field.flag.slice(2)}`
      : `${field.flag} <${placeholder(field)}>`
    : '(no flag)';
  const env = `env ${field.key}${field.secret ? ' (secret)' : ''}`;
  const state = field.hasDefault
    ? `default: ${displayValue(field.defaultValue, field)}`
    : field.required
      ? 'required'
      : 'optional';
  const lines = [`  ${pad(flag)}${env}`];
  if (field.description) lines.push(`      ${field.description}`);
  lines.push(`      ${capitalize(field.expected)}; ${state}.`);
  if (owners && owners.length > 1) lines.push(`      Shared by ${owners.join(', ')}.`);
  return lines;
}

/** `<stdio|http>` for a short enum, else the type name. */
function placeholder(field: FieldInfo): string {
  const values =
    field.type === 'enum' && field.expected.startsWith('one of: ') ? field.expected.slice(8).split(', ').join('|') : '';
  return values && values.length <= 20 ? values : field.type;
}

function pad(text: string): string {
  return text.length + 2 > WIDTH ? `${text}  ` : text.padEnd(WIDTH);
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
