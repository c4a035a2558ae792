import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadModule, parseSync } from './sql-grammar.js';
import { statementFacts, type CommandShape } from './sql-statement-facts.js';

before(() => loadModule());

const of = (sql: string) => {
  const stmts = (parseSync(sql) as { stmts: { stmt: Record<string, unknown> }[] }).stmts;
  assert.equal(stmts.length, 1, sql);
  return statementFacts(stmts[0]!.stmt);
};
const names = (c: CommandShape) => c.tables.map((t) => (t.schema ? `${t.schema}.${t.name}` : t.name)).sort();
const summary = (sql: string) => of(sql).nested.map((n) => `${n.operation} ${n.kinds[0]} [${names(n).join(',')}]`);

test('a plain statement has nothing nested', () => {
  for (const sql of ['SELECT * FROM a WHERE x IN (SELECT y FROM b)', 'WITH r AS (SELECT * FROM a) SELECT * FROM r', 'INSERT INTO t SELECT * FROM u', 'UPDATE t SET a = lower(b)']) {
    assert.deepEqual(of(sql).nested, [], sql);
  }
});

test('data-modifying CTEs at any depth are commands of their own, the outer statement the union', () => {
  const f = of('WITH d AS (DELETE FROM orders WHERE id = 5 RETURNING *) SELECT * FROM d');
  assert.deepEqual(f.kinds, ['select', 'read', 'delete', 'write']);
  assert.deepEqual(summary('WITH d AS (DELETE FROM orders WHERE id = 5 RETURNING *) SELECT * FROM d'), ['SELECT select [orders]', 'DELETE delete [orders]']);
  assert.deepEqual(summary('WITH a AS (WITH b AS (WITH c AS (UPDATE orders SET x = 1 RETURNING *) SELECT * FROM c) SELECT * FROM b) SELECT * FROM a'), [
    'SELECT select [orders]',
    'UPDATE update [orders]',
  ]);
  // A CTE name inside the nested command is not a table of it.
  assert.deepEqual(summary('WITH k AS (SELECT 5 AS id), d AS (DELETE FROM orders WHERE id IN (SELECT id FROM k) RETURNING *) SELECT * FROM d'), [
    'SELECT select [orders]',
    'DELETE delete [orders]',
  ]);
  assert.deepEqual(summary('WITH i AS (INSERT INTO t VALUES (1) RETURNING *) UPDATE u SET a = 1'), ['UPDATE update [t,u]', 'INSERT insert [t]']);
});

test('wrapped statements that run are nested: EXPLAIN ANALYZE, PREPARE, DECLARE, COPY (query), CREATE TABLE AS, rules', () => {
  assert.deepEqual(summary('EXPLAIN ANALYZE DELETE FROM orders'), ['EXPLAIN explain [orders]', 'DELETE delete [orders]']);
  assert.deepEqual(summary('EXPLAIN DELETE FROM orders'), []);
  assert.deepEqual(summary('EXPLAIN WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d'), []);
  assert.deepEqual(summary('PREPARE p AS WITH d AS (UPDATE orders SET a = 1 RETURNING *) SELECT * FROM d'), [
    'PREPARE select [orders]',
    'SELECT select [orders]',
    'UPDATE update [orders]',
  ]);
  assert.deepEqual(summary('DECLARE c CURSOR FOR SELECT * FROM secrets'), ['DECLARE cursor [secrets]', 'SELECT select [secrets]']);
  assert.deepEqual(summary('COPY (DELETE FROM orders RETURNING *) TO STDOUT'), ['COPY copy [orders]', 'DELETE delete [orders]']);
  assert.deepEqual(summary('CREATE TABLE x AS SELECT * FROM secrets'), ['CREATE TABLE AS create [secrets,x]', 'SELECT select [secrets]']);
  assert.deepEqual(summary('CREATE MATERIALIZED VIEW mv AS SELECT * FROM secrets WITH DATA'), ['CREATE MATERIALIZED VIEW create [mv,secrets]', 'SELECT select [secrets]']);
  assert.deepEqual(summary('SELECT * INTO x FROM secrets'), ['SELECT INTO create [secrets,x]', 'SELECT select [secrets,x]']);
  assert.deepEqual(summary('CREATE RULE r AS ON INSERT TO t DO ALSO (DELETE FROM x; UPDATE y SET a = 1)'), [
    'CREATE RULE create [t,x,y]',
    'DELETE delete [x]',
    'UPDATE update [y]',
  ]);
  assert.deepEqual(summary('CREATE VIEW v AS SELECT * FROM secrets'), ['CREATE VIEW create [secrets,v]', 'SELECT select [secrets]']);
});

