import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { decisionFacts, initSqlInspector, inspectSql, inspectionCacheStats } from './sql-inspector.js';
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
    ['SELECT 1 INTO new_t', 'SELECT INTO', ['create', 'ddl', 'write', 'select', 'read']],
    ['INSERT INTO t VALUES (1)', 'INSERT', ['insert', 'write']],
    ['INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING', 'INSERT', ['insert', 'upsert', 'write']],
    ['UPDATE t SET a = 1', 'UPDATE', ['update', 'write']],
    ['DELETE FROM t', 'DELETE', ['delete', 'write']],
    ['MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE', 'MERGE', ['merge', 'write', 'delete']],
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
  assert.deepEqual([...f.functions!], ['pg_catalog.pg_terminate_backend']);
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
  const a = inspectSql('SELECT x FROM cache_probe', { target: 't' });
  const before = inspectionCacheStats().hits;
  const b = inspectSql('SELECT x FROM cache_probe', { target: 't' });
  assert.equal(a, b);
  assert.equal(inspectionCacheStats().hits, before + 1);
  assert.ok(Object.isFrozen(a[0]!.facts));
  assert.throws(() => (a[0]!.facts.kinds as string[]).push('x'));
});

test('statements that differ only in literals share one inspection, each with its own text', () => {
  const a = one('SELECT abalance FROM shape_probe WHERE aid = 4711;');
  const before = inspectionCacheStats().hits;
  const b = one('SELECT abalance FROM shape_probe WHERE aid = 815;');
  assert.equal(inspectionCacheStats().hits, before + 1, 'the second one is not parsed');
  assert.equal(inspectSql('SELECT abalance FROM shape_probe WHERE aid = 9;', { target: 'other' })[0]!.facts.target, 'other', 'keyed by target too');
  assert.ok(inspectSql('SELECT abalance FROM shape_probe WHERE aid = 9;', { target: 't', prepared: true })[0]!.facts.flags.includes('prepared'));
  assert.equal(b.text, 'SELECT abalance FROM shape_probe WHERE aid = 815');
  assert.equal(b.facts.text, b.text, 'text rules see this statement, not the cached one');
  assert.equal(b.queryText, a.queryText);
  assert.deepEqual(b.facts.tables, a.facts.tables);
  assert.ok(Object.isFrozen(b) && Object.isFrozen(b.facts));
  const c = one("UPDATE shape_probe SET note = 'x' WHERE aid = 1");
  assert.equal(one("UPDATE shape_probe SET note = 'it''s' WHERE aid = 2").facts.text, "UPDATE shape_probe SET note = 'it''s' WHERE aid = 2");
  assert.deepEqual(c.facts.kinds, one("UPDATE shape_probe SET note = 'y' WHERE aid = 3").facts.kinds);
});

test('where a literal changes what a statement does, it is never answered from the shape cache', () => {
  // EXPLAIN (ANALYZE 0) only explains; EXPLAIN (ANALYZE 1) runs the DELETE.
  const explains = one('EXPLAIN (ANALYZE 0) DELETE FROM shape_probe');
  const runs = one('EXPLAIN (ANALYZE 1) DELETE FROM shape_probe');
  assert.ok(!explains.facts.kinds.includes('delete'));
  assert.ok(runs.facts.kinds.includes('delete'));
});

test('each statement keeps its own flags; function-call comes from any FuncCall in the tree', () => {
  const r = inspectSql("SELECT 1; select set_config('role', 'x', false); DO $$ BEGIN END $$", { target: 'db', prepared: true });
  assert.equal(r.length, 3);
  assert.deepEqual([...r[0]!.facts.flags], ['multi-statement', 'prepared']);
  // set_config('role', …) switches role like SET ROLE; only a search_path (or unknown) name carries `search-path`.
  assert.deepEqual([...r[1]!.facts.flags], ['function-call', 'role-switch', 'multi-statement', 'prepared']);
  assert.deepEqual([...r[1]!.functions!], ['pg_catalog.set_config']);
  assert.deepEqual([...r[2]!.facts.flags], ['do-block', 'multi-statement', 'prepared']);
  assert.ok(r.every((s) => s.facts.protocol === 'postgres' && s.facts.target === 'db'));
});

