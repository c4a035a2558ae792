import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { decisionFacts, initMysqlInspector, inspectMysql, type MysqlInspectOptions } from './sql-inspector.js';

before(() => initMysqlInspector());

const opts: MysqlInspectOptions = { target: 't', dialect: 'mariadb' };
const all = (sql: string, o: Partial<MysqlInspectOptions> = {}) => inspectMysql(sql, { ...opts, ...o });
const one = (sql: string, o: Partial<MysqlInspectOptions> = {}) => {
  const r = all(sql, o);
  assert.equal(r.length, 1, sql);
  return r[0]!;
};
const tables = (sql: string) => one(sql).facts.tables.map((t) => (t.schema ? `${t.schema}.${t.name}` : t.name)).sort();
const decided = (sql: string, o: Partial<MysqlInspectOptions> = {}) => decisionFacts(all(sql, o)).map((f) => [f.operation, ...f.kinds].join(' '));

test('operation and kinds for the common statements', () => {
  const cases: [string, string, string[]][] = [
    ['SELECT * FROM t', 'SELECT', ['select', 'read']],
    ['SELECT * FROM t FOR UPDATE', 'SELECT', ['select', 'read', 'lock']],
    ['INSERT INTO t VALUES (1)', 'INSERT', ['insert', 'write']],
    ['INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a = 1', 'INSERT', ['insert', 'upsert', 'write']],
    ['REPLACE INTO t VALUES (1)', 'REPLACE', ['replace', 'insert', 'delete', 'write']],
    ['UPDATE t SET a = 1', 'UPDATE', ['update', 'write']],
    ['DELETE FROM t WHERE id = 1', 'DELETE', ['delete', 'write']],
    ['CREATE TABLE x (a int)', 'CREATE TABLE', ['create', 'ddl', 'write']],
    ['ALTER TABLE x ADD COLUMN b int', 'ALTER TABLE', ['alter', 'ddl', 'write']],
    ['DROP TABLE x', 'DROP TABLE', ['drop', 'ddl', 'write']],
    ['TRUNCATE TABLE x', 'TRUNCATE TABLE', ['truncate', 'ddl', 'write']],
    ['RENAME TABLE a TO b', 'RENAME TABLE', ['rename', 'alter', 'ddl', 'write']],
    ['GRANT SELECT ON db.t TO u', 'GRANT', ['grant', 'dcl', 'write']],
    ['BEGIN', 'BEGIN', ['transaction']],
    ['COMMIT', 'COMMIT', ['transaction']],
    ['SAVEPOINT a', 'SAVEPOINT', ['transaction']],
    ['ROLLBACK TO SAVEPOINT a', 'ROLLBACK', ['transaction']],
    ['SET autocommit = 1', 'SET', ['set', 'session']],
    ['SET GLOBAL max_connections = 10', 'SET', ['set', 'session', 'admin', 'write']],
    ['SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', 'SET', ['set', 'transaction', 'session']],
    ['SHOW TABLES', 'SHOW', ['show', 'read']],
    ['DESCRIBE t', 'DESCRIBE', ['describe', 'show', 'read']],
    ['EXPLAIN SELECT * FROM t', 'EXPLAIN', ['explain', 'read']],
    ['CALL p(1)', 'CALL', ['call', 'procedural', 'write']],
    ['USE db', 'USE', ['use', 'session']],
    ['LOCK TABLES t READ', 'LOCK TABLES', ['lock', 'write']],
    ['UNLOCK TABLES', 'UNLOCK TABLES', ['unlock', 'session']],
    ['KILL QUERY 7', 'KILL', ['kill', 'backend-signal', 'admin']],
    ['FLUSH PRIVILEGES', 'FLUSH', ['flush', 'admin']],
    ['OPTIMIZE TABLE a', 'OPTIMIZE TABLE', ['maintenance', 'admin']],
    ['DEALLOCATE PREPARE s', 'DEALLOCATE', ['deallocate', 'session']],
  ];
  for (const [sql, op, kinds] of cases) {
    const s = one(sql);
    assert.equal(s.error, undefined, `${sql}: ${s.error}`);
    assert.equal(s.facts.operation, op, sql);
    assert.deepEqual([...s.facts.kinds], kinds, sql);
    assert.equal(s.facts.protocol, 'mysql');
  }
});

