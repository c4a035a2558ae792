// MySQL corpus, class 1 continued: sql_mode changes that change how the server cuts statements
// (NO_BACKSLASH_ESCAPES: `\` no longer escapes; ANSI_QUOTES, also set by the ANSI, ORACLE,
// POSTGRESQL, MSSQL, DB2 and MAXDB combination modes: `"…"` is a name, not a string), in every
// spelling, and backslash-escape smuggling in the default mode.
//
// The smuggles: `SELECT 'a\'; DELETE …; -- '` is one SELECT with backslash escapes and a SELECT
// and a DELETE without; `SELECT 1 AS "a\"; DELETE …; -- "` is one SELECT while `"` quotes a
// string and two statements while it quotes a name. A mode switch in the same packet as the
// smuggle takes effect on the server before sidegate could see any status flag, so it must be
// refused up front; in a packet of its own it is refused, or followed through the status flags.
import assert from 'node:assert/strict';
import { corpus, describeReply, errorOf, type CaseContext } from './corpus.js';
import type { Reply } from '../../support/mysql-raw-client.js';

const c = corpus('sql_mode');

const NBE_SMUGGLE = "SELECT 'a\\'; DELETE FROM customers WHERE id = 3; -- '";
const ANSI_SMUGGLE = 'SELECT 1 AS "a\\"; DELETE FROM customers WHERE id = 3; -- "';

// Each mode-switch case deletes an order of its own, so every case shows its own effect (a
// DELETE of orders that sidegate sees is held; one it does not see runs).
let nextOrder = 1;
const nbeSmuggle = (id: number) => `SELECT 'a\\'; DELETE FROM orders WHERE id = ${id}; -- '`;
const ansiSmuggle = (id: number) => `SELECT 1 AS "a\\"; DELETE FROM orders WHERE id = ${id}; -- "`;

/** A denial, or the connection ended by sidegate (a mode it follows by closing). */
function refusedOrClosed(got: Reply | string, what: string): void {
  if (typeof got === 'string') return; // the connection closed under us: nothing more ran on it
  assert.ok(got.error, `${what} was accepted: ${describeReply(got)}`);
  assert.match(errorOf(got).message, /^sidegate/, `${what}: ${describeReply(got)}`);
}

async function tryQuery(r: Awaited<ReturnType<CaseContext['raw']>>, sql: string): Promise<Reply | string> {
  try {
    return await r.query(sql);
  } catch (e) {
    return String(e);
  }
}

const NBE_SETS = [
  "SET sql_mode = 'NO_BACKSLASH_ESCAPES'",
  "SET sql_mode = 'no_backslash_escapes'",
  "SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES'",
  "SET @@session.sql_mode = 'NO_BACKSLASH_ESCAPES'",
  "SET @@sql_mode := 'NO_BACKSLASH_ESCAPES'",
  "SET LOCAL sql_mode = 'NO_BACKSLASH_ESCAPES'",
  "SET sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')",
  "SET sql_mode = CONCAT('NO_BACKSLASH', '_ESCAPES')",
  'SET sql_mode = 1048576',
  'SET sql_mode = 0x100000',
  "/*!40101 SET sql_mode = 'NO_BACKSLASH_ESCAPES' */",
  "SET @x = 1, sql_mode = 'NO_BACKSLASH_ESCAPES'",
];

const ANSI_SETS = [
  "SET sql_mode = 'ANSI_QUOTES'",
  "SET sql_mode = 'ANSI'",
  "SET sql_mode = 'ORACLE'",
  "SET sql_mode = 'POSTGRESQL'",
  "SET sql_mode = 'MSSQL'",
  "SET sql_mode = 'DB2'",
  "SET sql_mode = 'MAXDB'",
  'SET sql_mode = 4',
  'SET sql_mode = 262144',
  "SET @@session.sql_mode = 'oracle'",
];

for (const set of NBE_SETS) {
  const order = nextOrder++;
  c.case(`${JSON.stringify(set)} in the same packet as a backslash smuggle: the DELETE does not run`, async (t) => {
    const r = await t.raw();
    refusedOrClosed(await tryQuery(r, `${set}; ${nbeSmuggle(order)}`), 'the switch and the smuggle');
  });
  c.case(`${JSON.stringify(set)} alone, then a backslash smuggle: refused or read as the server reads it`, async (t) => {
    const r = await t.raw();
    const s = await tryQuery(r, set);
    const then = await tryQuery(r, nbeSmuggle(order));
    if (typeof s !== 'string' && !s.error) {
      // The mode took effect: sidegate must now see the DELETE the server sees.
      refusedOrClosed(then, 'the smuggle after an accepted mode switch');
    } else {
      refusedOrClosed(s, set);
    }
  });
}

