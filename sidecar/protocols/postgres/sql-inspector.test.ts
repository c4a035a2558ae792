import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initSqlInspector, inspectSql, inspectionCacheStats } from './sql-inspector.js';
import { replaceLiterals } from './sql-literals.js';

before(() => initSqlInspector());

const one = (sql: string) => {
  const r = inspectSql(sql, { target: 't' });
  assert.equal(r.length, 1, sql);
  return r[0]!;
};
const tables = (sql: string) => inspectSql(sql, { target: 't' }).flatMap((s) => s.facts.tables.map((t) => (t.schema ? `${t.schema}.${t.name}` : t.name))).sort();

test('operation and kinds for the common statements', () => {
  const cases: [string, string, string[]][] = [
    ['SELECT * FROM t', 'SELECT', ['select', 'read']],
    ['SELECT * FROM t FOR UPDATE', 'SELECT', ['select', 'read', 'lock']],
    ['SELECT 1 INTO new_t', 'SELECT INTO', ['create', 'ddl', 'write']],
    ['INSERT INTO t VALUES (1)', 'INSERT', ['insert', 'write']],
    ['INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING', 'INSERT', ['insert', 'upsert', 'write']],
    ['UPDATE t SET a = 1', 'UPDATE', ['update', 'write']],
    ['DELETE FROM t', 'DELETE', ['delete', 'write']],
    ['MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE', 'MERGE', ['merge', 'write']],
    ['TRUNCATE t', 'TRUNCATE', ['truncate', 'ddl', 'write']],
    ['CREATE TABLE x (a int)', 'CREATE TABLE', ['create', 'ddl', 'write']],
    ['ALTER TABLE x ADD COLUMN b int', 'ALTER TABLE', ['alter', 'ddl', 'write']],
    ['DROP TABLE x', 'DROP TABLE', ['drop', 'ddl', 'write']],
    ['DROP INDEX i', 'DROP INDEX', ['drop', 'ddl', 'write']],
    ['GRANT SELECT ON t TO u', 'GRANT', ['grant', 'dcl', 'write']],
    ["ALTER ROLE u PASSWORD 'x'", 'ALTER ROLE', ['role', 'dcl', 'write']],
    ['BEGIN', 'BEGIN', ['transaction']],
    ['COMMIT', 'COMMIT', ['transaction']],
    ['SET search_path = x', 'SET', ['set', 'session']],
    ['SHOW work_mem', 'SHOW', ['show', 'session']],
    ['COPY t FROM STDIN', 'COPY', ['copy', 'copy-in', 'write']],
    ['COPY t TO STDOUT', 'COPY', ['copy', 'copy-out', 'read']],
    ['EXPLAIN SELECT 1', 'EXPLAIN', ['explain', 'read']],
    ['EXPLAIN ANALYZE DELETE FROM t', 'EXPLAIN', ['explain', 'delete', 'write']],
    ['DO $$ BEGIN PERFORM 1; END $$', 'DO', ['do', 'procedural', 'write']],
    ['CALL p()', 'CALL', ['call', 'procedural', 'write']],
    ['PREPARE p AS DELETE FROM t', 'PREPARE', ['delete', 'write', 'prepare']],
    ['VACUUM t', 'VACUUM', ['maintenance', 'admin']],
    ['LISTEN ch', 'LISTEN', ['notify']],
  ];
  for (const [sql, op, kinds] of cases) {
    const s = one(sql);
    assert.equal(s.facts.operation, op, sql);
    assert.deepEqual([...s.facts.kinds], kinds, sql);
  }
});

