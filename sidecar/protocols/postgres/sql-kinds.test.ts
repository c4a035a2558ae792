import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadModule, parseSync } from './sql-grammar.js';
import { classifyStatement } from './sql-kinds.js';

before(() => loadModule());

const classifyText = (sql: string) => {
  const stmts = (parseSync(sql) as { stmts: { stmt: Record<string, unknown> }[] }).stmts;
  assert.equal(stmts.length, 1, sql);
  return classifyStatement(stmts[0]!.stmt);
};

// [sql, operation, kinds, flags the classification must carry]
const CASES: [string, string, string[], string[]?][] = [
  // reads and writes
  ['SELECT * FROM t', 'SELECT', ['select', 'read']],
  ['SELECT 1 UNION SELECT 2', 'SELECT', ['select', 'read']],
  ['VALUES (1), (2)', 'SELECT', ['select', 'read']],
  ['SELECT * FROM t FOR UPDATE', 'SELECT', ['select', 'read', 'lock']],
  ['SELECT * FROM t FOR SHARE SKIP LOCKED', 'SELECT', ['select', 'read', 'lock']],
  ['SELECT * INTO new_t FROM t', 'SELECT INTO', ['create', 'ddl', 'write']],
  ['INSERT INTO t VALUES (1)', 'INSERT', ['insert', 'write']],
  ['INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET a = 2', 'INSERT', ['insert', 'upsert', 'write']],
  ['WITH d AS (DELETE FROM t RETURNING *) INSERT INTO a SELECT * FROM d', 'INSERT', ['insert', 'write']],
  ['UPDATE t SET a = 1 WHERE id = 2', 'UPDATE', ['update', 'write']],
  ['DELETE FROM t USING u WHERE t.id = u.id', 'DELETE', ['delete', 'write']],
  ['MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a', 'MERGE', ['merge', 'write']],
  // COPY
  ['COPY t FROM STDIN', 'COPY', ['copy', 'copy-in', 'write']],
  ['COPY t TO STDOUT', 'COPY', ['copy', 'copy-out', 'read']],
  ['COPY (SELECT * FROM t) TO STDOUT', 'COPY', ['copy', 'copy-out', 'read']],
  // Server programs and files are kinds of their own, never `read` / `copy-out`.
  ["COPY t FROM PROGRAM 'curl x'", 'COPY', ['server-program', 'copy', 'copy-in', 'write'], ['copy-program']],
  ["COPY t TO PROGRAM 'gzip > /tmp/x'", 'COPY', ['server-program', 'copy'], ['copy-program']],
  ["COPY t TO '/tmp/out'", 'COPY', ['server-file-write', 'server-file', 'copy'], ['server-file']],
  ["COPY t FROM '/etc/passwd'", 'COPY', ['server-file-read', 'server-file', 'copy', 'copy-in', 'write'], ['server-file']],
  // DDL
  ['TRUNCATE t', 'TRUNCATE', ['truncate', 'ddl', 'write']],
  ['CREATE TABLE x (a int)', 'CREATE TABLE', ['create', 'ddl', 'write']],
  ['CREATE TABLE x AS SELECT * FROM t', 'CREATE TABLE AS', ['create', 'ddl', 'write']],
  ['CREATE MATERIALIZED VIEW mv AS SELECT 1', 'CREATE MATERIALIZED VIEW', ['create', 'ddl', 'write']],
  ['CREATE VIEW v AS SELECT 1', 'CREATE VIEW', ['create', 'ddl', 'write']],
  ['CREATE INDEX i ON t (a)', 'CREATE INDEX', ['create', 'ddl', 'write']],
  ['CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$', 'CREATE FUNCTION', ['create', 'ddl', 'write']],
  ['CREATE PROCEDURE p() LANGUAGE sql AS $$ SELECT 1 $$', 'CREATE PROCEDURE', ['create', 'ddl', 'write']],
  ['CREATE SCHEMA s', 'CREATE SCHEMA', ['create', 'ddl', 'write']],
  ['CREATE EXTENSION pgcrypto', 'CREATE EXTENSION', ['create', 'ddl', 'write']],
  ['CREATE TYPE e AS ENUM (\'a\')', 'CREATE TYPE', ['create', 'ddl', 'write']],
  ['CREATE POLICY p ON t USING (true)', 'CREATE POLICY', ['create', 'ddl', 'write']],
  ['ALTER TABLE x ADD COLUMN b int', 'ALTER TABLE', ['alter', 'ddl', 'write']],
  ['ALTER INDEX i SET TABLESPACE s', 'ALTER INDEX', ['alter', 'ddl', 'write']],
  ['ALTER TABLE t RENAME TO u', 'ALTER TABLE', ['alter', 'ddl', 'write']],
  ['ALTER TABLE t RENAME COLUMN a TO b', 'ALTER TABLE', ['alter', 'ddl', 'write']],
  ['ALTER TABLE t SET SCHEMA s', 'ALTER TABLE', ['alter', 'ddl', 'write']],
  ['ALTER DATABASE d SET work_mem = 1', 'ALTER DATABASE SET', ['alter', 'ddl', 'write']],
  ['DROP TABLE x', 'DROP TABLE', ['drop', 'ddl', 'write']],
  ['DROP VIEW IF EXISTS v', 'DROP VIEW', ['drop', 'ddl', 'write']],
  ['DROP INDEX i', 'DROP INDEX', ['drop', 'ddl', 'write']],
  ['DROP SCHEMA s CASCADE', 'DROP SCHEMA', ['drop', 'ddl', 'write']],
  ['DROP FUNCTION f()', 'DROP FUNCTION', ['drop', 'ddl', 'write']],
  ['DROP DATABASE d', 'DROP DATABASE', ['drop', 'ddl', 'write']],
  ['COMMENT ON TABLE t IS \'x\'', 'COMMENT', ['alter', 'ddl', 'write']],
  // DCL and roles
  ['GRANT SELECT ON t TO u', 'GRANT', ['grant', 'dcl', 'write']],
  ['REVOKE ALL ON t FROM u', 'REVOKE', ['revoke', 'dcl', 'write']],
  ['GRANT admin TO u', 'GRANT', ['grant', 'dcl', 'write']],
  ['CREATE ROLE r LOGIN', 'CREATE ROLE', ['role', 'dcl', 'write']],
  ['CREATE USER u', 'CREATE USER', ['role', 'dcl', 'write']],
  ["ALTER ROLE u PASSWORD 'x'", 'ALTER ROLE', ['role', 'dcl', 'write']],
  ['ALTER ROLE u SET search_path = x', 'ALTER ROLE', ['role', 'dcl', 'write']],
  ['DROP ROLE r', 'DROP ROLE', ['role', 'dcl', 'write']],
  ['ALTER SYSTEM SET work_mem = 1', 'ALTER SYSTEM', ['alter', 'admin', 'write']],
  // transactions and session
  ['BEGIN', 'BEGIN', ['transaction']],
  ['START TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'BEGIN', ['transaction']],
  ['COMMIT', 'COMMIT', ['transaction']],
  ['ROLLBACK', 'ROLLBACK', ['transaction']],
  ['SAVEPOINT s', 'SAVEPOINT', ['transaction']],
  ['RELEASE SAVEPOINT s', 'RELEASE', ['transaction']],
  ['ROLLBACK TO SAVEPOINT s', 'ROLLBACK', ['transaction']],
  ['SET search_path = x', 'SET', ['set', 'session']],
  ['RESET ALL', 'RESET', ['set', 'session']],
  ['SET ROLE admin', 'SET', ['set', 'role-switch'], ['role-switch']],
  ['SET "ROLE" = admin', 'SET', ['set', 'role-switch'], ['role-switch']],
  ['SET SESSION AUTHORIZATION admin', 'SET', ['set', 'role-switch'], ['role-switch']],
  ['RESET ROLE', 'RESET', ['set', 'role-switch', 'session'], ['role-switch']],
  ['SHOW work_mem', 'SHOW', ['show', 'session']],
  ['DISCARD ALL', 'DISCARD', ['session']],
  // wrappers
  ['EXPLAIN SELECT 1', 'EXPLAIN', ['explain', 'read']],
  ['EXPLAIN DELETE FROM t', 'EXPLAIN', ['explain', 'read']],
  ['EXPLAIN ANALYZE DELETE FROM t', 'EXPLAIN', ['explain', 'delete', 'write']],
  ['EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = 1', 'EXPLAIN', ['explain', 'update', 'write']],
  ['EXPLAIN (ANALYZE false) DELETE FROM t', 'EXPLAIN', ['explain', 'read']],
  ['EXPLAIN (ANALYZE on) DELETE FROM t', 'EXPLAIN', ['explain', 'delete', 'write']],
  ['PREPARE p AS DELETE FROM t', 'PREPARE', ['delete', 'write', 'prepare']],
  ['PREPARE q (int) AS SELECT $1', 'PREPARE', ['select', 'read', 'prepare']],
  ['EXECUTE p(1)', 'EXECUTE', ['execute']],
  ['DEALLOCATE p', 'DEALLOCATE', ['session']],
  // procedural
  ['DO $$ BEGIN PERFORM 1; END $$', 'DO', ['do', 'procedural', 'write'], ['do-block']],
  ['CALL p()', 'CALL', ['call', 'procedural', 'write'], ['function-call']],
  // maintenance, notify, locks, cursors
  ['VACUUM t', 'VACUUM', ['maintenance', 'admin']],
  ['VACUUM ANALYZE t', 'VACUUM', ['maintenance', 'admin']],
  ['ANALYZE t', 'ANALYZE', ['maintenance', 'admin']],
  ['REINDEX TABLE t', 'REINDEX', ['maintenance', 'admin']],
  ['CLUSTER t USING i', 'CLUSTER', ['maintenance', 'admin']],
  ['CHECKPOINT', 'CHECKPOINT', ['maintenance', 'admin']],
  ['REFRESH MATERIALIZED VIEW mv', 'REFRESH MATERIALIZED VIEW', ['refresh', 'write']],
  ['LISTEN ch', 'LISTEN', ['notify']],
  ['UNLISTEN *', 'UNLISTEN', ['notify']],
  ["NOTIFY ch, 'x'", 'NOTIFY', ['notify']],
  ['LOCK TABLE t IN ACCESS EXCLUSIVE MODE', 'LOCK', ['lock', 'write']],
  ['DECLARE c CURSOR FOR SELECT 1', 'DECLARE', ['cursor', 'read']],
  ['FETCH 10 FROM c', 'FETCH', ['cursor', 'read']],
  ['MOVE 10 IN c', 'MOVE', ['cursor', 'read']],
  ['CLOSE c', 'CLOSE', ['cursor', 'session']],
  ["LOAD 'auto_explain'", 'LOAD', ['admin', 'write']],
];

test('operation, kinds and flags for each statement family', () => {
  for (const [sql, operation, kinds, flags = []] of CASES) {
    const c = classifyText(sql);
    assert.equal(c.operation, operation, sql);
    assert.deepEqual(c.kinds, kinds, sql);
    for (const f of flags) assert.ok(c.flags.includes(f), `${sql}: flag ${f}`);
  }
});

test('statements without flags of their own carry none', () => {
  for (const sql of ['SELECT 1', 'COPY t FROM STDIN', 'SET work_mem = 1024', 'DELETE FROM t']) {
    assert.deepEqual(classifyText(sql).flags, [], sql);
  }
});

test('statements that change search_path carry the search-path flag', () => {
  for (const sql of ['SET search_path = x', 'SET LOCAL search_path TO a, b', 'RESET ALL']) {
    assert.deepEqual(classifyText(sql).flags, ['search-path'], sql);
  }
});

test('a statement type the table does not list is "other", named after its node', () => {
  const c = classifyText("PREPARE TRANSACTION 'x'");
  assert.equal(c.operation, 'PREPARE TRANSACTION');
  assert.deepEqual(c.kinds, ['transaction']);
  const other = classifyText('CREATE USER MAPPING FOR u SERVER s');
  assert.deepEqual(other.kinds, ['create', 'ddl', 'write']);
  const unknown = classifyStatement({ SomeFutureStmt: {} });
  assert.equal(unknown.operation, 'SOME FUTURE');
  assert.deepEqual(unknown.kinds, ['other']);
});

test('a malformed statement node classifies as other instead of throwing', () => {
  assert.deepEqual(classifyStatement({}).kinds, ['other']);
  assert.deepEqual(classifyStatement({ ExplainStmt: { query: null } }).kinds, ['explain', 'read']);
});