test('a MERGE is each write it does on its target', () => {
  const f = of('MERGE INTO orders o USING customers c ON o.id = c.id WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT VALUES (1) WHEN MATCHED AND false THEN DO NOTHING');
  assert.deepEqual(f.kinds, ['merge', 'write', 'delete', 'insert']);
  assert.deepEqual(summary('MERGE INTO s.orders USING c ON true WHEN MATCHED THEN UPDATE SET a = 1'), ['MERGE merge [c,s.orders]', 'UPDATE update [s.orders]']);
});

test('attribute notation calls a function: (x).pg_read_file is pg_read_file(x)', () => {
  assert.ok(of("SELECT ('/etc/passwd'::text).pg_read_file").kinds.includes('server-file-read'));
  assert.ok(of('SELECT (1::oid).lo_get').kinds.includes('large-object-read'));
  // SQL text given through attribute notation is inspected too.
  const ts = of("SELECT ('select to_tsvector(value) from secrets'::text).ts_stat");
  assert.ok(ts.kinds.includes('dynamic-sql'));
  assert.deepEqual(names(ts), ['secrets']);
  // A field selection of an unknown name is not a call.
  const field = of('SELECT (c).name FROM customers c');
  assert.ok(!field.flags.includes('function-call'));
  assert.deepEqual(field.functions, []);
});

test('catalog views read from server files are server-file reads', () => {
  assert.ok(of('SELECT * FROM pg_hba_file_rules').nested.some((n) => n.kinds[0] === 'server-file-read'));
  assert.ok(of('SELECT * FROM pg_catalog.pg_file_settings').kinds.includes('server-file-read'));
  assert.deepEqual(of('SELECT * FROM myschema.pg_file_settings').nested, []);
});

test('COPY to or from a program or a server file is a nested command with only that kind; never read', () => {
  const f = of("COPY (SELECT 1) TO PROGRAM 'id'");
  assert.ok(f.nested.some((n) => n.kinds.length === 1 && n.kinds[0] === 'server-program'));
  assert.ok(f.nested.some((n) => n.operation === 'COPY' && !n.kinds.includes('read')));
  assert.ok(of("COPY orders TO '/tmp/x'").nested.some((n) => n.kinds.join() === 'server-file-write,server-file'));
  assert.ok(!of("COPY orders TO '/tmp/x'").kinds.includes('read'));
  assert.ok(of("COPY orders FROM '/etc/passwd'").kinds.includes('server-file-read'));
});

test('function effects: a command of their own; SQL text run by a function is inspected (depth-bounded)', () => {
  const f = of("SELECT query_to_xml('select * from secrets', true, false, '') FROM orders");
  assert.deepEqual(names(f), ['orders', 'secrets']);
  assert.ok(f.kinds.includes('dynamic-sql'));
  assert.deepEqual(summary("SELECT query_to_xml('select * from secrets', true, false, '') FROM orders"), [
    'SELECT select [orders]',
    'FUNCTION dynamic-sql []',
    'SELECT select [secrets]',
  ]);
  // Named arguments, casts, E'' and dollar quoting, nesting.
  assert.ok(names(of("SELECT pg_catalog.query_to_xml(query => $q$delete from orders$q$::text, nulls => true, tableforest => false, targetns => '')")).includes('orders'));
  assert.ok(of("SELECT query_to_xml(E'delete from orders', true, false, '')").nested.some((n) => n.operation === 'DELETE'));
  const deep = of("SELECT query_to_xml('select query_to_xml(''select query_to_xml(''''select query_to_xml(''''''''select 1'''''''', true, false, '''''''''''''''')'''', true, false, '''''''')'', true, false, '''')', true, false, '')");
  assert.ok(deep.flags.includes('unparsable'));
  assert.ok(of("SELECT query_to_xml('selec oops', true, false, '')").flags.includes('unparsable'));
  assert.deepEqual(names(of("SELECT table_to_xml('public.secrets', true, false, '')")), ['public.secrets']);
  assert.ok(of("SELECT lo_from_bytea(0, 'x')").nested.some((n) => n.kinds[0] === 'large-object-write'));
  assert.ok(of('SELECT 1 FROM orders WHERE pg_read_file(\'/etc/passwd\') IS NOT NULL').nested.some((n) => n.kinds[0] === 'server-file-read'));
  // In a CTE, a subquery, a DML statement's expression: found all the same.
  assert.ok(of("WITH x AS (SELECT lo_get(1)) SELECT * FROM x").kinds.includes('large-object-read'));
  assert.ok(of("UPDATE orders SET note = (SELECT pg_read_file('/etc/hosts'))").kinds.includes('server-file-read'));
  // Attribute-only effects add kinds but no nested command.
  const seq = of("SELECT pg_advisory_lock(1), pg_sleep(0)");
  assert.deepEqual(seq.nested, []);
  assert.deepEqual(seq.kinds, ['select', 'read', 'advisory-lock', 'lock', 'sleep']);
  // A sequence write is a write of its own.
  assert.ok(of("SELECT nextval('s')").nested.some((n) => n.kinds.join() === 'sequence-write'));
  // Unknown or differently named functions are only `function-call`.
  const user = of('SELECT "QUERY_TO_XML"(1), public.query_to_xml(1)');
  assert.deepEqual(user.nested, []);
  assert.ok(user.flags.includes('function-call'));
});