test('statement texts and query texts: semicolons in literals, comments, multi-byte characters', () => {
  const r = inspectSql("INSERT INTO t VALUES ('a;b', 'ünï😀') ; /* x; */ SELECT $$;$$, 'é' FROM t2;", { target: 't' });
  // The parser starts a statement after the comments that precede it.
  assert.deepEqual(r.map((s) => s.text), ["INSERT INTO t VALUES ('a;b', 'ünï😀')", "SELECT $$;$$, 'é' FROM t2"]);
  assert.deepEqual(r.map((s) => s.queryText), ['INSERT INTO t VALUES (?, ?)', 'SELECT ?, ? FROM t2']);
  assert.deepEqual(r.map((s) => s.collection), ['t', 't2']);
  assert.deepEqual(inspectSql(' ; ;', { target: 't' }), []);
  assert.deepEqual(inspectSql('/* nothing */ -- here\n', { target: 't' }), []);
});

test('db.query.text never carries a password or a schema-qualified collection loses its schema', () => {
  const s = one("ALTER ROLE app WITH PASSWORD 'hunter2'");
  assert.equal(s.queryText, 'ALTER ROLE app WITH PASSWORD ?');
  assert.equal(s.text, "ALTER ROLE app WITH PASSWORD 'hunter2'");
  assert.equal(one('SELECT * FROM audit_only.events').collection, 'audit_only.events');
  assert.equal(one('SELECT 1').collection, undefined);
});

test('unparsable text: one statement, no tables, a parser message without literal values', () => {
  const bad = inspectSql("SELECT 1; SELECT 'hunter2' 'x' FROM", { target: 't', prepared: true });
  assert.equal(bad.length, 1);
  const s = bad[0]!;
  assert.equal(s.facts.operation, 'UNKNOWN');
  assert.deepEqual([...s.facts.tables], []);
  assert.deepEqual([...s.facts.flags], ['unparsable', 'prepared']);
  assert.equal(s.queryText, 'SELECT ?; SELECT ? ? FROM');
  assert.match(s.error!, /syntax error/);
  const leaky = one("SELECT 1 'hunter2'");
  assert.match(leaky.error!, /syntax error at or near "\?"/);
  assert.doesNotMatch(leaky.error!, /hunter2/);
  const unterminated = one("SELECT 'hunter2");
  assert.doesNotMatch(unterminated.error!, /hunter2/);
  assert.equal(unterminated.queryText, '?');
});

test('a CTE cannot hide the table it reads (policy sees the real table)', () => {
  assert.deepEqual(tables('WITH customers AS (SELECT * FROM customers) SELECT card FROM customers'), ['customers']);
});

test('cached results are shared, frozen throughout, and keyed by target and prepared too', () => {
  const sql = 'SELECT name FROM customers WHERE id = other_id';
  const a = inspectSql(sql, { target: 'a' });
  assert.equal(inspectSql(sql, { target: 'a' }), a);
  const b = inspectSql(sql, { target: 'b' });
  assert.notEqual(b, a);
  assert.equal(b[0]!.facts.target, 'b');
  assert.ok(!inspectSql(sql, { target: 'a' })[0]!.facts.flags.includes('prepared'));
  assert.ok(inspectSql(sql, { target: 'a', prepared: true })[0]!.facts.flags.includes('prepared'));
  assert.ok(Object.isFrozen(a));
  assert.ok(Object.isFrozen(a[0]));
  assert.ok(Object.isFrozen(a[0]!.facts.tables[0]));
  assert.ok(Object.isFrozen(a[0]!.functions));
  assert.throws(() => {
    (a[0]!.facts as { operation: string }).operation = 'DROP TABLE';
  });
  assert.equal(inspectSql(sql, { target: 'a' })[0]!.facts.operation, 'SELECT');
});

