import { ProtocolError, ProtocolErrorCode, ResourceNotFoundError, type PluginScope } from '@trellis/server';
import { describeTable, listSchemas, listTables } from './catalog.js';
import { PostgresError } from './errors.js';
import type { ServiceAccess } from './tools.js';

/** The URI template of the per-table schema resources. */
export const TABLE_RESOURCE_TEMPLATE = 'postgres://schema/{schema}/{table}';

/** The URI of one table's schema resource. */
export function tableResourceUri(schema: string, table: string): string {
  return `postgres://schema/${encodeURIComponent(schema)}/${encodeURIComponent(table)}`;
}

const one = (value: string | string[] | undefined): string => (Array.isArray(value) ? (value[0] ?? '') : (value ?? ''));

/**
 * Registers one JSON resource per table (columns, types, keys, indexes) under
 * `postgres://schema/{schema}/{table}`, listed and completed from the catalog.
 * Listing and completion answer nothing while the database is away; reading says why.
 */
export function addSchemaResources(scope: PluginScope<unknown>, access: ServiceAccess): void {
  const quietly = async <T>(fallback: T, body: () => Promise<T>): Promise<T> => {
    try {
      return await body();
    } catch (error) {
      scope.log.debug({ err: (error as Error).message }, 'schema resources: catalog not available');
      return fallback;
    }
  };

  scope.resources.template({
    uriTemplate: TABLE_RESOURCE_TEMPLATE,
    name: 'table_schema',
    title: 'Table schema',
    description: 'Columns, types, keys, constraints and indexes of one table or view, as JSON',
    mimeType: 'application/json',
    complete: {
      schema: (value, _context, ctx) =>
        quietly([], async () =>
          (await listSchemas(access(), { signal: ctx.signal })).filter((s) => s.startsWith(value)),
        ),
      table: (value, context, ctx) =>
        quietly([], async () => {
          const schema = context.arguments?.schema || undefined;
          const tables = await listTables(access(), schema, { signal: ctx.signal });
          return [...new Set(tables.map((t) => t.name))].filter((name) => name.startsWith(value));
        }),
    },
    list: (ctx) =>
      quietly([], async () =>
        (await listTables(access(), undefined, { signal: ctx.signal })).map((t) => ({
          uri: tableResourceUri(t.schema, t.name),
          name: `${t.schema}.${t.name}`,
          title: `${t.kind} ${t.schema}.${t.name}`,
          mimeType: 'application/json',
        })),
      ),
    read: async (uri, variables, ctx) => {
      try {
        const described = await describeTable(access(), one(variables.table), one(variables.schema), {
          signal: ctx.signal,
        });
        return [{ uri, mimeType: 'application/json', text: JSON.stringify(described, null, 2) }];
      } catch (error) {
        if (error instanceof PostgresError && error.code === 'NOT_FOUND')
          throw new ResourceNotFoundError(uri, error.message);
        if (error instanceof PostgresError)
          throw new ProtocolError(ProtocolErrorCode.InternalError, error.message, { uri, reason: error.code });
        throw error;
      }
    },
  });
}
