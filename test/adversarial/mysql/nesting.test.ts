// MySQL corpus, classes 2, 9 and 10: nested and multi-statements (comments the server ends where
// a naive reader would not, CTEs, subqueries, INSERT … SELECT, CREATE TABLE … AS SELECT, views),
// executable comments (`/*! … */`, `/*!NNNNN … */`, `/*M! … */`: code to the server), and dynamic
// SQL (PREPARE … FROM, EXECUTE, EXECUTE IMMEDIATE).
// Design rules: a string is decided as the union of every statement the server will run in it,
// each decided as if alone; executable-comment content is code; dynamic SQL is not run on trust.
import assert from 'node:assert/strict';
import { corpus, describeReply, errorOf } from './corpus.js';
import { CLIENT, COM, DEFAULT_CAPABILITIES } from '../../support/mysql-raw-client.js';

const c = corpus('nesting');

// ───────────── multi-statements and comments ─────────────

for (const [what, sql, rule] of [
  ['a DROP after a SELECT', 'SELECT 1; DROP TABLE orders', 'no-ddl'],
  ['`--1` (minus minus one, not a comment) before a DROP', 'SELECT 1 --1; DROP TABLE orders', 'no-ddl'],
  ['`--` glued to a number then a DELETE', 'SELECT 1--1; DELETE FROM customers WHERE id = 3', undefined],
  ['a `#` comment ended by a newline', 'SELECT 1 # comment\n; DELETE FROM customers WHERE id = 3', undefined],
  ['a `-- ` comment ended by a newline', 'SELECT 1 -- comment\n; DELETE FROM customers WHERE id = 3', undefined],
  ['a `#` comment ended by CR LF', 'SELECT 1 # comment\r\n; DELETE FROM customers WHERE id = 3', undefined],
  ['a block comment that does not nest', 'SELECT 1 /* /* */ ; DELETE FROM customers WHERE id = 3; -- */', undefined],
  ['a DELETE glued to a comment', 'SELECT 1/**/;/**/DELETE/**/FROM/**/customers/**/WHERE/**/id=3', undefined],
  ['lower case and no spaces', 'select 1;delete from customers where id=3', undefined],
  ['a third statement after two SELECTs', 'SELECT 1; SELECT 2; DELETE FROM customers WHERE id = 3', undefined],
  ['a DELETE after an empty statement', 'SELECT 1;; DELETE FROM customers WHERE id = 3', undefined],
  ['a statement after a semicolon inside a name', 'SELECT 1 AS `;`; DELETE FROM customers WHERE id = 3', undefined],
  ['`--` then a non-breaking space (not whitespace to the server)', 'SELECT 1 --\u00a0t.n FROM (SELECT 1 AS n) \u00a0t; DELETE FROM customers WHERE id = 3', undefined],
  ['`--` then a vertical tab (whitespace to the server)', 'SELECT 1 --\u000b\n; DELETE FROM customers WHERE id = 3', undefined],
  ['a DELETE after a string holding a comment opener', "SELECT '/*'; DELETE FROM customers WHERE id = 3; SELECT '*/'", undefined],
] as const) {
  c.case(`multi-statement: ${what} is refused as a whole`, async (t) => {
    t.expectDenied(await t.once(sql), rule);
  });
}

c.case('mysql2 multipleStatements: SELECT then DROP is refused, the connection stays usable', async (t) => {
  const conn = await t.mysql();
  await assert.rejects(conn.query('SELECT 1 AS a; DROP TABLE orders'), (e: unknown) => {
    t.expectDenied(e, 'no-ddl');
    return true;
  });
  const [rows] = await conn.query('SELECT COUNT(*) AS n FROM orders');
  assert.equal(Number((rows as Array<{ n: number }>)[0]!.n), 40);
});

c.case('a client without CLIENT_MULTI_STATEMENTS: SELECT; DELETE is still decided as two statements', async (t) => {
  const r = await t.raw({ capabilities: DEFAULT_CAPABILITIES & ~CLIENT.MULTI_STATEMENTS });
  const got = await r.query('SELECT 1; DELETE FROM customers WHERE id = 3');
  assert.ok(got.error, describeReply(got));
});

c.case('COM_SET_OPTION turns multi-statements on mid-session: SELECT; DELETE is refused', async (t) => {
  const r = await t.raw({ capabilities: DEFAULT_CAPABILITIES & ~CLIENT.MULTI_STATEMENTS });
  const on = await r.simple(COM.SET_OPTION, Buffer.from([0, 0]));
  assert.equal(on.error, undefined, describeReply(on));
  t.expectDenied(await r.query('SELECT 1; DELETE FROM customers WHERE id = 3'));
});

