/**
 * Functions a model's statement may never call, even when the role could: some
 * are executable by every role (advisory locks, set_config, large objects,
 * dblink once installed), and a role check alone cannot see them.
 */
export interface DeniedFamily {
  /** What the family does, as the refusal names it. */
  readonly what: string;
  /** Exact function names. */
  readonly names: readonly string[];
  /** Name prefixes (every function of an extension or API). */
  readonly prefixes: readonly string[];
  /**
   * True for functions of PostgreSQL itself: they match unqualified or in
   * `pg_catalog` (a function of the same name in a user schema is another
   * function). False for extensions, which may be installed in any schema.
   */
  readonly catalog: boolean;
}

export const DENIED_FUNCTION_FAMILIES: readonly DeniedFamily[] = [
  {
    what: 'server file access',
    names: [
      'pg_read_file',
      'pg_read_binary_file',
      'pg_stat_file',
      'pg_current_logfile',
      'pg_show_all_file_settings',
      'pg_hba_file_rules',
      'pg_ident_file_mappings',
      'pg_logdir_ls',
    ],
    prefixes: ['pg_ls_', 'pg_file_'],
    catalog: true,
  },
  { what: 'large objects', names: ['loread', 'lowrite'], prefixes: ['lo_'], catalog: true },
  {
    what: 'replication slots and origins',
    names: ['pg_logical_emit_message'],
    prefixes: [
      'pg_create_physical_replication_slot',
      'pg_create_logical_replication_slot',
      'pg_drop_replication_slot',
      'pg_copy_',
      'pg_replication_slot_advance',
      'pg_logical_slot_',
      'pg_replication_origin_',
    ],
    catalog: true,
  },
  {
    what: 'backend signalling',
    names: [
      'pg_cancel_backend',
      'pg_terminate_backend',
      'pg_signal_backend',
      'pg_log_backend_memory_contexts',
      'pg_rotate_logfile',
      'pg_promote',
    ],
    prefixes: [],
    catalog: true,
  },
  { what: 'configuration changes and reload', names: ['pg_reload_conf', 'set_config'], prefixes: [], catalog: true },
  {
    what: 'WAL and backup control',
    names: [
      'pg_switch_wal',
      'pg_create_restore_point',
      'pg_start_backup',
      'pg_stop_backup',
      'pg_backup_start',
      'pg_backup_stop',
      'pg_wal_replay_pause',
      'pg_wal_replay_resume',
      'pg_log_standby_snapshot',
    ],
    prefixes: ['pg_stat_reset'],
    catalog: true,
  },
  { what: 'advisory locks', names: [], prefixes: ['pg_advisory_', 'pg_try_advisory_'], catalog: true },
  {
    what: 'statements run from text',
    names: [
      'query_to_xml',
      'query_to_xmlschema',
      'query_to_xml_and_xmlschema',
      'cursor_to_xml',
      'cursor_to_xmlschema',
      'ts_stat',
    ],
    prefixes: [],
    catalog: true,
  },
  {
    what: 'connections to other servers (dblink, postgres_fdw)',
    names: [],
    prefixes: ['dblink', 'postgres_fdw'],
    catalog: false,
  },
];

/** The family `name` (called as `schema.name`, or unqualified) belongs to, if any. */
export function deniedFamily(schema: string | undefined, name: string): DeniedFamily | undefined {
  return DENIED_FUNCTION_FAMILIES.find(
    (family) =>
      (!family.catalog || schema === undefined || schema === 'pg_catalog') &&
      (family.names.includes(name) || family.prefixes.some((prefix) => name.startsWith(prefix))),
  );
}

/**
 * Denied to statements but left to PUBLIC: the plugin cancels its own running
 * statements with it, and without pg_signal_backend a role can only reach its
 * own sessions.
 */
const KEPT_FOR_THE_PLUGIN = ['pg_cancel_backend'];

/**
 * A `pg_proc` condition selecting the catalog functions of the deny-list (for
 * revoking them from PUBLIC). Built from constants only, never from input.
 */
export function deniedCatalogFunctionsCondition(): string {
  const catalog = DENIED_FUNCTION_FAMILIES.filter((f) => f.catalog);
  const names = catalog.flatMap((f) => f.names).map((n) => `'${n}'`);
  const prefixes = catalog.flatMap((f) => f.prefixes).map((p) => `'${p.replace(/_/g, '\\_')}%'`);
  const kept = KEPT_FOR_THE_PLUGIN.map((n) => `'${n}'`);
  return (
    `p.pronamespace = 'pg_catalog'::regnamespace AND (p.proname = ANY (ARRAY[${names.join(', ')}]::name[]) OR p.proname LIKE ANY (ARRAY[${prefixes.join(', ')}]))` +
    ` AND p.proname <> ALL (ARRAY[${kept.join(', ')}]::name[])`
  );
}