test('tables: joins, subqueries, DML targets, DDL subjects, schema when qualified, quoted names', () => {
  assert.deepEqual(tables('SELECT * FROM a JOIN s.b ON 1 WHERE x IN (SELECT y FROM c)'), ['a', 'c', 's.b']);
  assert.deepEqual(tables('INSERT INTO logs SELECT * FROM audit.events'), ['audit.events', 'logs']);
  assert.deepEqual(tables('UPDATE a JOIN b ON a.id = b.id SET a.x = 1'), ['a', 'b']);
  assert.deepEqual(tables('DROP TABLE a, b.c'), ['a', 'b.c']);
  assert.deepEqual(tables('SELECT * FROM `we``ird`.`t`'), ['we`ird.t']);
  assert.deepEqual(tables('CREATE VIEW v AS SELECT * FROM secret'), ['secret', 'v']);
  assert.equal(one('SELECT c FROM sbtest1 WHERE id = 1').collection, 'sbtest1');
  assert.equal(one('SELECT 1').collection, undefined);
});

test('attacker: `--1` is minus minus one, so the DROP is a statement of its own', () => {
  const r = all('SELECT 1 --1; DROP TABLE t');
  assert.deepEqual(r.map((s) => s.facts.operation), ['SELECT', 'DROP TABLE']);
  assert.ok(r.every((s) => s.facts.flags.includes('multi-statement')));
});

test('attacker: executable comments are the code the server runs', () => {
  const drop = one('/*!50000 DROP TABLE t */');
  assert.equal(drop.facts.operation, 'DROP TABLE');
  assert.ok(drop.facts.flags.includes('executable-comment'));
  assert.equal(one('SELECT 1 /*!99999 , s FROM secret */').facts.tables[0]?.name, 'secret');
  const split = all('SELECT 1 /*M! ; DELETE FROM customers */');
  assert.deepEqual(split.map((s) => s.facts.operation), ['SELECT', 'DELETE']);
  assert.deepEqual(split[1]!.facts.tables, [{ name: 'customers' }]);
  // The server might end it at the first */: refused.
  assert.ok(one("SELECT 1 /*!99999 '*/ ; DROP TABLE t; -- ' */").facts.flags.includes('unparsable'));
});

test('attacker: a backslash-escaped quote keeps the `;` inside the string', () => {
  const s = one("SELECT 'a\\'; DROP TABLE t; -- '");
  assert.equal(s.facts.operation, 'SELECT');
  assert.deepEqual(s.facts.tables, []);
  assert.deepEqual(all("SELECT 'a\\\\'; DROP TABLE t; -- '").map((x) => x.facts.operation), ['SELECT', 'DROP TABLE']);
  // With NO_BACKSLASH_ESCAPES the same bytes are two statements.
  assert.deepEqual(all("SELECT 'a\\'; DROP TABLE t; -- '", { noBackslashEscapes: true }).map((x) => x.facts.operation), ['SELECT', 'DROP TABLE']);
});

test('unparsable statements, text that does not lex, and empty text', () => {
  const u = one('SELECT FROM WHERE');
  assert.deepEqual(u.facts.kinds, ['unparsable']);
  assert.ok(u.facts.flags.includes('unparsable'));
  assert.ok(u.error);
  const bad = one("SELECT 'unterminated");
  assert.ok(bad.facts.flags.includes('unparsable'));
  assert.equal(bad.queryText, '?');
  assert.deepEqual(all('  /* nothing */ ; '), []);
  // The grammar's message never quotes a number it stopped at.
  assert.ok(!one('SELECT 1 FROM t LIMIT 4111111111111111 4111111111111111').error?.includes('4111'));
});

test('dynamic SQL: PREPARE of a literal is inspected, of a variable and EXECUTE are flagged', () => {
  const p = one("PREPARE s FROM 'DELETE FROM customers'");
  assert.deepEqual([...p.facts.kinds], ['delete', 'write', 'prepare']);
  assert.deepEqual(p.facts.tables, [{ name: 'customers' }]);
  assert.ok(p.facts.flags.includes('dynamic-sql'));
  assert.deepEqual(decided("PREPARE s FROM 'DELETE FROM customers'"), ['PREPARE delete write prepare', 'PREPARE prepare', 'DELETE delete write']);
  assert.ok(one("PREPARE s FROM 'SELECT 1; DROP TABLE t'").facts.flags.includes('unparsable'));
  for (const sql of ['PREPARE s FROM @q', 'EXECUTE s', 'EXECUTE s USING @a, @b', "EXECUTE IMMEDIATE 'DROP TABLE t'", 'EXECUTE IMMEDIATE @q']) {
    const s = one(sql);
    assert.ok(s.facts.flags.includes('dynamic-sql'), sql);
    assert.ok(s.facts.kinds.includes('dynamic-sql'), sql);
  }
});