c.case('a NUL byte inside the statement does not end what sidegate reads', async (t) => {
  const got = await t.once(Buffer.from('SELECT 1 \0; DELETE FROM customers WHERE id = 3', 'latin1'));
  assert.ok(got.error, describeReply(got));
});

// ───────────── nesting ─────────────

for (const [what, sql, rule] of [
  ['a CTE over secrets', 'WITH x AS (SELECT value FROM secrets) SELECT * FROM x', 'no-secrets'],
  ['a recursive CTE that joins secrets', 'WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT s.value FROM r JOIN secrets s ON s.id = r.n', 'no-secrets'],
  ['a CTE three levels deep over secrets', 'WITH a AS (WITH b AS (WITH c AS (SELECT value FROM secrets) SELECT * FROM c) SELECT * FROM b) SELECT * FROM a', 'no-secrets'],
  ['a scalar subquery over secrets', 'SELECT (SELECT value FROM secrets WHERE id = 1) AS v', 'no-secrets'],
  ['an IN subquery over secrets', 'SELECT id FROM orders WHERE id IN (SELECT id FROM secrets)', 'no-secrets'],
  ['a derived table over secrets', 'SELECT * FROM (SELECT value FROM secrets) AS s', 'no-secrets'],
  ['secrets qualified by its database', 'SELECT value FROM `DBNAME`.secrets', 'no-secrets'],
  ['secrets in backquotes', 'SELECT value FROM `secrets`', 'no-secrets'],
  ['secrets in a UNION', "SELECT name FROM orders WHERE 1 = 0 UNION SELECT value FROM secrets", 'no-secrets'],
  ['secrets in an EXISTS', 'SELECT 1 FROM orders WHERE EXISTS (SELECT 1 FROM secrets WHERE value LIKE "C%")', 'no-secrets'],
  ['secrets in a JOIN … USING', 'SELECT * FROM orders JOIN secrets USING (id)', 'no-secrets'],
  ['EXPLAIN of a SELECT over secrets', 'EXPLAIN SELECT * FROM secrets', 'no-secrets'],
  ['ANALYZE (MariaDB: runs the statement) of a DELETE', 'ANALYZE DELETE FROM customers WHERE id = 3', undefined],
  ['ANALYZE FORMAT=JSON (runs the statement) of a DELETE', 'ANALYZE FORMAT=JSON DELETE FROM customers WHERE id = 3', undefined],
  ['DO with a subquery over secrets', 'DO (SELECT value FROM secrets LIMIT 1)', undefined],
  ['CREATE TABLE … AS SELECT from a masked table', 'CREATE TABLE leak AS SELECT email, card, nickname FROM customers', undefined],
  ['CREATE TEMPORARY TABLE … SELECT from a masked table', 'CREATE TEMPORARY TABLE leak SELECT email, nickname FROM customers', undefined],
  ['CREATE VIEW over masked columns', 'CREATE VIEW leak AS SELECT email, nickname FROM customers', 'no-ddl'],
  ['CREATE OR REPLACE VIEW over secrets', 'CREATE OR REPLACE VIEW customer_view AS SELECT value AS nick FROM secrets', undefined],
  ['INSERT … SELECT from a masked table into a table no rule lets anyone write', 'INSERT INTO notes_copy (v) SELECT nickname FROM customers', undefined],
  ['REPLACE … SELECT from secrets', 'REPLACE INTO notes_copy (v) SELECT value FROM secrets', undefined],
  ['UPDATE of customers with a subquery', "UPDATE customers SET name = (SELECT 'x') WHERE id = 3", undefined],
  ['SELECT … FOR UPDATE over secrets', 'SELECT * FROM secrets FOR UPDATE', 'no-secrets'],
  ['a trigger (DDL with a body)', 'CREATE TRIGGER t BEFORE INSERT ON orders FOR EACH ROW DELETE FROM customers', undefined],
  ['an event (DDL with a body)', 'CREATE EVENT e ON SCHEDULE AT CURRENT_TIMESTAMP DO DELETE FROM customers', undefined],
  ['a procedure (compound body)', 'CREATE PROCEDURE p() BEGIN DELETE FROM customers; END', undefined],
  ['HANDLER on secrets', 'HANDLER secrets OPEN', undefined],
  ['RENAME TABLE of a masked table', 'RENAME TABLE customers TO customers_plain', undefined],
  ['ALTER TABLE on a masked column', 'ALTER TABLE customers CHANGE nickname nick varchar(100)', 'no-ddl'],
  ['GRANT to the target login', 'GRANT ALL ON *.* TO sidegate_native', undefined],
  // The target login's own password, unchanged if it runs (the checksum still sees the change
  // time): a real new one would lock every session out of the shared test server.
  ['SET PASSWORD', "SET PASSWORD = PASSWORD('native-Target-Pw-3c81f0')", undefined],
  ['ALTER USER of the target login', "ALTER USER CURRENT_USER() IDENTIFIED BY 'native-Target-Pw-3c81f0'", undefined],
  ['LOCK TABLES then a DELETE', 'LOCK TABLES customers WRITE; DELETE FROM customers WHERE id = 3', undefined],
] as const) {
  c.case(`nested: ${what} is refused`, async (t) => {
    t.expectDenied(await t.once(sql.replace('DBNAME', t.database)), rule);
  });
}

