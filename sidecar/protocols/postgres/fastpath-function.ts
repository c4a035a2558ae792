// The fast-path FunctionCall message names a function by OID only. The catalogued built-ins
// (sql-functions.ts) have fixed OIDs (pg_proc.dat assigns them once; they never change across
// releases), so a call of one of them is classified by its effect like any call in SQL text.
// Any other OID can be any function: it counts as `dynamic-sql` too (an explicit allow only).
// The table was read from PostgreSQL 15's pg_proc; a built-in added later is simply unknown.
import type { CommandFacts } from '../../../core/vocabulary.js';
import { BUILTIN_FUNCTIONS, settingEffects } from './sql-functions.js';

/** `name:oid,oid …` for every catalogued pg_catalog function (every overload). */
const OIDS =
  'cursor_to_xml:2925 cursor_to_xmlschema:2928 database_to_xml:2936 ' +
  'database_to_xml_and_xmlschema:2938 database_to_xmlschema:2937 lo_close:953 lo_creat:957 ' +
  'lo_create:715 lo_export:765 lo_from_bytea:3457 lo_get:3458,3459 lo_import:764,767 lo_lseek:956 ' +
  'lo_lseek64:3170 lo_open:952 lo_put:3460 lo_tell:958 lo_tell64:3171 lo_truncate:1004 ' +
  'lo_truncate64:3172 lo_unlink:964 loread:954 lowrite:955 nextval:1574 pg_advisory_lock:2880,2886 ' +
  'pg_advisory_lock_shared:2881,2887 pg_advisory_unlock:2884,2890 pg_advisory_unlock_all:2892 ' +
  'pg_advisory_unlock_shared:2885,2891 pg_advisory_xact_lock:3089,3093 ' +
  'pg_advisory_xact_lock_shared:3090,3094 pg_backup_start:2172 pg_backup_stop:2739 ' +
  'pg_cancel_backend:2171 pg_copy_logical_replication_slot:4222,4223,4224 ' +
  'pg_copy_physical_replication_slot:4220,4221 pg_create_logical_replication_slot:3786 ' +
  'pg_create_physical_replication_slot:3779 pg_create_restore_point:3098 ' +
  'pg_current_logfile:3800,3801 pg_drop_replication_slot:3780 pg_import_system_collations:3445 ' +
  'pg_log_backend_memory_contexts:4543 pg_logical_emit_message:3577,3578 ' +
  'pg_logical_slot_get_binary_changes:3783 pg_logical_slot_get_changes:3782 ' +
  'pg_logical_slot_peek_binary_changes:3785 pg_logical_slot_peek_changes:3784 ' +
  'pg_ls_archive_statusdir:5031 pg_ls_dir:2625,3297 pg_ls_logdir:3353 pg_ls_logicalmapdir:6271 ' +
  'pg_ls_logicalsnapdir:6270 pg_ls_replslotdir:6272 pg_ls_tmpdir:5029,5030 pg_ls_waldir:3354 ' +
  'pg_notify:3036 pg_promote:3436 pg_read_binary_file:3295,3827,3828 pg_read_file:2624,3293,3826 ' +
  'pg_reload_conf:2621 pg_replication_origin_advance:6012 pg_replication_origin_create:6003 ' +
  'pg_replication_origin_drop:6004 pg_replication_origin_session_reset:6007 ' +
  'pg_replication_origin_session_setup:6006 pg_replication_origin_xact_reset:6011 ' +
  'pg_replication_origin_xact_setup:6010 pg_replication_slot_advance:3878 pg_rotate_logfile:2622 ' +
  'pg_sleep:2626 pg_sleep_for:3935 pg_sleep_until:3936 pg_stat_clear_snapshot:2230 ' +
  'pg_stat_file:2623,3307 pg_stat_reset:2274 pg_stat_reset_replication_slot:6170 ' +
  'pg_stat_reset_shared:3775 pg_stat_reset_single_function_counters:3777 ' +
  'pg_stat_reset_single_table_counters:3776 pg_stat_reset_slru:2307 ' +
  'pg_stat_reset_subscription_stats:6232 pg_switch_wal:2848 pg_terminate_backend:2096 ' +
  'pg_try_advisory_lock:2882,2888 pg_try_advisory_lock_shared:2883,2889 ' +
  'pg_try_advisory_xact_lock:3091,3095 pg_try_advisory_xact_lock_shared:3092,3096 ' +
  'pg_wal_replay_pause:3071 pg_wal_replay_resume:3072 query_to_xml:2924 ' +
  'query_to_xml_and_xmlschema:2930 query_to_xmlschema:2927 schema_to_xml:2933 ' +
  'schema_to_xml_and_xmlschema:2935 schema_to_xmlschema:2934 set_config:2078 setval:1576,1765 ' +
  'table_to_xml:2923 table_to_xml_and_xmlschema:2929 table_to_xmlschema:2926 ts_rewrite:3684,3685 ' +
  'ts_stat:3689,3690 ';

const BY_OID: ReadonlyMap<number, string> = new Map(
  OIDS.trim()
    .split(/\s+/)
    .flatMap((entry) => {
      const [name, oids] = entry.split(':') as [string, string];
      return oids.split(',').map((oid) => [Number(oid), name] as [number, string]);
    }),
);

/** The catalogued built-in a fast-path call's OID names, if any. */
export function builtinByOid(oid: number): string | undefined {
  return BY_OID.get(oid);
}

/** What policy decides for a fast-path FunctionCall of `oid`. */
export function fastPathCallFacts(oid: number, target: string): CommandFacts {
  const name = BY_OID.get(oid);
  const effect = name === undefined ? undefined : BUILTIN_FUNCTIONS.get(name);
  if (name === undefined || effect === undefined) {
    return {
      protocol: 'postgres',
      target,
      text: 'FUNCTION CALL',
      operation: 'FUNCTION CALL',
      kinds: ['call', 'procedural', 'write', 'dynamic-sql'],
      tables: [],
      flags: ['function-call'],
    };
  }
  // The arguments are not inspected: set_config's setting could be any one.
  const setting = name === 'set_config' ? settingEffects(undefined) : { kinds: [], flags: [] };
  return {
    protocol: 'postgres',
    target,
    text: `FUNCTION CALL ${name}`,
    operation: 'FUNCTION CALL',
    kinds: ['call', ...effect.kinds, ...setting.kinds],
    tables: [],
    flags: ['function-call', ...setting.flags],
    functions: [`pg_catalog.${name}`],
  };
}
