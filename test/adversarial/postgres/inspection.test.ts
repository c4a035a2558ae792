// Adversarial corpus, inspection slice: statements that hide what they do inside another one
// (class 2: nested data-modifying statements), server programs and files reached through COPY
// (class 6), built-in functions that run SQL text or reach outside the query (class 7), and
// statements that change the session's client_encoding mid-session (class 1, SET variants).
// Design rules these cases pin: a statement is decided as the union of everything nested in it,
// each nested command decided on its own; server programs/files and function effects are kinds
// no read rule matches; SQL-running functions are denied unless explicitly allowed; any change of
// client_encoding away from UTF-8 is denied (rule text-encoding).
import assert from 'node:assert/strict';
import { corpus, corpusPolicy, fe, type BackendMessage, type CaseContext } from './corpus.js';

// The corpus policy plus the example policies' "no role changes" rule, so a role switch through
// set_config has a rule to meet.
const c = corpus('inspection', {
  policy: (env) =>
    corpusPolicy(env).replace(
      '\nmasking:\n',
      `
  - name: no-role-switch
    when: { statements: [role-switch] }
    action: deny
masking:
`,
    ),
});

/** One simple-protocol query on a fresh raw connection. */
async function simple(t: CaseContext, sql: string): Promise<BackendMessage[]> {
  const r = await t.raw();
  r.send(fe.query(sql));
  return r.untilReady();
}

/** Parse (unnamed), Bind, Execute, Sync on a fresh raw connection. */
async function extended(t: CaseContext, sql: string, params: (string | null)[] = []): Promise<BackendMessage[]> {
  const r = await t.raw();
  r.send(fe.parse('', sql), fe.bind('', '', params), fe.execute(''), fe.sync());
  return r.untilReady();
}

/** node-postgres rejects with sidegate's policy error. */
async function pgDenied(t: CaseContext, sql: string, params?: unknown[], rule?: string): Promise<void> {
  const client = await t.pg();
  await assert.rejects(client.query(sql, params), (err: { code?: string; message?: string }) => {
    assert.equal(err.code, '42501', String(err.message));
    assert.match(String(err.message), /^sidegate/);
    if (rule) assert.match(String(err.message), new RegExp(`rule "${rule}"`));
    return true;
  });
}

/** psql fails with sidegate's error on stderr. */
async function psqlDenied(t: CaseContext, sql: string, pattern: RegExp = /sidegate/): Promise<void> {
  const out = await t.psql(sql, { args: ['-v', 'ON_ERROR_STOP=1'] });
  assert.notEqual(out.code, 0, out.stdout);
  assert.match(out.stderr, pattern);
}

// ---- Class 2: nested data-modifying statements -------------------------------------------------

c.case('WITH … DELETE FROM orders … SELECT is held, not allowed as a read', async (t) => {
  t.expectHeld(await simple(t, 'WITH d AS (DELETE FROM orders WHERE id = 5 RETURNING *) SELECT * FROM d'));
});

c.case('WITH … UPDATE orders … SELECT is held', async (t) => {
  t.expectHeld(await simple(t, "WITH u AS (UPDATE orders SET status = 'void' RETURNING id) SELECT count(*) FROM u"));
});

c.case('WITH … INSERT INTO orders … SELECT is held', async (t) => {
  t.expectHeld(await simple(t, 'WITH i AS (INSERT INTO orders (id, customer_id, total) VALUES (99, 1, 1) RETURNING id) SELECT * FROM i'));
});

c.case('a CTE that updates a table no rule lets anyone write is denied by default', async (t) => {
  t.expectDenied(await simple(t, "WITH u AS (UPDATE customers SET name = 'pwned' RETURNING id) SELECT * FROM u"), 'default');
});

c.case('a CTE that inserts into customers is denied by default', async (t) => {
  t.expectDenied(await simple(t, "WITH i AS (INSERT INTO customers VALUES (9, 'x', 'x@example.com', NULL, NULL) RETURNING id) SELECT * FROM i"), 'default');
});

c.case('a data-modifying CTE two levels deep is held', async (t) => {
  t.expectHeld(await simple(t, 'WITH a AS (WITH d AS (DELETE FROM orders WHERE id = 6 RETURNING id) SELECT id FROM d) SELECT * FROM a'));
});