for (const set of ANSI_SETS) {
  const order = nextOrder++;
  c.case(`${JSON.stringify(set)} in the same packet as a double-quote smuggle: the DELETE does not run`, async (t) => {
    const r = await t.raw();
    // sidegate ending the session after the SET's reply is too late: the server has the DELETE.
    t.expectDenied(await r.query(`${set}; ${ansiSmuggle(order)}`));
  });
  c.case(`${JSON.stringify(set)} alone, then a double-quote smuggle: refused or the session is ended`, async (t) => {
    const r = await t.raw();
    const s = await tryQuery(r, set);
    const then = await tryQuery(r, ansiSmuggle(order));
    if (typeof s !== 'string' && !s.error) refusedOrClosed(then, 'the smuggle after an accepted mode switch');
    else refusedOrClosed(s, set);
  });
}

c.case('SET STATEMENT sql_mode = NO_BACKSLASH_ESCAPES FOR a smuggle is refused', async (t) => {
  t.expectDenied(await t.once(`SET STATEMENT sql_mode = 'NO_BACKSLASH_ESCAPES' FOR ${NBE_SMUGGLE}`));
});

c.case('SET sql_mode = @saved (a variable) is refused', async (t) => {
  const r = await t.raw();
  assert.equal((await r.query("SET @saved = 'NO_BACKSLASH_ESCAPES'")).error, undefined);
  t.expectDenied(await r.query('SET sql_mode = @saved'), 'mysql-sql-mode');
  assert.equal((await r.query(NBE_SMUGGLE)).error, undefined);
});

c.case("PREPARE s FROM 'SET sql_mode = …' then EXECUTE s does not change the mode", async (t) => {
  const r = await t.raw();
  const prep = await r.query("PREPARE s FROM 'SET sql_mode = ''NO_BACKSLASH_ESCAPES'''");
  assert.ok(prep.error, describeReply(prep));
  assert.ok((await r.query('EXECUTE s')).error);
  const then = await r.query(NBE_SMUGGLE);
  assert.equal(then.error, undefined, describeReply(then));
});

c.case('mysql2 with multipleStatements: SET sql_mode = 1048576 and a smuggle in one call', async (t) => {
  const conn = await t.mysql();
  await assert.rejects(conn.query(`SET sql_mode = 1048576; ${NBE_SMUGGLE}`), (e: unknown) => {
    t.expectDenied(e);
    return true;
  });
});

c.case('SET GLOBAL sql_mode is refused (it would change every later session)', async (t) => {
  t.expectDenied(await t.once("SET GLOBAL sql_mode = 'NO_BACKSLASH_ESCAPES'"));
});

c.case("sql_mode = 'TRADITIONAL' (no lexing change) then the smuggle is one SELECT", async (t) => {
  const r = await t.raw();
  await r.query("SET sql_mode = 'TRADITIONAL'");
  const got = await r.query(NBE_SMUGGLE);
  assert.equal(got.error, undefined, describeReply(got));
  assert.equal(got.results.length, 1);
});

// ───────────── backslash smuggling in the default mode ─────────────

for (const [what, sql] of Object.entries({
  'an escaped backslash before the quote': "SELECT 'a\\\\'; DELETE FROM customers WHERE id = 3; -- '",
  'an escaped backslash in a double-quoted string': 'SELECT "a\\\\"; DELETE FROM customers WHERE id = 3; -- "',
  'a doubled quote': "SELECT 'a'''; DELETE FROM customers WHERE id = 3; -- '",
  'a backslash in a backquoted name (no escape there)': 'SELECT 1 AS `a\\`; DELETE FROM customers WHERE id = 3; -- `',
  'a backslash at the end of a user variable name': 'SELECT @`a\\`; DELETE FROM customers WHERE id = 3; -- `',
  'a _latin1 introducer': "SELECT _latin1'a\\\\'; DELETE FROM customers WHERE id = 3; -- '",
  'an N string': "SELECT N'a\\\\'; DELETE FROM customers WHERE id = 3; -- '",
  'adjacent strings': "SELECT 'a' 'b\\\\'; DELETE FROM customers WHERE id = 3; -- '",
  'a hex literal of a quote': "SELECT X'27'; DELETE FROM customers WHERE id = 3; -- '",
  'a backslash-zero before the quote': "SELECT 'a\\0'; DELETE FROM customers WHERE id = 3; -- '",
  'a string in a LIKE with ESCAPE': "SELECT 'a' LIKE 'b\\\\' ESCAPE '|'; DELETE FROM customers WHERE id = 3; -- '",
})) {
  c.case(`default mode, ${what}: the DELETE after it is seen and refused`, async (t) => {
    t.expectDenied(await t.once(sql));
  });
}

c.case('default mode: three backslashes keep the quote escaped, so it is one SELECT and runs', async (t) => {
  const got = await t.once("SELECT 'a\\\\\\'; DELETE FROM customers WHERE id = 3; -- '");
  assert.equal(got.error, undefined, describeReply(got));
  assert.equal(got.results.length, 1);
});
