// PostgreSQL built-in functions by effect (pure data + name resolution). A `SELECT` can read a
// server file, run SQL text the policy never saw, read every change in the database through a
// replication slot, or switch role: each such effect is a statement kind of its own, so a policy
// can match it and a `read` rule never covers it by accident. docs/POLICY.md shows this table.

/**
 * Effects a function call can have. `separate` effects make the call a command of its own (a
 * nested statement that must itself be allowed); the others only add kinds to the statement
 * that calls them (rules can deny them; they need no allow of their own).
 */
export interface FunctionEffect {
  /** Kinds the call adds, most specific first. */
  kinds: readonly string[];
  /** The call is decided as a nested command of its own. */
  separate: boolean;
  /** Runs SQL text given as an argument (index of that argument), decided by the built-in rule. */
  sqlArgument?: number;
  /** Reads the table named by a regclass argument (index). */
  tableArgument?: number;
}

const DYNAMIC_SQL: FunctionEffect = { kinds: ['dynamic-sql'], separate: true, sqlArgument: 0 };
const DYNAMIC_SQL_NO_TEXT: FunctionEffect = { kinds: ['dynamic-sql'], separate: true };
const TABLE_XML: FunctionEffect = { kinds: ['dynamic-sql'], separate: true, tableArgument: 0 };
const FILE_READ: FunctionEffect = { kinds: ['server-file-read', 'server-file'], separate: true };
const FILE_WRITE: FunctionEffect = { kinds: ['server-file-write', 'server-file'], separate: true };
const LO_READ: FunctionEffect = { kinds: ['large-object-read', 'large-object'], separate: true };
const LO_WRITE: FunctionEffect = { kinds: ['large-object-write', 'large-object'], separate: true };
const LO_IMPORT: FunctionEffect = { kinds: ['server-file-read', 'server-file', 'large-object-write', 'large-object'], separate: true };
const LO_EXPORT: FunctionEffect = { kinds: ['server-file-write', 'server-file', 'large-object-read', 'large-object'], separate: true };
const SIGNAL: FunctionEffect = { kinds: ['backend-signal', 'admin'], separate: true };
const SERVER_ADMIN: FunctionEffect = { kinds: ['server-admin', 'admin'], separate: true };
const REPLICATION: FunctionEffect = { kinds: ['replication', 'admin'], separate: true };
const NOTIFY: FunctionEffect = { kinds: ['notify'], separate: true };
const SETTING: FunctionEffect = { kinds: ['set-config', 'set', 'session'], separate: true };
const ADVISORY_LOCK: FunctionEffect = { kinds: ['advisory-lock', 'lock'], separate: false };
// A sequence's value is data: advancing it is a write, even inside a SELECT.
const SEQUENCE_WRITE: FunctionEffect = { kinds: ['sequence-write'], separate: true };
const SLEEP: FunctionEffect = { kinds: ['sleep'], separate: false };

function each(names: string, effect: FunctionEffect): [string, FunctionEffect][] {
  return names.split(/\s+/).filter(Boolean).map((n) => [n, effect]);
}

/** pg_catalog functions by name (PostgreSQL 13–17). */
export const BUILTIN_FUNCTIONS: ReadonlyMap<string, FunctionEffect> = new Map([
  ...each('query_to_xml query_to_xmlschema query_to_xml_and_xmlschema ts_stat', DYNAMIC_SQL),
  // ts_rewrite(query, select text): the SQL text is the second argument.
  ['ts_rewrite', { ...DYNAMIC_SQL, sqlArgument: 1 }],
  ...each('cursor_to_xml cursor_to_xmlschema', DYNAMIC_SQL_NO_TEXT),
  ...each('table_to_xml table_to_xmlschema table_to_xml_and_xmlschema', TABLE_XML),
  ...each(
    'schema_to_xml schema_to_xmlschema schema_to_xml_and_xmlschema database_to_xml database_to_xmlschema database_to_xml_and_xmlschema',
    DYNAMIC_SQL_NO_TEXT,
  ),
  ...each(
    'pg_read_file pg_read_binary_file pg_stat_file pg_ls_dir pg_ls_logdir pg_ls_waldir pg_ls_tmpdir pg_ls_archive_statusdir ' +
      'pg_ls_logicalmapdir pg_ls_logicalsnapdir pg_ls_replslotdir pg_current_logfile pg_file_read pg_logdir_ls',
    FILE_READ,
  ),
  // adminpack installs into pg_catalog.
  ...each('pg_file_write pg_file_rename pg_file_unlink pg_file_sync', FILE_WRITE),
  ['lo_import', LO_IMPORT],
  ['lo_export', LO_EXPORT],
  ...each('lo_get loread lo_open lo_lseek lo_lseek64 lo_tell lo_tell64 lo_close', LO_READ),
  ...each('lo_create lo_creat lo_from_bytea lo_put lowrite lo_unlink lo_truncate lo_truncate64', LO_WRITE),
  ...each('pg_cancel_backend pg_terminate_backend pg_signal_backend pg_log_backend_memory_contexts', SIGNAL),
  ...each(
    'pg_reload_conf pg_rotate_logfile pg_promote pg_switch_wal pg_switch_xlog pg_create_restore_point pg_backup_start pg_backup_stop ' +
      'pg_start_backup pg_stop_backup pg_wal_replay_pause pg_wal_replay_resume pg_stat_reset pg_stat_reset_shared ' +
      'pg_stat_reset_single_table_counters pg_stat_reset_single_function_counters pg_stat_reset_slru pg_stat_reset_replication_slot ' +
      'pg_stat_reset_subscription_stats pg_import_system_collations pg_stat_clear_snapshot pg_sync_replication_slots',
    SERVER_ADMIN,
  ),
  ...each(
    'pg_create_physical_replication_slot pg_create_logical_replication_slot pg_drop_replication_slot pg_copy_physical_replication_slot ' +
      'pg_copy_logical_replication_slot pg_logical_slot_get_changes pg_logical_slot_peek_changes pg_logical_slot_get_binary_changes ' +
      'pg_logical_slot_peek_binary_changes pg_replication_slot_advance pg_logical_emit_message pg_replication_origin_create ' +
      'pg_replication_origin_drop pg_replication_origin_advance pg_replication_origin_session_setup pg_replication_origin_session_reset ' +
      'pg_replication_origin_xact_setup pg_replication_origin_xact_reset',
    REPLICATION,
  ),
  ['pg_notify', NOTIFY],
  ['set_config', SETTING],
  ...each(
    'pg_advisory_lock pg_advisory_lock_shared pg_advisory_unlock pg_advisory_unlock_shared pg_advisory_unlock_all pg_advisory_xact_lock ' +
      'pg_advisory_xact_lock_shared pg_try_advisory_lock pg_try_advisory_lock_shared pg_try_advisory_xact_lock pg_try_advisory_xact_lock_shared',
    ADVISORY_LOCK,
  ),
  ...each('nextval setval', SEQUENCE_WRITE),
  ...each('pg_sleep pg_sleep_for pg_sleep_until', SLEEP),
]);