c.case('a data-modifying CTE three levels deep, after a harmless CTE, is held', async (t) => {
  t.expectHeld(
    await simple(
      t,
      'WITH x AS (SELECT 1), a AS (WITH b AS (WITH d AS (UPDATE orders SET total = 0 RETURNING id) SELECT id FROM d) SELECT id FROM b) SELECT * FROM a, x',
    ),
  );
});

c.case('a data-modifying CTE inside a subquery in FROM is held', async (t) => {
  t.expectHeld(await simple(t, 'SELECT * FROM (WITH d AS (DELETE FROM orders WHERE id = 7 RETURNING id) SELECT id FROM d) s'));
});

c.case('a data-modifying CTE after a harmless statement in one string holds the whole string', async (t) => {
  t.expectHeld(await simple(t, 'SELECT 1; WITH d AS (DELETE FROM orders WHERE id = 8 RETURNING id) SELECT * FROM d'));
});

c.case('lower case and comments do not hide a data-modifying CTE', async (t) => {
  t.expectHeld(await simple(t, 'with/**/d as(delete/* x */from orders where id=9 returning *)select*from d'));
});

c.case('EXPLAIN ANALYZE of a SELECT with an UPDATE CTE is denied: EXPLAIN ANALYZE runs it', async (t) => {
  t.expectDenied(await simple(t, "EXPLAIN ANALYZE WITH u AS (UPDATE customers SET name = 'x' RETURNING id) SELECT * FROM u"), 'default');
});

c.case('EXPLAIN (ANALYZE, FORMAT JSON) of a SELECT with a DELETE CTE is held', async (t) => {
  t.expectHeld(await simple(t, 'EXPLAIN (ANALYZE, FORMAT JSON) WITH d AS (DELETE FROM orders WHERE id = 3 RETURNING id) SELECT * FROM d'));
});

c.case('PREPARE of a SELECT with a DELETE CTE is held at PREPARE', async (t) => {
  t.expectHeld(await simple(t, 'PREPARE p AS WITH d AS (DELETE FROM orders WHERE id = 4 RETURNING id) SELECT * FROM d'));
});

c.case('PREPARE of a SELECT with a customers UPDATE CTE is denied', async (t) => {
  t.expectDenied(await simple(t, "PREPARE p AS WITH u AS (UPDATE customers SET name = 'x' RETURNING id) SELECT * FROM u"), 'default');
});

c.case('DECLARE CURSOR over a data-modifying CTE is held', async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN'));
  await r.untilReady();
  r.send(fe.query('DECLARE c CURSOR FOR WITH d AS (DELETE FROM orders WHERE id = 10 RETURNING id) SELECT * FROM d'));
  t.expectHeld(await r.untilReady());
});

c.case('COPY (DELETE … RETURNING) TO STDOUT is held, not a copy-out read', async (t) => {
  t.expectHeld(await simple(t, 'COPY (DELETE FROM orders WHERE id = 11 RETURNING *) TO STDOUT'));
});

c.case('COPY (UPDATE customers … RETURNING) TO STDOUT is denied', async (t) => {
  t.expectDenied(await simple(t, "COPY (UPDATE customers SET name = 'x' RETURNING id) TO STDOUT"), 'default');
});

c.case('COPY (WITH … DELETE … SELECT) TO STDOUT is held', async (t) => {
  t.expectHeld(await simple(t, 'COPY (WITH d AS (DELETE FROM orders WHERE id = 12 RETURNING id) SELECT * FROM d) TO STDOUT'));
});

c.case('extended protocol: a data-modifying CTE is held at Execute', async (t) => {
  t.expectHeld(await extended(t, 'WITH d AS (DELETE FROM orders WHERE id = 5 RETURNING *) SELECT * FROM d'));
});

c.case('extended protocol: an UPDATE customers CTE is denied at Parse', async (t) => {
  t.expectDenied(await extended(t, "WITH u AS (UPDATE customers SET name = 'x' RETURNING id) SELECT * FROM u"), 'default');
});

c.case('extended protocol: COPY (DELETE … RETURNING) is held', async (t) => {
  t.expectHeld(await extended(t, 'COPY (DELETE FROM orders WHERE id = 13 RETURNING *) TO STDOUT'));
});

