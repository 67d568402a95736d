export { quoteIdent } from './catalog.js';
export type { ColumnInfo, ConstraintInfo, IndexInfo, TableDescription, TableEntry } from './catalog.js';
export { postgresConfigSchema } from './config.js';
export type { PostgresConfig } from './config.js';
export { defaultStateDir, embeddedPostgres } from './embedded/embedded.js';
export type { EmbeddedPostgresOptions } from './embedded/embedded.js';
export { DEMO_DATABASE } from './embedded/seed.js';
export type { EmbeddedPostgres, StartedPostgres } from './embedded/types.js';
export { PostgresError } from './errors.js';
export type { PostgresErrorCode } from './errors.js';
export { postgres, PostgresServiceKey } from './plugin.js';
export type { PostgresPluginOptions } from './plugin.js';
export { TABLE_RESOURCE_TEMPLATE, tableResourceUri } from './resources.js';
export { DENIED_FUNCTION_FAMILIES } from './denied-functions.js';
export type { DeniedFamily } from './denied-functions.js';
export {
  ALLOW_PRIVILEGED_ROLE_SETTING,
  PRIVILEGED_ROLES,
  revokeDeniedFunctionsSql,
  safeRoleSql,
} from './role-check.js';
export type { RoleInspection, SafeRoleOptions } from './role-check.js';
export type { CutValue } from './result-budget.js';
export { PostgresService } from './service.js';
export type { OperationOptions, PostgresServiceOptions, QueryOutcome, ResultColumn } from './service.js';