test('tables from joins, subqueries, CTEs (not counted as tables), DML targets, DDL, COPY', () => {
  assert.deepEqual(tables('SELECT * FROM a JOIN s.b ON true WHERE x IN (SELECT y FROM c)'), ['a', 'c', 's.b']);
  assert.deepEqual(tables('WITH recent AS (SELECT * FROM orders) SELECT * FROM recent JOIN customers USING (id)'), ['customers', 'orders']);
  assert.deepEqual(tables('INSERT INTO logs SELECT * FROM audit_only.events'), ['audit_only.events', 'logs']);
  assert.deepEqual(tables('UPDATE t SET a = 1 FROM u WHERE t.id = u.id'), ['t', 'u']);
  assert.deepEqual(tables('DROP TABLE a, b.c'), ['a', 'b.c']);
  assert.deepEqual(tables('TRUNCATE x, y'), ['x', 'y']);
  assert.deepEqual(tables('COPY (SELECT * FROM secret.t) TO STDOUT'), ['secret.t']);
  assert.deepEqual(tables('CREATE INDEX i ON big (a)'), ['big']);
  assert.equal(one('SELECT * FROM orders').collection, 'orders');
  assert.equal(one('SELECT * FROM a, b').collection, undefined);
});

test('every statement of a multi-statement string, with its own text (multi-byte safe)', () => {
  const r = inspectSql("SELECT 'é;😀' AS x; DROP TABLE t;  UPDATE u SET a = 'ü'", { target: 't' });
  assert.deepEqual(r.map((s) => s.facts.operation), ['SELECT', 'DROP TABLE', 'UPDATE']);
  assert.deepEqual(r.map((s) => s.text), ["SELECT 'é;😀' AS x", 'DROP TABLE t', "UPDATE u SET a = 'ü'"]);
  assert.ok(r.every((s) => s.facts.flags.includes('multi-statement')));
  assert.deepEqual(inspectSql('-- only a comment', { target: 't' }), []);
  assert.deepEqual(inspectSql('', { target: 't' }), []);
});

test('flags: DO blocks, function calls (with names), prepared, unparsable', () => {
  assert.ok(one('DO $$ BEGIN END $$').facts.flags.includes('do-block'));
  const f = one('SELECT pg_terminate_backend(pid) FROM pg_stat_activity');
  assert.ok(f.facts.flags.includes('function-call'));
  assert.deepEqual([...f.functions!], ['pg_terminate_backend']);
  assert.ok(inspectSql('SELECT 1', { target: 't', prepared: true })[0]!.facts.flags.includes('prepared'));
  const bad = one('SELEC * FORM t');
  assert.deepEqual([...bad.facts.kinds], ['unparsable']);
  assert.ok(bad.facts.flags.includes('unparsable'));
  assert.match(bad.error!, /syntax error/);
});

test('literals are replaced by ? using the real scanner (no data in db.query.text)', () => {
  assert.equal(replaceLiterals("SELECT * FROM t WHERE a = 'x' AND b = 42 AND c = 1.5"), 'SELECT * FROM t WHERE a = ? AND b = ? AND c = ?');
  assert.equal(replaceLiterals("ALTER ROLE app PASSWORD 'hunter2'"), 'ALTER ROLE app PASSWORD ?');
  assert.equal(replaceLiterals("SELECT E'it\\'s', $$dollar 'q'$$, B'101', X'ff', U&'d'"), 'SELECT ?, ?, ?, ?, ?');
  assert.equal(replaceLiterals("SELECT 'é' || 'ada@example.com', $1"), 'SELECT ? || ?, $1');
  assert.equal(replaceLiterals('SELECT a FROM t'), 'SELECT a FROM t');
});

test('results are cached by text and frozen', () => {
  const a = inspectSql('SELECT 42 FROM cache_probe', { target: 't' });
  const before = inspectionCacheStats().hits;
  const b = inspectSql('SELECT 42 FROM cache_probe', { target: 't' });
  assert.equal(a, b);
  assert.equal(inspectionCacheStats().hits, before + 1);
  assert.ok(Object.isFrozen(a[0]!.facts));
  assert.throws(() => (a[0]!.facts.kinds as string[]).push('x'));
});