c.case('extended protocol: EXPLAIN ANALYZE of a customers UPDATE CTE with a parameter is denied', async (t) => {
  t.expectDenied(await extended(t, 'EXPLAIN ANALYZE WITH u AS (UPDATE customers SET name = $1 RETURNING id) SELECT * FROM u', ['x']), 'default');
});

c.case('node-postgres: a parameterised data-modifying CTE on customers is denied', async (t) => {
  await pgDenied(t, 'WITH u AS (UPDATE customers SET name = $1 WHERE id = $2 RETURNING id) SELECT * FROM u', ['x', 1], 'default');
});

c.case('node-postgres: a data-modifying CTE on orders is held and then denied', async (t) => {
  const client = await t.pg();
  await assert.rejects(client.query('WITH d AS (DELETE FROM orders WHERE id = 14 RETURNING id) SELECT * FROM d'), /approval .* was denied/);
});

c.case('psql: a data-modifying CTE on customers is denied', async (t) => {
  await psqlDenied(t, "WITH u AS (UPDATE customers SET name = 'x' RETURNING id) SELECT * FROM u;", /rule "default"/);
});

c.case('a plain read with a subquery and a read-only CTE is still allowed', async (t) => {
  const msgs = await simple(t, 'WITH o AS (SELECT id FROM orders WHERE id IN (SELECT id FROM orders WHERE total > 100)) SELECT count(*) FROM o');
  t.expectOk(msgs);
  assert.equal(t.rows(msgs)[0]![0]!.toString(), '10');
});

// ---- Class 6: server programs and files ---------------------------------------------------------

c.case('COPY (SELECT 1) TO PROGRAM is denied, not a read', async (t) => {
  t.expectDenied(await simple(t, "COPY (SELECT 1) TO PROGRAM 'cat > /dev/null'"), 'default');
});

c.case("COPY orders TO '/file' is denied, not a read", async (t) => {
  t.expectDenied(await simple(t, "COPY orders TO '/tmp/sidegate-corpus-orders.txt'"), 'default');
});

c.case('COPY orders FROM PROGRAM is denied, not held as a write to orders', async (t) => {
  t.expectDenied(await simple(t, "COPY orders FROM PROGRAM 'echo 100,1,1,open'"), 'default');
});

c.case("COPY orders FROM '/file' is denied, not held as a write to orders", async (t) => {
  t.expectDenied(await simple(t, "COPY orders FROM '/etc/hostname'"), 'default');
});

c.case('extended protocol: copy … to program in lower case is denied', async (t) => {
  t.expectDenied(await extended(t, "copy (select * from orders) to program 'true' with (format csv)"), 'default');
});

c.case('psql: COPY … TO PROGRAM is denied', async (t) => {
  await psqlDenied(t, "COPY orders TO PROGRAM 'true';", /rule "default"/);
});

c.case('COPY … TO STDOUT (a plain copy-out read) is still allowed', async (t) => {
  const msgs = await simple(t, 'COPY (SELECT id FROM orders WHERE id <= 2 ORDER BY id) TO STDOUT');
  t.expectOk(msgs);
});

// ---- Class 7: functions that run SQL or reach outside the query ----------------------------------

c.case('query_to_xml reading secrets inside a SELECT of orders is denied', async (t) => {
  t.expectDenied(await simple(t, "SELECT query_to_xml('select * from secrets', true, false, '') FROM orders"), 'no-secrets');
});

c.case('query_to_xml with harmless SQL text is denied by the built-in rule dynamic-sql', async (t) => {
  t.expectDenied(await simple(t, "SELECT query_to_xml('select 1', true, false, '')"), 'dynamic-sql');
});

c.case('pg_catalog.query_to_xml (schema-qualified) is the same function: denied', async (t) => {
  t.expectDenied(await simple(t, "SELECT pg_catalog.query_to_xml('select name from customers', true, false, '')"), 'dynamic-sql');
});

c.case('"query_to_xml" (quoted) is the same function: denied', async (t) => {
  t.expectDenied(await simple(t, `SELECT "query_to_xml"('select value from secrets', true, false, '')`));
});