test('server files: LOAD DATA, INTO OUTFILE/DUMPFILE, LOAD_FILE(); LOCAL INFILE flagged', () => {
  assert.deepEqual(decided("LOAD DATA INFILE '/etc/passwd' INTO TABLE t"), [
    'LOAD DATA load-data insert write server-file-read server-file',
    'LOAD DATA load-data insert write',
    'LOAD DATA server-file-read server-file',
  ]);
  assert.ok(one("SELECT * FROM t INTO OUTFILE '/tmp/x'").facts.kinds.includes('server-file-write'));
  assert.ok(one("SELECT * FROM t INTO DUMPFILE '/tmp/x'").facts.kinds.includes('server-file-write'));
  assert.deepEqual(decided("SELECT load_file('/etc/passwd')"), ['SELECT select read server-file-read server-file', 'SELECT select read', 'FUNCTION server-file-read server-file']);
  const local = one("LOAD DATA LOCAL INFILE '/x' INTO TABLE t");
  assert.ok(local.facts.flags.includes('local-infile'));
  assert.ok(!local.facts.kinds.includes('server-file'));
});

test('nested commands are decided on their own: CREATE … SELECT, views, triggers, DO, EXPLAIN ANALYZE', () => {
  // node-sql-parser's MariaDB build rejects CREATE TABLE … SELECT; its MySQL build reads it.
  assert.deepEqual(decided('CREATE TABLE x SELECT * FROM secret', { dialect: 'mysql' }), ['CREATE TABLE create ddl write select read', 'CREATE TABLE create ddl write', 'SELECT select read']);
  assert.deepEqual(decided('EXPLAIN ANALYZE DELETE FROM t'), ['EXPLAIN explain delete write', 'EXPLAIN explain', 'DELETE delete write']);
  assert.deepEqual(decided('ANALYZE DELETE FROM t'), ['ANALYZE explain delete write', 'ANALYZE explain', 'DELETE delete write']);
  assert.deepEqual(decided('DO sleep(1)'), ['DO do procedural write select read sleep', 'DO do procedural write', 'SELECT select read sleep']);
  const trigger = one('CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = (SELECT 1 FROM secret)');
  assert.ok(trigger.facts.tables.some((t) => t.name === 'secret'));
  assert.ok(trigger.nested?.some((n) => n.operation === 'SET'));
  assert.deepEqual(one('SET @x = (SELECT a FROM secret)').facts.kinds, ['set', 'session', 'select', 'read']);
});

test('character set changes in every spelling', () => {
  const cases: [string, string][] = [
    ['SET NAMES gbk', 'gbk'],
    ["SET NAMES 'SJIS' COLLATE 'sjis_japanese_ci'", 'sjis'],
    ['SET NAMES DEFAULT', '?'],
    ['SET CHARACTER SET big5', 'big5'],
    ['SET CHARSET cp932', 'cp932'],
    ["SET character_set_client = 'gbk'", 'gbk'],
    ['SET SESSION character_set_client = gbk', 'gbk'],
    ["SET @@session.character_set_client = 'GBK'", 'gbk'],
    ["SET @@character_set_client = 'gbk'", 'gbk'],
    ["SET autocommit = 1, character_set_client = 'gbk'", 'gbk'],
    ['SET character_set_client = @saved', '?'],
    ['SET character_set_client = DEFAULT', '?'],
    ["SET STATEMENT character_set_client = 'gbk' FOR SELECT 1", 'gbk'],
    ["/*!40101 SET NAMES utf8mb4 */", 'utf8mb4'],
    // Not parsable: still reported, as unknown.
    ['SET NAMES gbk, @a = 1', '?'],
  ];
  for (const [sql, charset] of cases) assert.equal(one(sql).charset, charset, sql);
  assert.equal(one('SET @names = 1').charset, undefined);
  assert.equal(one('SELECT 1').charset, undefined);
  assert.equal(one("PREPARE s FROM 'SET NAMES gbk'").charset, 'gbk');
});

