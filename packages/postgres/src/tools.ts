import { ToolError, type PluginScope } from '@trellis/server';
import { z } from 'zod';
import { describeTable, listTables, type TableDescription } from './catalog.js';
import { PostgresError } from './errors.js';
import type { PostgresService } from './service.js';
import { textTable } from './text-table.js';

/** Gives the service, or throws the reason there is none (a `DB_UNAVAILABLE` error). */
export type ServiceAccess = () => PostgresService;

const identifier = (what: string) =>
  z.string().min(1).max(63).describe(`${what} name, exactly as in the catalog (case-sensitive)`);

const tableEntry = z.object({
  schema: z.string(),
  name: z.string(),
  kind: z.string(),
  estimatedRows: z.number().nullable(),
  comment: z.string().nullable(),
});
const description = z.object({
  schema: z.string(),
  name: z.string(),
  kind: z.string(),
  qualifiedName: z.string(),
  columns: z.array(
    z.object({
      name: z.string(),
      type: z.string(),
      nullable: z.boolean(),
      default: z.string().nullable(),
      comment: z.string().nullable(),
    }),
  ),
  primaryKey: z.array(z.string()),
  constraints: z.array(
    z.object({ name: z.string(), type: z.string(), columns: z.array(z.string()), definition: z.string() }),
  ),
  indexes: z.array(z.object({ name: z.string(), unique: z.boolean(), primary: z.boolean(), definition: z.string() })),
});
const queryResult = z.object({
  columns: z.array(z.object({ name: z.string(), type: z.string() })),
  rows: z.array(z.record(z.string(), z.unknown())),
  rowCount: z.number().int(),
  truncated: z.boolean(),
  truncatedBy: z.enum(['rows', 'bytes']).nullable(),
  maxRows: z.number().int(),
  maxBytes: z.number().int(),
  cutValues: z.array(z.object({ row: z.number().int(), column: z.string(), bytes: z.number() })),
  note: z.string().nullable(),
});

/** Runs a tool body; failures of this package become `isError` results with their (password-free) message. */
async function answer<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof PostgresError) throw new ToolError(error.message, { cause: error });
    throw error;
  }
}

/** Renders a table description as text for the model. */
export function describeText(table: TableDescription): string {
  const columns = textTable(
    ['column', 'type', 'null', 'default'],
    table.columns.map((c) => [c.name, c.type, c.nullable ? 'yes' : 'no', c.default]),
  );
  const constraints = table.constraints.map((c) => `- ${c.type} ${c.name}: ${c.definition}`).join('\n') || '- none';
  const indexes = table.indexes.map((i) => `- ${i.name}: ${i.definition}`).join('\n') || '- none';
  return [
    `${table.kind} ${table.qualifiedName}`,
    '',
    columns,
    '',
    `Primary key: ${table.primaryKey.join(', ') || 'none'}`,
    'Constraints:',
    constraints,
    'Indexes:',
    indexes,
    '',
    `Sample: SELECT * FROM ${table.qualifiedName} LIMIT 10`,
  ].join('\n');
}

/** Registers `list_tables`, `describe_table` and `query`. */
export function addTools(scope: PluginScope<unknown>, access: ServiceAccess, limits: { backstopMs: number }): void {
  const annotations = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };

  scope.tools.add({
    name: 'list_tables',
    title: 'List tables',
    description:
      'Lists the tables, views and materialized views of the database (every user schema, or one). Use describe_table for columns and keys.',
    input: z.object({ schema: identifier('Schema').optional() }),
    output: z.object({ tables: z.array(tableEntry) }),
    annotations,
    timeoutMs: limits.backstopMs,
    handler: ({ schema }, ctx) =>
      answer(async () => {
        const tables = await listTables(access(), schema, { signal: ctx.signal });
        const where = schema === undefined ? 'the user schemas' : `schema ${schema}`;
        const body =
          tables.length === 0
            ? `No tables in ${where}.`
            : textTable(
                ['schema', 'name', 'kind', '~rows'],
                tables.map((t) => [t.schema, t.name, t.kind, t.estimatedRows]),
              );
        return {
          content: [{ type: 'text' as const, text: `${tables.length} relation(s) in ${where}:\n\n${body}` }],
          structuredContent: { tables },
        };
      }),
  });

  scope.tools.add({
    name: 'describe_table',
    title: 'Describe a table',
    description:
      'Describes one table or view: columns with types, nullability and defaults, primary and foreign keys, constraints and indexes.',
    input: z.object({
      table: identifier('Table'),
      schema: identifier('Schema')
        .optional()
        .describe('Schema name; needed when the table name exists in several schemas'),
    }),
    output: description,
    annotations,
    timeoutMs: limits.backstopMs,
    handler: ({ table, schema }, ctx) =>
      answer(async () => {
        const described = await describeTable(access(), table, schema, { signal: ctx.signal });
        return { content: [{ type: 'text' as const, text: describeText(described) }], structuredContent: described };
      }),
  });

  scope.tools.add({
    name: 'query',
    title: 'Run a read-only SQL query',
    description:
      'Runs ONE read-only SQL statement (SELECT, WITH, VALUES, TABLE, EXPLAIN, SHOW) in a READ ONLY transaction and returns the rows. ' +
      'Pass values as positional parameters ($1, $2, …) in "params", never inside the SQL text. Results are capped in rows and bytes, and very long values come back as a preview; the answer says what was cut. ' +
      'Server-side functions (files, locks, settings, replication, dblink…) are refused.',
    input: z.object({
      sql: z.string().min(1).max(100_000).describe('One SQL statement; use $1, $2… for values'),
      params: z
        .array(z.union([z.string(), z.number(), z.boolean(), z.null()]))
        .max(1000)
        .optional()
        .describe('Values for $1, $2, … in order (cast in SQL when needed, e.g. $1::date)'),
    }),
    output: queryResult,
    annotations,
    timeoutMs: limits.backstopMs,
    handler: ({ sql, params }, ctx) =>
      answer(async () => {
        const result = await access().query(sql, params ?? [], { signal: ctx.signal });
        const names = result.columns.map((c) => c.name);
        const table = textTable(
          names,
          result.rows.map((row) => names.map((n) => row[n])),
        );
        const head =
          result.note === null ? `${result.rowCount} row(s).` : `${result.rowCount} row(s) shown.\n${result.note}`;
        return { content: [{ type: 'text' as const, text: `${head}\n\n${table}` }], structuredContent: result };
      }),
  });
}