c.case('U&"\\0071uery_to_xml" (unicode escape) is the same function: denied', async (t) => {
  t.expectDenied(await simple(t, `SELECT U&"\\0071uery_to_xml"('select email from customers', true, false, '')`), 'dynamic-sql');
});

c.case('"QUERY_TO_XML" is another function: the server does not find it (no built-in runs)', async (t) => {
  const msgs = await simple(t, `SELECT "QUERY_TO_XML"('select value from secrets', true, false, '')`);
  const e = t.errors(msgs)[0];
  assert.equal(e?.['C'], '42883', JSON.stringify(e));
});

c.case('query_to_xml inside a CTE is denied', async (t) => {
  t.expectDenied(await simple(t, "WITH x AS (SELECT query_to_xml('select value from secrets', true, false, '') AS q) SELECT * FROM x"));
});

c.case('query_to_xml in a WHERE subquery is denied', async (t) => {
  t.expectDenied(await simple(t, "SELECT id FROM orders WHERE EXISTS (SELECT query_to_xml('select name from customers', true, false, ''))"), 'dynamic-sql');
});

c.case('query_to_xml as a FROM item with E-string SQL and named arguments is denied', async (t) => {
  t.expectDenied(
    await simple(t, "SELECT * FROM query_to_xml(query => E'select value from secrets', nulls => true, tableforest => false, targetns => '') x"),
    'no-secrets',
  );
});

c.case('query_to_xml whose SQL text is built at run time is denied', async (t) => {
  t.expectDenied(await simple(t, "SELECT query_to_xml('select value from ' || 'secr' || 'ets', true, false, '')"), 'dynamic-sql');
});

c.case('query_to_xml running query_to_xml running a DELETE is refused', async (t) => {
  t.expectDenied(await simple(t, "SELECT query_to_xml('select query_to_xml(''delete from orders returning id'', true, false, '''')', true, false, '')"));
});

c.case('query_to_xml that sets search_path inside its SQL text is denied', async (t) => {
  t.expectDenied(await simple(t, "SELECT query_to_xml('select set_config(''search_path'', ''pg_temp'', false)', true, false, '')"), 'dynamic-sql');
});

c.case('query_to_xml inside an INSERT … VALUES expression meets the secrets rule', async (t) => {
  t.expectDenied(
    await simple(t, "INSERT INTO orders (id, customer_id, total, status) VALUES (60, 1, 1, query_to_xml('select value from secrets', true, false, '')::text)"),
    'no-secrets',
  );
});

c.case('a large-object read inside an UPDATE of orders is denied, not only held', async (t) => {
  t.expectDenied(await simple(t, 'UPDATE orders SET status = (SELECT lo_get(1)::text) WHERE id = 1'), 'default');
});

c.case('table_to_xml(secrets) meets the secrets table rule', async (t) => {
  t.expectDenied(await simple(t, "SELECT table_to_xml('secrets', true, false, '')"), 'no-secrets');
});

c.case('schema_to_xml (dumps every table of a schema) is denied', async (t) => {
  t.expectDenied(await simple(t, "SELECT schema_to_xml('public', true, false, '')"), 'dynamic-sql');
});

c.case('database_to_xml is denied', async (t) => {
  t.expectDenied(await simple(t, "SELECT database_to_xml(true, false, '')"), 'dynamic-sql');
});

c.case('cursor_to_xml is denied', async (t) => {
  t.expectDenied(await simple(t, "SELECT cursor_to_xml('c'::refcursor, 10, false, false, '')"), 'dynamic-sql');
});

c.case('ts_stat runs its SQL text: reading secrets through it is denied', async (t) => {
  t.expectDenied(await simple(t, "SELECT * FROM ts_stat('select to_tsvector(value) from secrets')"), 'no-secrets');
});

c.case('extended protocol: query_to_xml with the SQL text as a Bind parameter is denied', async (t) => {
  t.expectDenied(await extended(t, "SELECT query_to_xml($1, true, false, '')", ['select value from secrets']), 'dynamic-sql');
});

c.case('node-postgres: query_to_xml with a parameter is denied', async (t) => {
  await pgDenied(t, "SELECT query_to_xml($1::text, true, false, '')", ['select value from secrets'], 'dynamic-sql');
});

