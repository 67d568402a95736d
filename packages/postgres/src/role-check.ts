import type pg from 'pg';
import { deniedCatalogFunctionsCondition } from './denied-functions.js';
import { quoteIdent } from './catalog.js';

/** Predefined roles whose members read or write past table privileges, or act on the server. */
export const PRIVILEGED_ROLES = [
  'pg_read_server_files',
  'pg_write_server_files',
  'pg_execute_server_program',
  'pg_signal_backend',
  'pg_read_all_data',
  'pg_write_all_data',
] as const;

/** The setting that lets the plugin run with a privileged role anyway. */
export const ALLOW_PRIVILEGED_ROLE_SETTING = 'POSTGRES_DANGEROUSLY_ALLOW_PRIVILEGED_ROLE';

/** What the connection's role may do beyond reading granted tables. */
export interface RoleInspection {
  role: string;
  database: string;
  /** `SUPERUSER`, `REPLICATION`, `BYPASSRLS`, `member of pg_read_server_files`…; empty when the role is safe. */
  findings: string[];
}

/** Reads the attributes and memberships of the connection's role. */
export async function inspectRole(client: pg.ClientBase): Promise<RoleInspection> {
  const { rows } = await client.query<{
    role: string;
    database: string;
    rolsuper: boolean;
    rolreplication: boolean;
    rolbypassrls: boolean;
    memberships: string[];
  }>(
    `SELECT current_user::text AS role, current_database()::text AS database, r.rolsuper, r.rolreplication, r.rolbypassrls,
            ARRAY(SELECT g.rolname::text FROM pg_roles g
                   WHERE g.rolname = ANY ($1::text[]) AND pg_has_role(current_user, g.oid, 'MEMBER') ORDER BY 1) AS memberships
       FROM pg_roles r WHERE r.rolname = current_user`,
    [PRIVILEGED_ROLES],
  );
  const row = rows[0];
  if (!row) return { role: 'unknown', database: 'unknown', findings: ['a role missing from pg_roles'] };
  const findings: string[] = [];
  if (row.rolsuper) findings.push('SUPERUSER');
  if (row.rolreplication) findings.push('REPLICATION');
  if (row.rolbypassrls) findings.push('BYPASSRLS');
  // A superuser is a member of everything; naming each role would only bury the attribute.
  if (!row.rolsuper) findings.push(...row.memberships.map((name) => `member of ${name}`));
  return { role: row.role, database: row.database, findings };
}

/** Options of {@link safeRoleSql}. */
export interface SafeRoleOptions {
  /** The new role. Default `trellis_reader`. */
  role?: string;
  /** Its password (a placeholder in the docs); none for a server that trusts local sockets. */
  password?: string;
  database: string;
  /** Schemas it may read. Default `['public']`. */
  schemas?: readonly string[];
}

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * The SQL (run as an administrator) that creates a login role which may only
 * read the tables of the chosen schemas: no attribute, no membership, USAGE and
 * SELECT only. The README shows it, the embedded database runs it, and the tests
 * run it; one text for all three.
 */
export function safeRoleSql(options: SafeRoleOptions): string {
  const role = quoteIdent(options.role ?? 'trellis_reader');
  const password = options.password === undefined ? '' : ` PASSWORD ${literal(options.password)}`;
  return [
    `CREATE ROLE ${role} LOGIN${password} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;`,
    readGrantsSql(options),
  ].join('\n');
}

/** The GRANTs of {@link safeRoleSql} alone (they can run again on an existing role). */
export function readGrantsSql(options: SafeRoleOptions): string {
  const role = quoteIdent(options.role ?? 'trellis_reader');
  const lines = [`GRANT CONNECT ON DATABASE ${quoteIdent(options.database)} TO ${role};`];
  for (const schema of options.schemas ?? ['public']) {
    const name = quoteIdent(schema);
    lines.push(
      `GRANT USAGE ON SCHEMA ${name} TO ${role};`,
      `GRANT SELECT ON ALL TABLES IN SCHEMA ${name} TO ${role};`,
      `ALTER DEFAULT PRIVILEGES IN SCHEMA ${name} GRANT SELECT ON TABLES TO ${role};`,
    );
  }
  return lines.join('\n');
}

/**
 * SQL (run as a superuser, in the served database) revoking the catalog
 * functions of the deny-list from PUBLIC, so that no ordinary role can call
 * them even through a view or function the statement guard cannot see.
 */
export function revokeDeniedFunctionsSql(): string {
  return [
    'DO $$',
    'DECLARE f regprocedure;',
    'BEGIN',
    `  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p WHERE ${deniedCatalogFunctionsCondition()} LOOP`,
    "    EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);",
    '  END LOOP;',
    'END $$;',
  ].join('\n');
}

/** The message of a start refused because of the role's privileges. */
export function unsafeRoleMessage(inspection: RoleInspection): string {
  return [
    `The postgres plugin refuses to start: the database role ${JSON.stringify(inspection.role)} has ${inspection.findings.join(', ')}.`,
    'A model can send any SQL the query tool accepts, so connect as a role that may read only what the model may see. As an administrator, run:',
    '',
    safeRoleSql({ password: 'choose-a-password', database: inspection.database }),
    '',
    `then set DATABASE_URL to postgres://trellis_reader:choose-a-password@HOST:5432/${inspection.database}.`,
    `To run with this role anyway (not recommended), set ${ALLOW_PRIVILEGED_ROLE_SETTING}=true.`,
  ].join('\n');
}
