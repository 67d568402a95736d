import type pg from 'pg';
import { PostgresError } from './errors.js';
import type { OperationOptions, PostgresService } from './service.js';

/** A table-like relation as `list_tables` shows it. */
export interface TableEntry {
  schema: string;
  name: string;
  kind: string;
  /** The planner's estimate; null before the table was first analysed. */
  estimatedRows: number | null;
  comment: string | null;
}

/** One column of a described table. */
export interface ColumnInfo {
  name: string;
  type: string;
  nullable: boolean;
  default: string | null;
  comment: string | null;
}

/** A constraint of a described table (primary key, foreign key, unique, check, exclusion). */
export interface ConstraintInfo {
  name: string;
  type: string;
  columns: string[];
  definition: string;
}

/** An index of a described table. */
export interface IndexInfo {
  name: string;
  unique: boolean;
  primary: boolean;
  definition: string;
}

/** Everything `describe_table` and the schema resources report about one table. */
export interface TableDescription {
  schema: string;
  name: string;
  kind: string;
  /** The schema-qualified name, quoted for use in SQL. */
  qualifiedName: string;
  columns: ColumnInfo[];
  primaryKey: string[];
  constraints: ConstraintInfo[];
  indexes: IndexInfo[];
}

const KIND = `CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' END`;
const USER_SCHEMA = `(n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema')`;
const LIST_LIMIT = 1000;

/** Quotes an identifier for SQL (`my "table"` → `"my ""table"""`). Only names read from the catalog go through it. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Schemas that hold user objects (no pg_* or information_schema). */
export function listSchemas(db: PostgresService, options: OperationOptions = {}): Promise<string[]> {
  return db.readOnly(async (client) => {
    const { rows } = await client.query<{ name: string }>(
      `SELECT n.nspname AS name FROM pg_namespace n WHERE ${USER_SCHEMA} ORDER BY 1`,
    );
    return rows.map((r) => r.name);
  }, options);
}

/**
 * Tables, views and materialized views of one schema, or of every user schema.
 * A schema that does not exist is a `NOT_FOUND` error listing the ones that do.
 */
export function listTables(
  db: PostgresService,
  schema: string | undefined,
  options: OperationOptions = {},
): Promise<TableEntry[]> {
  return db.readOnly(async (client) => {
    if (schema !== undefined) await assertSchema(client, schema);
    const { rows } = await client.query<{
      schema: string;
      name: string;
      kind: string;
      estimated_rows: string | null;
      comment: string | null;
    }>(
      `SELECT n.nspname AS schema, c.relname AS name, ${KIND} AS kind,
              CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::bigint END AS estimated_rows,
              obj_description(c.oid, 'pg_class') AS comment
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND (CASE WHEN $1::text IS NULL THEN ${USER_SCHEMA} ELSE n.nspname = $1::text END)
        ORDER BY 1, 2 LIMIT ${LIST_LIMIT}`,
      [schema ?? null],
    );
    return rows.map((r) => ({
      schema: r.schema,
      name: r.name,
      kind: r.kind,
      estimatedRows: r.estimated_rows === null ? null : Number(r.estimated_rows),
      comment: r.comment,
    }));
  }, options);
}

/**
 * Describes one table found in the catalog by name (never by interpolating it):
 * columns, keys, constraints and indexes. Without `schema`, the name must be
 * unique across the user schemas.
 */
export function describeTable(
  db: PostgresService,
  table: string,
  schema: string | undefined,
  options: OperationOptions = {},
): Promise<TableDescription> {
  return db.readOnly(async (client) => {
    if (schema !== undefined) await assertSchema(client, schema);
    const found = await client.query<{ oid: number; schema: string; name: string; kind: string }>(
      `SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name, ${KIND} AS kind
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND c.relname = $1::text
          AND (CASE WHEN $2::text IS NULL THEN ${USER_SCHEMA} ELSE n.nspname = $2::text END)
        ORDER BY 2`,
      [table, schema ?? null],
    );
    if (found.rows.length === 0) {
      const where = schema === undefined ? 'any user schema' : `schema ${JSON.stringify(schema)}`;
      throw new PostgresError(
        'NOT_FOUND',
        `No table or view named ${JSON.stringify(table)} in ${where}. Names are case-sensitive; call list_tables to see what exists.`,
      );
    }
    if (found.rows.length > 1) {
      const schemas = found.rows.map((r) => r.schema).join(', ');
      throw new PostgresError(
        'NOT_FOUND',
        `${JSON.stringify(table)} exists in several schemas (${schemas}); pass "schema" to pick one.`,
      );
    }
    const relation = found.rows[0]!;
    const [columns, constraints, indexes] = [
      await client.query<ColumnInfo>(
        `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable,
                pg_get_expr(d.adbin, d.adrelid) AS default, col_description(a.attrelid, a.attnum) AS comment
           FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
        [relation.oid],
      ),
      await client.query<ConstraintInfo>(
        `SELECT con.conname AS name,
                CASE con.contype WHEN 'p' THEN 'primary key' WHEN 'f' THEN 'foreign key' WHEN 'u' THEN 'unique' WHEN 'c' THEN 'check' WHEN 'x' THEN 'exclusion' ELSE con.contype::text END AS type,
                COALESCE((SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY AS k(num, ord)
                            JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num), '{}'::text[]) AS columns,
                pg_get_constraintdef(con.oid) AS definition
           FROM pg_constraint con WHERE con.conrelid = $1::oid ORDER BY con.contype, con.conname`,
        [relation.oid],
      ),
      await client.query<IndexInfo>(
        `SELECT i.relname AS name, ix.indisunique AS unique, ix.indisprimary AS primary, pg_get_indexdef(ix.indexrelid) AS definition
           FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid WHERE ix.indrelid = $1::oid ORDER BY i.relname`,
        [relation.oid],
      ),
    ];
    return {
      schema: relation.schema,
      name: relation.name,
      kind: relation.kind,
      qualifiedName: `${quoteIdent(relation.schema)}.${quoteIdent(relation.name)}`,
      columns: columns.rows,
      primaryKey: constraints.rows.find((c) => c.type === 'primary key')?.columns ?? [],
      constraints: constraints.rows,
      indexes: indexes.rows,
    };
  }, options);
}

async function assertSchema(client: pg.PoolClient, schema: string): Promise<void> {
  const { rows } = await client.query<{ name: string; wanted: boolean }>(
    `SELECT n.nspname AS name, n.nspname = $1::text AS wanted FROM pg_namespace n WHERE n.nspname = $1::text OR ${USER_SCHEMA} ORDER BY 1`,
    [schema],
  );
  if (!rows.some((r) => r.wanted)) {
    const known = rows.map((r) => r.name).join(', ') || 'none';
    throw new PostgresError('NOT_FOUND', `No schema named ${JSON.stringify(schema)}. Schemas: ${known}.`);
  }
}