c.case('psql: query_to_xml is denied', async (t) => {
  await psqlDenied(t, "SELECT query_to_xml('select value from secrets', true, false, '');");
});

c.case('set_config(role, …) is a role switch and meets the role rule', async (t) => {
  t.expectDenied(await simple(t, "SELECT set_config('role', 'postgres', false)"), 'no-role-switch');
});

c.case('set_config with a setting name computed at run time counts as a role switch', async (t) => {
  t.expectDenied(await simple(t, "SELECT set_config(n, 'postgres', false) FROM (VALUES ('ro' || 'le')) v(n)"));
});

c.case('lo_from_bytea inside a SELECT writes a large object: denied', async (t) => {
  t.expectDenied(await simple(t, "SELECT lo_from_bytea(0, 'written through a select')"), 'default');
});

c.case('lo_creat inside a SELECT is denied', async (t) => {
  t.expectDenied(await simple(t, 'SELECT lo_creat(-1)'), 'default');
});

c.case('lo_get inside a SELECT reads a large object: denied', async (t) => {
  t.expectDenied(await simple(t, 'SELECT lo_get(id) FROM orders WHERE id = 1'), 'default');
});

c.case('lo_import reads a server file: denied', async (t) => {
  t.expectDenied(await simple(t, "SELECT lo_import('/etc/hostname')"), 'default');
});

c.case('lo_export writes a server file: denied', async (t) => {
  t.expectDenied(await simple(t, "SELECT lo_export(1, '/tmp/sidegate-corpus-lo')"), 'default');
});

c.case('pg_read_file is denied', async (t) => {
  t.expectDenied(await simple(t, "SELECT pg_read_file('/etc/hostname')"), 'default');
});

c.case('pg_ls_dir in a subquery is denied', async (t) => {
  t.expectDenied(await simple(t, "SELECT id FROM orders WHERE id = (SELECT count(*) FROM pg_ls_dir('.'))"), 'default');
});

c.case('pg_stat_file is denied', async (t) => {
  t.expectDenied(await simple(t, "SELECT pg_stat_file('postgresql.conf')"), 'default');
});

c.case('pg_cancel_backend is denied', async (t) => {
  t.expectDenied(await simple(t, 'SELECT pg_cancel_backend(0)'), 'default');
});

c.case('pg_terminate_backend in a CTE is denied', async (t) => {
  t.expectDenied(await simple(t, 'WITH k AS (SELECT pg_terminate_backend(0)) SELECT * FROM k'), 'default');
});

c.case('pg_reload_conf is denied', async (t) => {
  t.expectDenied(await simple(t, 'SELECT pg_reload_conf()'), 'default');
});

c.case('pg_notify is denied', async (t) => {
  t.expectDenied(await simple(t, "SELECT pg_notify('jobs', 'from a select')"), 'default');
});

c.case('creating a logical replication slot is denied', async (t) => {
  t.expectDenied(await simple(t, "SELECT pg_create_logical_replication_slot('sidegate_corpus', 'test_decoding')"), 'default');
});

c.case('reading changes from a replication slot is denied', async (t) => {
  t.expectDenied(await simple(t, "SELECT * FROM pg_logical_slot_get_changes('sidegate_corpus', NULL, NULL)"), 'default');
});

c.case('setval inside a SELECT writes the sequence: denied', async (t) => {
  t.expectDenied(await simple(t, "SELECT setval('order_numbers', 1000)"), 'default');
});

c.case('nextval inside a SELECT advances the sequence: denied', async (t) => {
  t.expectDenied(await simple(t, "SELECT nextval('order_numbers')"), 'default');
});

c.case('attribute notation: (text).pg_read_file reads a server file and is denied', async (t) => {
  t.expectDenied(await simple(t, "SELECT ('/etc/hostname'::text).pg_read_file"), 'default');
});

c.case('attribute notation: (SQL text).ts_stat runs it and meets the secrets rule', async (t) => {
  t.expectDenied(await simple(t, "SELECT * FROM (SELECT ('select to_tsvector(value) from secrets'::text).ts_stat) s"), 'no-secrets');
});