c.case('INSERT … SELECT from a masked table into orders is held; the approver denies; nothing ran', async (t) => {
  const got = await t.once('INSERT INTO orders (id, customer_id, total, state) SELECT 100 + id, id, 0, nickname FROM customers');
  t.expectHeld(got);
  assert.match(t.approvals[0]!.command, /SELECT 100 \+ id, id, 0, nickname FROM customers/);
});

c.case('a multi-table DELETE from customers joined with orders is held (orders rule) or denied, never run', async (t) => {
  // A rule's tables match any table a statement names: joining orders turns the default denial
  // of a customers DELETE into the orders approval rule. The approver sees the DELETE's text.
  const got = await t.once('DELETE customers FROM customers JOIN orders ON orders.customer_id = customers.id WHERE orders.id = 1');
  if (t.approvals.length > 0) t.expectHeld(got);
  else t.expectDenied(got);
});

c.case('a SELECT holding a DELETE in a string is one SELECT, allowed, and runs as one', async (t) => {
  const got = await t.once("SELECT 'x; DELETE FROM customers WHERE id = 3' AS s");
  assert.equal(got.error, undefined, describeReply(got));
  assert.equal(got.results.length, 1);
});

// ───────────── executable comments ─────────────

for (const [what, sql, rule] of [
  ['`/*! DROP … */` alone', '/*! DROP TABLE orders */', 'no-ddl'],
  ['`/*!50000 DROP … */`', '/*!50000 DROP TABLE orders */', 'no-ddl'],
  ['`/*!00000 DELETE … */`', '/*!00000 DELETE FROM customers WHERE id = 3 */', undefined],
  ['`/*! ; DROP … */` after a SELECT', 'SELECT 1 /*! ; DROP TABLE orders */', 'no-ddl'],
  ['`/*M! DELETE … */`', '/*M! DELETE FROM customers WHERE id = 3 */', undefined],
  ['`/*M!100000 DROP … */`', '/*M!100000 DROP TABLE orders */', 'no-ddl'],
  ['`/*M!999999 DELETE … */` (above the server version)', '/*M!999999 DELETE FROM customers WHERE id = 3 */', undefined],
  ['`/*!99999 DELETE … */` (above the server version)', '/*!99999 DELETE FROM customers WHERE id = 3 */', undefined],
  ['a table name inside an executable comment', 'SELECT value FROM /*! secrets */', 'no-secrets'],
  ['a JOIN hidden in an executable comment', 'SELECT o.id FROM orders o /*!50000 JOIN secrets s ON s.id = o.id */', 'no-secrets'],
  ["a string spanning the skipped comment's end", "/*!99999 '*/ ; DELETE FROM customers WHERE id = 3; -- ' */", undefined],
  ['a `#` comment spanning its end', 'SELECT 1 /*! # */ ; DELETE FROM customers WHERE id = 3', undefined],
  ['a nested comment inside', 'SELECT 1 /*! /* */ ; DELETE FROM customers WHERE id = 3 */', undefined],
  ['an executable comment opening inside a SELECT list', 'SELECT 1 /*!, (SELECT value FROM secrets LIMIT 1) */', 'no-secrets'],
  ['`/*!` directly followed by a keyword', '/*!DELETE FROM customers WHERE id = 3*/', undefined],
  ['an executable comment with a four-digit version', '/*!5000 DELETE FROM customers WHERE id = 3 */', undefined],
] as const) {
  c.case(`executable comment: ${what} is refused`, async (t) => {
    const got = await t.once(sql);
    // Either sidegate refuses it, or (for forms the server itself rejects) nothing ran; the
    // checksum says which. The decision must be sidegate's for the forms the server runs.
    t.expectDenied(got, rule);
  });
}