test('functions in default expressions, CHECK constraints and a SQL-standard function body are found too', () => {
  assert.ok(of("CREATE TABLE t (x text DEFAULT pg_read_file('/etc/passwd'))").nested.some((n) => n.kinds[0] === 'server-file-read'));
  const alter = of("ALTER TABLE orders ALTER status SET DEFAULT query_to_xml('select value from secrets', true, false, '')::text");
  assert.ok(alter.kinds.includes('dynamic-sql'));
  assert.deepEqual(names(alter), ['orders', 'secrets']);
  assert.ok(of('CREATE TABLE t (x int CHECK (lo_unlink(x) > 0))').kinds.includes('large-object-write'));
  assert.ok(of('CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT lo_creat(-1); END').kinds.includes('large-object-write'));
});

test('set_config: role switch, search path, client_encoding', () => {
  assert.ok(of("SELECT set_config('role', 'postgres', false)").kinds.includes('role-switch'));
  // Not a `session` setting: a policy allowing `session` does not let a role switch through.
  const roleCall = of("SELECT set_config('role', 'postgres', false)").nested!.find((n) => n.kinds.includes('role-switch'))!;
  assert.ok(!roleCall.kinds.includes('session') && !roleCall.kinds.includes('set'), roleCall.kinds.join());
  assert.ok(of("SELECT set_config('search_path', 'evil', false)").flags.includes('search-path'));
  assert.ok(of("SELECT set_config('client_encoding', 'SJIS', false)").flags.includes('text-encoding-change'));
  assert.ok(!of("SELECT set_config('client_encoding', 'UTF-8', false)").flags.includes('text-encoding-change'));
  assert.ok(of("SELECT set_config(n, 'SJIS', false) FROM (VALUES ('client_encoding')) v(n)").flags.includes('text-encoding-change'));
  assert.ok(!of("SELECT set_config('application_name', 'x', false)").flags.includes('text-encoding-change'));
});

test('client_encoding changes in every form carry text-encoding-change; UTF-8, RESET and DEFAULT do not', () => {
  for (const sql of [
    "SET client_encoding = 'SJIS'",
    'SET client_encoding TO big5',
    "SET SESSION client_encoding = 'GBK'",
    "SET LOCAL client_encoding = 'LATIN1'",
    "SET NAMES 'SJIS'",
    'SET "CLIENT_ENCODING" = \'SJIS\'',
    "ALTER ROLE CURRENT_USER SET client_encoding = 'SJIS'",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET client_encoding = 'SJIS' AS 'SELECT 1'",
    "UPDATE pg_settings SET setting = 'SJIS' WHERE name = 'client_encoding'",
    "SELECT query_to_xml('SELECT set_config(''client_encoding'', ''SJIS'', false)', true, false, '')",
  ]) {
    assert.ok(of(sql).flags.includes('text-encoding-change'), sql);
  }
  for (const sql of ["SET client_encoding = 'UTF8'", "SET NAMES 'utf-8'", 'SET client_encoding TO DEFAULT', 'RESET client_encoding', 'RESET ALL', 'DISCARD ALL', 'SET search_path = x']) {
    assert.ok(!of(sql).flags.includes('text-encoding-change'), sql);
  }
});