/**
 * Extension functions that run SQL or reach other servers, matched in any schema: an extension
 * is installed into a schema of the owner's choosing. dblink's first text argument is a
 * connection (name or string), so its SQL text is not inspected: the call is `dynamic-sql`.
 */
export const EXTENSION_FUNCTIONS: ReadonlyMap<string, FunctionEffect> = new Map([
  ...each(
    'dblink dblink_exec dblink_open dblink_fetch dblink_close dblink_send_query dblink_get_result dblink_connect dblink_connect_u dblink_build_sql_insert dblink_build_sql_update dblink_build_sql_delete',
    { kinds: ['dynamic-sql', 'remote-connection'], separate: true },
  ),
]);

export interface ResolvedFunction {
  /** `pg_catalog.name` for a built-in, else the name as written (`schema.name` or `name`). */
  name: string;
  schema?: string;
  effect?: FunctionEffect;
}

/**
 * Resolves a function name as PostgreSQL does. The parser has already folded unquoted names to
 * lower case and decoded quoted and U& names, so `"QUERY_TO_XML"` is another function. An
 * unqualified name finds pg_catalog first (it is searched before search_path unless listed in it
 * explicitly; counting it as built-in is the stricter reading either way); a name qualified with
 * another schema is a user function, except the extension functions above.
 */
export function resolveFunction(parts: readonly string[]): ResolvedFunction {
  const name = parts[parts.length - 1] ?? '';
  // [catalog.]schema.name: the catalog part is ignored, as for tables.
  const schema = parts.length >= 2 ? parts[parts.length - 2] : undefined;
  const extension = EXTENSION_FUNCTIONS.get(name);
  if (schema === undefined || schema === 'pg_catalog') {
    const effect = BUILTIN_FUNCTIONS.get(name) ?? extension;
    if (BUILTIN_FUNCTIONS.has(name)) return { name: `pg_catalog.${name}`, schema: 'pg_catalog', effect };
    return schema === undefined ? { name, effect } : { name: `${schema}.${name}`, schema, effect };
  }
  return { name: `${schema}.${name}`, schema, effect: extension };
}

/**
 * set_config's setting names that need more than the `set-config` kind. GUC names compare
 * case-insensitively. Returns the kinds and flags the call adds.
 */
export function settingEffects(setting: string | undefined): { kinds: string[]; flags: string[] } {
  // A name that is not a constant could be any of them.
  if (setting === undefined) return { kinds: ['role-switch'], flags: ['role-switch', 'search-path', 'text-encoding-change'] };
  switch (setting.toLowerCase()) {
    case 'role':
    case 'session_authorization':
      return { kinds: ['role-switch'], flags: ['role-switch'] };
    case 'search_path':
      return { kinds: [], flags: ['search-path'] };
    case 'client_encoding':
      return { kinds: [], flags: ['text-encoding-change'] };
    default:
      return { kinds: [], flags: [] };
  }
}

/**
 * Whether a client_encoding value is UTF-8, compared as PostgreSQL does (case and every
 * non-alphanumeric character ignored: `UTF-8`, `utf_8`, `Unicode`).
 */
export function isUtf8EncodingName(value: string): boolean {
  const clean = value.toLowerCase().replace(/[^a-z0-9]/g, '');
  return clean === 'utf8' || clean === 'unicode';
}