c.case('attribute notation: (oid).lo_get is a large-object read and is denied', async (t) => {
  t.expectDenied(await simple(t, 'SELECT (1::oid).lo_get'), 'default');
});

c.case('attribute notation: (regclass).nextval advances a sequence and is denied', async (t) => {
  t.expectDenied(await simple(t, "SELECT ('order_numbers'::regclass).nextval"), 'default');
});

c.case('extended protocol: lo_from_bytea is denied at Parse', async (t) => {
  t.expectDenied(await extended(t, 'SELECT lo_from_bytea(0, $1::bytea)', ['x']), 'default');
});

c.case('node-postgres: pg_read_file is denied', async (t) => {
  await pgDenied(t, 'SELECT pg_read_file($1)', ['/etc/hostname'], 'default');
});

c.case('a fast-path FunctionCall of query_to_xml by OID meets the dynamic-sql decision', async (t) => {
  const oid = Number((await t.admin("SELECT 'pg_catalog.query_to_xml(text, boolean, boolean, text)'::regprocedure::oid AS oid")).rows[0].oid);
  const r = await t.raw();
  r.send(fe.functionCall(oid, ['select value from secrets', 't', 'f', '']));
  const msgs = await r.untilReady();
  t.expectDenied(msgs);
});

c.case('a fast-path FunctionCall of lo_creat by OID is a large-object write: denied', async (t) => {
  const r = await t.raw();
  r.send(fe.functionCall(957, ['-1']));
  t.expectDenied(await r.untilReady(), 'default');
});

// ---- Class 1 (the part in the inspector): client_encoding changes mid-session --------------------

for (const sql of [
  "SET client_encoding = 'SJIS'",
  "SET NAMES 'SJIS'",
  "SET SESSION client_encoding TO 'BIG5'",
  'SET client_encoding TO gbk',
  `SET "CLIENT_ENCODING" = 'UHC'`,
  "SELECT set_config('client_encoding', 'SJIS', false)",
  "SELECT set_config(n, 'GB18030', false) FROM (VALUES ('client_' || 'encoding')) v(n)",
  "UPDATE pg_settings SET setting = 'JOHAB' WHERE name = 'client_encoding'",
]) {
  c.case(`${sql} is denied by rule text-encoding`, async (t) => {
    t.expectDenied(await simple(t, sql), 'text-encoding');
  });
}

c.case('SET LOCAL client_encoding inside a transaction is denied', async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN'));
  await r.untilReady();
  r.send(fe.query("SET LOCAL client_encoding = 'SHIFT_JIS_2004'"));
  t.expectDenied(await r.untilReady(), 'text-encoding');
});

c.case('a fast-path FunctionCall of set_config by OID is denied by rule text-encoding', async (t) => {
  const r = await t.raw();
  r.send(fe.functionCall(2078, ['client_encoding', 'SJIS', 'false']));
  t.expectDenied(await r.untilReady(), 'text-encoding');
});

c.case('extended protocol: SET client_encoding is denied at Parse', async (t) => {
  t.expectDenied(await extended(t, "SET client_encoding = 'SJIS'"), 'text-encoding');
});

c.case('node-postgres: SET client_encoding is denied', async (t) => {
  await pgDenied(t, "SET client_encoding TO 'SJIS'", undefined, 'text-encoding');
});

c.case('psql: \\encoding SJIS is refused and the session stays UTF8', async (t) => {
  const out = await t.psql('\\encoding SJIS\nSHOW client_encoding;\n');
  assert.match(out.stdout, /UTF8/);
  assert.doesNotMatch(out.stdout, /SJIS/);
});

c.case('UTF-8 spellings, DEFAULT and RESET stay allowed and the encoding stays UTF8', async (t) => {
  const r = await t.raw();
  for (const sql of ["SET client_encoding = 'UTF8'", "SET NAMES 'utf-8'", 'SET client_encoding TO DEFAULT', 'RESET client_encoding', "SELECT set_config('client_encoding', 'Unicode', false)"]) {
    r.send(fe.query(sql));
    t.expectOk(await r.untilReady());
  }
  r.send(fe.query('SHOW client_encoding'));
  const msgs = await r.untilReady();
  assert.equal(t.rows(msgs)[0]![0]!.toString(), 'UTF8');
});