test('the cache is bounded in entries and skips very long texts', () => {
  for (let i = 0; i < 2500; i++) inspectSql(`SELECT c${i} FROM bound_probe`, { target: 't' });
  const stats = inspectionCacheStats();
  assert.ok(stats.size <= 2000, `size ${stats.size}`);
  // The oldest entries were evicted: asking again is a miss.
  const misses = stats.misses;
  inspectSql('SELECT c0 FROM bound_probe', { target: 't' });
  assert.equal(inspectionCacheStats().misses, misses + 1);
  const long = `SELECT 1 FROM t WHERE a IN (${'1,'.repeat(40_000)}1)`;
  const first = inspectSql(long, { target: 't' });
  assert.equal(first[0]!.facts.operation, 'SELECT');
  assert.notEqual(inspectSql(long, { target: 't' }), first);
});

test('before initSqlInspector every text is unparsable (fail closed) and nothing is cached', () => {
  const moduleUrl = new URL('./sql-inspector.js', import.meta.url).href;
  const script = `
    const { inspectSql, inspectionCacheStats } = await import(${JSON.stringify(moduleUrl)});
    const r = inspectSql('SELECT 1', { target: 't' });
    console.log(JSON.stringify({ kinds: r[0].facts.kinds, error: r[0].error, size: inspectionCacheStats().size }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), { kinds: ['unparsable'], error: 'SQL inspector not initialised', size: 0 });
});

test('decisionFacts: each statement followed by its nested commands, with the statement text and flags', () => {
  const r = inspectSql("SELECT 1; WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d", { target: 'db', prepared: true });
  const all = decisionFacts(r);
  assert.deepEqual(all.map((f) => f.operation), ['SELECT', 'SELECT', 'SELECT', 'DELETE']);
  const del = all[3]!;
  assert.deepEqual([...del.kinds], ['delete', 'write']);
  assert.equal(del.text, r[1]!.text);
  assert.ok(del.flags.includes('multi-statement') && del.flags.includes('prepared'));
  // Nested facts are part of the cached, frozen inspection.
  const cached = inspectSql('WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d', { target: 'db' });
  assert.equal(inspectSql('WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d', { target: 'db' }), cached);
  assert.equal(cached[0]!.nested!.length, 2);
  assert.ok(Object.isFrozen(r[1]!.nested) && Object.isFrozen(r[1]!.nested![0]));
  // A session flag on the statement holds for what is nested in it.
  const changed = r.map((s) => ({ ...s, facts: { ...s.facts, flags: [...s.facts.flags, 'search-path-changed'] } }));
  assert.ok(decisionFacts(changed).every((f) => f.flags.includes('search-path-changed')));
  // Nothing nested: exactly the statements' facts.
  const plain = inspectSql('SELECT * FROM t WHERE id = 1', { target: 'db' });
  assert.equal(plain[0]!.nested, undefined);
  assert.deepEqual(decisionFacts(plain), [plain[0]!.facts]);
});

test('statements with nested commands are not answered from the shape cache (their SQL text is a literal)', () => {
  const a = one("SELECT query_to_xml('select 1', true, false, '')");
  const b = one("SELECT query_to_xml('select * from secrets', true, false, '')");
  assert.deepEqual(a.facts.tables, []);
  assert.deepEqual(b.facts.tables, [{ name: 'secrets' }]);
  const utf8 = one("SELECT set_config('client_encoding', 'UTF8', false)");
  const sjis = one("SELECT set_config('client_encoding', 'SJIS', false)");
  assert.ok(!utf8.facts.flags.includes('text-encoding-change'));
  assert.ok(sjis.facts.flags.includes('text-encoding-change'));
});
