import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_FUNCTIONS, isUtf8EncodingName, resolveFunction, settingEffects } from './sql-functions.js';

test('built-ins resolve unqualified or in pg_catalog; another schema is a user function', () => {
  assert.deepEqual(resolveFunction(['query_to_xml']).name, 'pg_catalog.query_to_xml');
  assert.deepEqual(resolveFunction(['pg_catalog', 'query_to_xml']).effect?.kinds, ['dynamic-sql']);
  assert.deepEqual(resolveFunction(['mydb', 'pg_catalog', 'query_to_xml']).name, 'pg_catalog.query_to_xml');
  assert.deepEqual(resolveFunction(['public', 'query_to_xml']), { name: 'public.query_to_xml', schema: 'public', effect: undefined });
  // The parser keeps a quoted name's case: "QUERY_TO_XML" is not the built-in.
  assert.equal(resolveFunction(['QUERY_TO_XML']).effect, undefined);
  assert.equal(resolveFunction(['lower']).name, 'lower');
  assert.equal(resolveFunction(['lower']).effect, undefined);
});

test('extension functions (dblink) match in any schema', () => {
  assert.ok(resolveFunction(['ext', 'dblink_exec']).effect?.kinds.includes('dynamic-sql'));
  assert.ok(resolveFunction(['dblink']).effect?.kinds.includes('remote-connection'));
});

test('every effect class of the catalogue is there with its kinds', () => {
  const kinds = (n: string) => BUILTIN_FUNCTIONS.get(n)?.kinds ?? [];
  assert.deepEqual(kinds('pg_read_file'), ['server-file-read', 'server-file']);
  assert.deepEqual(kinds('pg_ls_dir'), ['server-file-read', 'server-file']);
  assert.ok(kinds('lo_export').includes('server-file-write'));
  assert.ok(kinds('lo_import').includes('large-object-write'));
  assert.deepEqual(kinds('lo_get'), ['large-object-read', 'large-object']);
  assert.deepEqual(kinds('lo_from_bytea'), ['large-object-write', 'large-object']);
  assert.deepEqual(kinds('pg_terminate_backend'), ['backend-signal', 'admin']);
  assert.deepEqual(kinds('pg_reload_conf'), ['server-admin', 'admin']);
  assert.deepEqual(kinds('pg_logical_slot_get_changes'), ['replication', 'admin']);
  assert.deepEqual(kinds('pg_notify'), ['notify']);
  assert.deepEqual(kinds('pg_advisory_lock'), ['advisory-lock', 'lock']);
  assert.deepEqual(kinds('setval'), ['sequence-write']);
  assert.deepEqual(kinds('pg_sleep'), ['sleep']);
  assert.equal(BUILTIN_FUNCTIONS.get('query_to_xml')?.sqlArgument, 0);
  assert.equal(BUILTIN_FUNCTIONS.get('ts_rewrite')?.sqlArgument, 1);
  assert.equal(BUILTIN_FUNCTIONS.get('table_to_xml')?.tableArgument, 0);
  // Effects that are commands of their own vs. attributes of the calling statement.
  assert.equal(BUILTIN_FUNCTIONS.get('pg_read_file')?.separate, true);
  assert.equal(BUILTIN_FUNCTIONS.get('nextval')?.separate, true);
  assert.equal(BUILTIN_FUNCTIONS.get('pg_advisory_lock')?.separate, false);
});

test('set_config names: role and session_authorization switch role, search_path and client_encoding flag, unknown is all', () => {
  assert.deepEqual(settingEffects('role'), { kinds: ['role-switch'], flags: ['role-switch'] });
  assert.deepEqual(settingEffects('Session_Authorization'), { kinds: ['role-switch'], flags: ['role-switch'] });
  assert.deepEqual(settingEffects('search_path'), { kinds: [], flags: ['search-path'] });
  assert.deepEqual(settingEffects('CLIENT_ENCODING'), { kinds: [], flags: ['text-encoding-change'] });
  assert.deepEqual(settingEffects('application_name'), { kinds: [], flags: [] });
  assert.deepEqual(settingEffects(undefined).flags.sort(), ['role-switch', 'search-path', 'text-encoding-change']);
});

test('UTF-8 encoding names compare as PostgreSQL compares them', () => {
  for (const n of ['UTF8', 'utf8', 'UTF-8', 'utf_8', 'Unicode']) assert.ok(isUtf8EncodingName(n), n);
  for (const n of ['SJIS', 'LATIN1', 'GBK', 'BIG5', 'utf16', '']) assert.ok(!isUtf8EncodingName(n), n);
});
