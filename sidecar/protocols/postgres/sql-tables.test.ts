import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadModule, parseSync } from './sql-grammar.js';
import { collectTreeFacts } from './sql-tables.js';

before(() => loadModule());

const facts = (sql: string) => {
  const stmts = (parseSync(sql) as { stmts: { stmt: unknown }[] }).stmts;
  assert.equal(stmts.length, 1, sql);
  return collectTreeFacts(stmts[0]!.stmt);
};
const tables = (sql: string) => facts(sql).tables.map((t) => (t.schema ? `${t.schema}.${t.name}` : t.name)).sort();

// [sql, tables touched, sorted, schema-qualified where the text qualified them]
const CASES: [string, string[]][] = [
  // reads
  ['SELECT 1', []],
  ['SELECT * FROM customers', ['customers']],
  ['SELECT * FROM public.customers c', ['public.customers']],
  ['SELECT * FROM db.public.customers', ['public.customers']],
  ['SELECT * FROM a JOIN s.b ON true LEFT JOIN c USING (id)', ['a', 'c', 's.b']],
  ['SELECT * FROM a WHERE x IN (SELECT y FROM c) AND EXISTS (SELECT 1 FROM d)', ['a', 'c', 'd']],
  ['SELECT (SELECT max(id) FROM orders) FROM customers', ['customers', 'orders']],
  ['SELECT * FROM (SELECT * FROM inner_t) sub', ['inner_t']],
  ['SELECT * FROM a, LATERAL (SELECT * FROM b WHERE b.id = a.id) l', ['a', 'b']],
  ['SELECT * FROM a UNION SELECT * FROM b EXCEPT SELECT * FROM c', ['a', 'b', 'c']],
  ['SELECT * FROM a JOIN a ON true', ['a']],
  ['SELECT * FROM "Mixed Case"', ['Mixed Case']],
  ['SELECT * FROM generate_series(1, 3)', []],
  // CTEs: names of CTEs are not tables, their bodies' tables are
  ['WITH recent AS (SELECT * FROM orders) SELECT * FROM recent JOIN customers USING (id)', ['customers', 'orders']],
  ['WITH a AS (SELECT 1), b AS (SELECT * FROM a) SELECT * FROM b', []],
  ['WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT * FROM r', []],
  ['WITH x AS (SELECT 1) SELECT * FROM public.x', ['public.x']],
  // DML targets and sources
  ['INSERT INTO logs SELECT * FROM audit_only.events', ['audit_only.events', 'logs']],
  ['INSERT INTO t (a) VALUES (1) RETURNING *', ['t']],
  ['UPDATE t SET a = 1 FROM u WHERE t.id = u.id', ['t', 'u']],
  ['UPDATE t SET a = (SELECT b FROM v LIMIT 1)', ['t', 'v']],
  ['DELETE FROM t USING u WHERE t.id = u.id', ['t', 'u']],
  ['MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE', ['s', 't']],
  ['WITH d AS (DELETE FROM old RETURNING *) INSERT INTO archive SELECT * FROM d', ['archive', 'old']],
  // COPY
  ['COPY customers TO STDOUT', ['customers']],
  ['COPY s.t (a, b) FROM STDIN', ['s.t']],
  ['COPY (SELECT * FROM secret.t JOIN u ON true) TO STDOUT', ['secret.t', 'u']],
  // DDL
  ['CREATE TABLE x (a int)', ['x']],
  ['CREATE TABLE x (a int REFERENCES y (id))', ['x', 'y']],
  ['CREATE TABLE x AS SELECT * FROM y', ['x', 'y']],
  ['SELECT * INTO x FROM y', ['x', 'y']],
  ['CREATE VIEW v AS SELECT * FROM y', ['v', 'y']],
  ['CREATE INDEX i ON big (a)', ['big']],
  ['ALTER TABLE s.t ADD COLUMN b int', ['s.t']],
  ['ALTER TABLE t RENAME TO u', ['t']],
  ['ALTER TABLE t SET SCHEMA s', ['t']],
  ['DROP TABLE a, b.c', ['a', 'b.c']],
  ['DROP VIEW IF EXISTS v', ['v']],
  ['DROP INDEX s.i', ['s.i']],
  ['DROP FUNCTION f()', []],
  ['DROP SCHEMA s', []],
  ['TRUNCATE x, y', ['x', 'y']],
  ['COMMENT ON TABLE s.t IS \'x\'', ['s.t']],
  ['GRANT SELECT ON customers, s.orders TO u', ['customers', 's.orders']],
  ['GRANT USAGE ON SCHEMA s TO u', []],
  ['LOCK TABLE a, b IN SHARE MODE', ['a', 'b']],
  ['VACUUM (ANALYZE) a, b', ['a', 'b']],
  ['CREATE POLICY p ON t USING (true)', ['t']],
  ['REFRESH MATERIALIZED VIEW mv', ['mv']],
  // procedural: the body of a DO block is opaque text
  ['DO $$ BEGIN DELETE FROM hidden; END $$', []],
  ['CALL p()', []],
];

test('tables touched, for each place a relation can appear', () => {
  for (const [sql, expected] of CASES) assert.deepEqual(tables(sql), expected, sql);
});

test('a CTE hides a table name only where it is in scope', () => {
  // A non-recursive CTE body cannot see itself: its FROM names the real table.
  assert.deepEqual(tables('WITH customers AS (SELECT * FROM customers) SELECT * FROM customers'), ['customers']);
  // Nor a later sibling.
  assert.deepEqual(tables('WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a'), ['b']);
  // A CTE inside a subquery does not hide the outer query's table of the same name.
  assert.deepEqual(tables('SELECT * FROM orders, (WITH orders AS (SELECT 1) SELECT * FROM orders) x'), ['orders']);
  // DML targets are always real tables.
  assert.deepEqual(tables('WITH t AS (SELECT 1) INSERT INTO t SELECT * FROM t'), ['t']);
  assert.deepEqual(tables('WITH t AS (SELECT 1) DELETE FROM t'), ['t']);
  // A recursive CTE sees itself.
  assert.deepEqual(tables('WITH RECURSIVE r AS (SELECT 1 FROM base UNION SELECT 1 FROM r) SELECT * FROM r'), ['base']);
});

test('a schema is reported only when the text gave one', () => {
  assert.deepEqual(facts('SELECT * FROM public.t, t').tables, [{ schema: 'public', name: 't' }, { name: 't' }]);
  assert.ok(!('schema' in facts('SELECT * FROM t').tables[0]!));
});

test('called functions, schema-qualified as written, wherever they appear', () => {
  const cases: [string, string[]][] = [
    ['SELECT 1', []],
    ['SELECT pg_terminate_backend(pid) FROM pg_stat_activity', ['pg_terminate_backend']],
    ["SELECT pg_catalog.set_config('a', 'b', false)", ['pg_catalog.set_config']],
    ["SELECT * FROM t WHERE id = (SELECT lo_import('/etc/passwd'))", ['lo_import']],
    ['SELECT count(*), count(*) FROM t', ['count']],
    ['SELECT * FROM generate_series(1, 3)', ['generate_series']],
    ["INSERT INTO t VALUES (nextval('s'))", ['nextval']],
    ['CALL maintenance.cleanup(1)', ['maintenance.cleanup']],
    ['SELECT CURRENT_USER, 1::text', []],
  ];
  for (const [sql, expected] of cases) assert.deepEqual(facts(sql).functions.sort(), expected, sql);
});