c.case('lower case `/*m!` is a plain comment to MariaDB and to sidegate: nothing runs', async (t) => {
  const got = await t.once('/*m! DELETE FROM customers WHERE id = 3 */');
  if (got.error) assert.match(errorOf(got).message, /^sidegate|empty/i, describeReply(got));
  else assert.equal(got.oks[0]?.affectedRows ?? 0, 0, describeReply(got));
});

c.case('an optimizer-hint comment holding a DELETE is a comment to MariaDB: one SELECT', async (t) => {
  const got = await t.once('SELECT /*+ ; DELETE FROM customers WHERE id = 3 */ 1 AS one');
  if (got.error) assert.match(errorOf(got).message, /^sidegate/);
  else assert.equal(got.results.length, 1);
});

// ───────────── dynamic SQL ─────────────

for (const [what, sql, rule] of [
  ["PREPARE s FROM 'DELETE …'", "PREPARE s FROM 'DELETE FROM customers WHERE id = 3'", undefined],
  ["PREPARE s FROM 'SELECT … FROM secrets'", "PREPARE s FROM 'SELECT value FROM secrets'", 'no-secrets'],
  ["PREPARE s FROM a DELETE written with doubled quotes", "PREPARE s FROM 'DELETE FROM customers WHERE name = ''Cy'''", undefined],
  ["PREPARE s FROM a DELETE written with backslash escapes", "PREPARE s FROM 'DELETE FROM customers WHERE name = \\'Cy\\''", undefined],
  ['PREPARE s FROM @q (a variable)', 'PREPARE s FROM @q', undefined],
  ['SET @q then PREPARE then EXECUTE in one packet', "SET @q = 'DELETE FROM customers WHERE id = 3'; PREPARE s FROM @q; EXECUTE s", undefined],
  ['SET @q built by CONCAT then PREPARE', "SET @q = CONCAT('DELETE FROM ', 'customers WHERE id = 3'); PREPARE s FROM @q; EXECUTE s", undefined],
  ['EXECUTE IMMEDIATE of a DELETE', "EXECUTE IMMEDIATE 'DELETE FROM customers WHERE id = 3'", undefined],
  ['EXECUTE IMMEDIATE of CONCAT', "EXECUTE IMMEDIATE CONCAT('DELETE FROM customers', ' WHERE id = 3')", undefined],
  ['EXECUTE IMMEDIATE of a variable', 'EXECUTE IMMEDIATE @q', undefined],
  ['EXECUTE IMMEDIATE of a SELECT over secrets', "EXECUTE IMMEDIATE 'SELECT value FROM secrets'", undefined],
  ['EXECUTE IMMEDIATE with a hex string', "EXECUTE IMMEDIATE X'44454C4554452046524F4D20637573746F6D657273'", undefined],
  ['PREPARE from a hex string', "PREPARE s FROM 0x44454C4554452046524F4D20637573746F6D657273", undefined],
  ['EXECUTE of a statement never prepared', 'EXECUTE s', undefined],
  ['EXECUTE … USING', 'EXECUTE s USING @a', undefined],
] as const) {
  c.case(`dynamic SQL: ${what} is refused`, async (t) => {
    t.expectDenied(await t.once(sql), rule);
  });
}

c.case('dynamic SQL over two packets: SET @q, then PREPARE s FROM @q and EXECUTE s are refused', async (t) => {
  const r = await t.raw();
  assert.equal((await r.query("SET @q = 'DELETE FROM customers WHERE id = 3'")).error, undefined);
  t.expectDenied(await r.query('PREPARE s FROM @q'));
  t.expectDenied(await r.query('EXECUTE s'));
});

c.case("an allowed PREPARE s FROM 'SELECT 1' cannot be swapped for a DELETE under the same name", async (t) => {
  const r = await t.raw();
  const first = await r.query("PREPARE s FROM 'SELECT 1'");
  // Whether the harmless PREPARE is allowed is policy; what matters is what EXECUTE s runs later.
  const swap = await r.query("SET @q = 'DELETE FROM customers WHERE id = 3'; PREPARE s FROM @q");
  assert.ok(swap.error || swap.oks.length < 2, describeReply(swap));
  const exec = await r.query('EXECUTE s');
  if (!first.error && !exec.error) assert.equal(exec.results.length, 1, describeReply(exec));
});