test('sql_mode changes in every spelling', () => {
  const cases: [string, string][] = [
    ["SET sql_mode = 'ansi_quotes'", 'ANSI_QUOTES'],
    ["SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'", 'NO_BACKSLASH_ESCAPES'],
    ["SET GLOBAL sql_mode = 'ANSI'", 'ANSI'],
    ["SET @@global.sql_mode = ''", ''],
    ["SET @@SQL_MODE = 'TRADITIONAL'", 'TRADITIONAL'],
    ['SET sql_mode = ANSI', 'ANSI'],
    ["SET sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')", '?'],
    ['SET sql_mode = @m', '?'],
    ["SET STATEMENT sql_mode = 'ANSI_QUOTES' FOR SELECT 1", 'ANSI_QUOTES'],
    ["/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */", 'NO_AUTO_VALUE_ON_ZERO'],
  ];
  for (const [sql, mode] of cases) assert.equal(one(sql).sqlMode, mode, sql);
  assert.equal(one('SELECT @@sql_mode').sqlMode, undefined);
});

test('KILL gives its target; prepared and multi-statement flags', () => {
  assert.deepEqual(one('KILL QUERY 42').kill, { scope: 'query', id: '42' });
  assert.deepEqual(one('KILL 42').kill, { scope: 'connection', id: '42' });
  assert.deepEqual(one('KILL CONNECTION 42').kill, { scope: 'connection', id: '42' });
  assert.ok(one('KILL QUERY @x').facts.flags.includes('unparsable'));
  assert.ok(one('SELECT c FROM sbtest1 WHERE id = ?', { prepared: true }).facts.flags.includes('prepared'));
});

test('literal-free query text, and the same inspection per shape', () => {
  const a = one('SELECT c FROM sbtest1 WHERE id=17');
  const b = one('SELECT c FROM sbtest1 WHERE id=18');
  assert.equal(a.queryText, 'SELECT c FROM sbtest1 WHERE id=?');
  assert.equal(b.facts.text, 'SELECT c FROM sbtest1 WHERE id=18');
  assert.equal(b.template ?? b, a.template ?? a);
  assert.ok(Object.isFrozen(b));
  // Per-target: another target's facts are not shared.
  assert.equal(inspectMysql('SELECT c FROM sbtest1 WHERE id=19', { ...opts, target: 'other' })[0]!.facts.target, 'other');
});

test('SET PASSWORD is account management, never a session setting', async () => {
  await initMysqlInspector();
  for (const q of ["SET PASSWORD = PASSWORD('x')", "set password = 'x'", "SET @a = 1, PASSWORD = PASSWORD('x')"]) {
    const [s] = inspectMysql(q, { target: 't', dialect: 'mariadb' });
    assert.ok(s!.facts.kinds.includes('dcl') && s!.facts.kinds.includes('write'), q);
    assert.ok(!s!.facts.kinds.includes('session') && !s!.facts.kinds.includes('set'), q);
    assert.equal(s!.facts.operation === 'SET PASSWORD' || s!.facts.kinds[0] === 'unparsable', true, q);
  }
});

test('INTO OUTFILE at the end of a UNION is a server file', async () => {
  await initMysqlInspector();
  for (const q of ["SELECT 1 UNION SELECT 2 INTO OUTFILE '/tmp/x'", "SELECT a FROM t UNION ALL SELECT b FROM u UNION SELECT c FROM v INTO DUMPFILE '/tmp/y'"]) {
    const [s] = inspectMysql(q, { target: 't', dialect: 'mariadb' });
    assert.ok(s!.facts.kinds.includes('server-file'), q);
    assert.ok(s!.facts.flags.includes('server-file'), q);
  }
});

test('plain SQL the MariaDB grammar rejects but MySQL\'s reads is read, not denied as unparsable', async () => {
  await initMysqlInspector();
  const [status] = inspectMysql('SELECT status FROM orders WHERE id = 1', { target: 't', dialect: 'mariadb' });
  assert.deepEqual([status!.facts.operation, status!.facts.kinds, status!.facts.tables], ['SELECT', ['select', 'read'], [{ name: 'orders' }]]);
  const [limited] = inspectMysql('DELETE FROM orders WHERE id = 1 LIMIT 1', { target: 't', dialect: 'mariadb' });
  assert.ok(limited!.facts.kinds.includes('delete'));
  const [garbled] = inspectMysql('SELEC 1', { target: 't', dialect: 'mariadb' });
  assert.deepEqual(garbled!.facts.kinds, ['unparsable'], 'neither grammar reads it');
});
