// MySQL corpus, classes 4, 5 and 6: result-shape confusion (binary rows of prepared statements,
// cursors, multiple result sets, CALL of a procedure root made, views, aliases, expressions,
// UNION, user variables) and values echoed in errors and warnings (an XPATH error, a
// duplicate-key error, a strict-mode conversion error, SHOW WARNINGS, SIGNAL). Every byte sent
// to the client passes the masker while masking applies; a value the masker cannot read is
// withheld. The corpus's canary check is the main assertion here: each case runs a query that
// would return a canary (a masked column, in clear or hex/base64/reversed) if a channel leaked.
import assert from 'node:assert/strict';
import { corpus, corpusPolicy, describeReply, errorOf, CANARY } from './corpus.js';
import { COM } from '../../support/mysql-raw-client.js';

// The corpus policy plus CALL (so procedures root made can be called) and an approval rule for
// writes to notes_copy (so an approved write can fail on a duplicate key).
const c = corpus('masking', {
  policy: (env) =>
    corpusPolicy(env).replace(
      'rules:\n',
      `rules:
  - name: calls-allowed
    identities: [ci]
    when: { statements: [call] }
    action: allow
  - name: notes-copy-writes-need-approval
    identities: [ci]
    when: { statements: [insert], tables: [notes_copy] }
    action: approve
    approval: { approvers: [dba], timeout: 20s }
`,
    ),
});

const ROWS = 'SELECT id, name, email, card, nickname, notes FROM customers ORDER BY id';

// ───────────── result shapes ─────────────

c.case('text rows: every masked column and detector value comes back masked', async (t) => {
  const got = await t.once(ROWS);
  assert.equal(got.error, undefined, describeReply(got));
  assert.equal(got.results[0]!.rows.length, 3);
  assert.equal(got.results[0]!.rows[0]![1]!.toString(), 'Ada', 'unmasked columns intact');
});

c.case('binary rows (raw COM_STMT_EXECUTE): masked, ids intact', async (t) => {
  const r = await t.raw();
  const p = await r.prepare(`${ROWS.replace(' ORDER BY id', ' WHERE id > ? ORDER BY id')}`);
  const got = await r.execute(p.statementId, [0]);
  assert.equal(got.error, undefined, describeReply(got));
  assert.equal(got.results[0]!.binaryRows.length, 3);
});

c.case('binary rows (mysql2 execute): masked and still decodable', async (t) => {
  const conn = await t.mysql();
  const [rows] = await conn.execute(`${ROWS.replace(' ORDER BY id', ' WHERE id > ? ORDER BY id')}`, [0]);
  const list = rows as Array<Record<string, unknown>>;
  assert.equal(list.length, 3);
  assert.equal(list[0]!['name'], 'Ada');
  assert.equal(list[0]!['id'], 1);
});

c.case('a cursor (CURSOR_TYPE_READ_ONLY) then COM_STMT_FETCH: fetched binary rows are masked', async (t) => {
  const r = await t.raw();
  const p = await r.prepare(ROWS);
  const opened = await r.execute(p.statementId, [], { flags: 1 });
  assert.equal(opened.error, undefined, describeReply(opened));
  const body = Buffer.alloc(8);
  body.writeUInt32LE(p.statementId, 0);
  body.writeUInt32LE(100, 4);
  r.sendCommand(COM.STMT_FETCH, body);
  // Rows then EOF.
  for (;;) {
    const pkt = await r.next();
    if (pkt.payload[0] === 0xff) assert.fail(`fetch failed: ${errorOf({ code: pkt.payload.readUInt16LE(1), message: pkt.payload.subarray(9).toString() }).message}`);
    if (pkt.payload[0] === 0xfe && pkt.payload.length < 9) break;
  }
});

c.case('multiple result sets in one COM_QUERY: the second one is masked too', async (t) => {
  const got = await t.once('SELECT id FROM orders WHERE id = 1; SELECT email, card, nickname FROM customers ORDER BY id');
  assert.equal(got.error, undefined, describeReply(got));
  assert.equal(got.results.length, 2);
});

c.case('mysql2 multi-statement results are masked in every set', async (t) => {
  const conn = await t.mysql();
  const [sets] = await conn.query('SELECT 1 AS a; SELECT nickname, card FROM customers ORDER BY id; SELECT email FROM customers ORDER BY id');
  assert.equal((sets as unknown[]).length, 3);
});

c.case('CALL of a procedure root made, returning masked columns (text protocol)', async (t) => {
  const got = await t.once('CALL customer_contacts()');
  assert.equal(got.error, undefined, describeReply(got));
  assert.equal(got.results[0]!.rows.length, 3);
});

c.case('CALL of a procedure with two result sets: both masked', async (t) => {
  const got = await t.once('CALL two_results()');
  assert.equal(got.error, undefined, describeReply(got));
  assert.equal(got.results.length, 2);
});

c.case('CALL through a prepared statement (binary rows, PS multi-results): masked', async (t) => {
  const r = await t.raw();
  const p = await r.prepare('CALL customer_contacts()');
  assert.equal(p.error, undefined);
  const got = await r.execute(p.statementId);
  assert.equal(got.error, undefined, describeReply(got));
});

for (const [what, sql] of [
  ['aliases of masked columns', 'SELECT nickname AS n, email AS e, card AS k FROM customers c'],
  ['a derived table renaming a masked column', 'SELECT n FROM (SELECT nickname AS n FROM customers) AS d'],
  ['a view (own column names) over masked columns', 'SELECT nick, contact, card FROM customer_view'],
  ['a stored function reading a masked column', 'SELECT nickname_of(1) AS v, nickname_of(2) AS w'],
  ['HEX of a masked column', 'SELECT HEX(nickname) AS h, HEX(card) AS k FROM customers'],
  ['TO_BASE64 of a masked column', 'SELECT TO_BASE64(nickname) AS b FROM customers'],
  ['REVERSE of a card', 'SELECT REVERSE(card) AS r FROM customers'],
  ['CONCAT with an empty string', "SELECT CONCAT(nickname, '') AS n FROM customers"],
  ['UPPER of a masked column', 'SELECT UPPER(nickname) AS n FROM customers'],
  ['a UNION of a literal and a masked column', "SELECT 'x' AS v UNION SELECT nickname FROM customers"],
  ['GROUP_CONCAT of a masked column', 'SELECT GROUP_CONCAT(nickname) AS g FROM customers'],
  ['JSON_OBJECT of a masked column', "SELECT JSON_OBJECT('n', nickname, 'c', card) AS j FROM customers"],
  ['a CASE expression', 'SELECT CASE WHEN id > 0 THEN nickname END AS n FROM customers'],
  ['COALESCE', "SELECT COALESCE(nickname, 'none') AS n FROM customers"],
  ['a masked column compared character by character (blind read)', "SELECT id, SUBSTRING(nickname, 1, 30) AS s FROM customers"],
  ['a card cast to a number', 'SELECT CAST(card AS UNSIGNED) AS n FROM customers'],
] as const) {
  c.case(`text: ${what} is masked`, async (t) => {
    const got = await t.once(sql);
    if (got.error) assert.match(errorOf(got).message, /^sidegate/, describeReply(got));
  });
  c.case(`binary: ${what} is masked`, async (t) => {
    const r = await t.raw();
    const p = await r.prepare(sql);
    if (p.error) {
      assert.match(p.error.message, /^sidegate/);
      return;
    }
    const got = await r.execute(p.statementId);
    if (got.error) assert.match(errorOf(got).message, /^sidegate/, describeReply(got));
  });
}

c.case('mysql2 execute of a card cast to a number: withheld (detectors cannot read binary numbers)', async (t) => {
  const conn = await t.mysql();
  const [rows] = await conn.execute('SELECT id, CAST(card AS UNSIGNED) AS n FROM customers WHERE id = ?', [1]);
  const n = (rows as Array<{ n: unknown }>)[0]!.n;
  assert.notEqual(String(n), CANARY.cards[0]);
});

c.case('a masked value stored in a user variable is masked when read back (SET @x = subquery)', async (t) => {
  const r = await t.raw();
  const set = await r.query('SET @x = (SELECT nickname FROM customers WHERE id = 1), @y = (SELECT card FROM customers WHERE id = 1)');
  if (set.error) return; // refused: nothing stored
  const got = await r.query('SELECT @x AS x, @y AS y');
  if (got.error) assert.match(errorOf(got).message, /^sidegate/);
});

c.case('a masked value stored by SELECT … INTO @var is masked when read back', async (t) => {
  const r = await t.raw();
  const set = await r.query('SELECT nickname, card INTO @n, @k FROM customers WHERE id = 2');
  if (set.error) return;
  const got = await r.query("SELECT @n AS n, @k AS k, CONCAT(@n, '') AS m");
  if (got.error) assert.match(errorOf(got).message, /^sidegate/);
});

c.case('a masked value assigned with := inside a query is masked when read back', async (t) => {
  const r = await t.raw();
  await r.query('SELECT @z := nickname AS ignored FROM customers WHERE id = 1');
  const got = await r.query('SELECT @z AS z');
  if (got.error) assert.match(errorOf(got).message, /^sidegate/);
});

// ───────────── values echoed in errors and warnings ─────────────

c.case('an XPATH error echoing a masked column (UPDATEXML) does not show it', async (t) => {
  const got = await t.once("SELECT UPDATEXML(1, CONCAT('~', nickname), 1) FROM customers WHERE id = 1");
  assert.ok(got.error, describeReply(got));
  assert.equal(got.error.code, 1105);
});

c.case('an XPATH error echoing HEX of a card (no detector sees it) does not show it', async (t) => {
  const got = await t.once("SELECT EXTRACTVALUE(1, CONCAT('~', HEX(card))) FROM customers WHERE id = 1");
  assert.ok(got.error, describeReply(got));
});

c.case('an XPATH error in a prepared execute does not show the value, nor does its span', async (t) => {
  const r = await t.raw();
  const p = await r.prepare("SELECT UPDATEXML(1, CONCAT('~', nickname), 1) FROM customers WHERE id = ?");
  const got = await r.execute(p.statementId, [2]);
  assert.ok(got.error, describeReply(got));
  t.saw(await t.spans());
});

c.case('a duplicate-key error on an approved INSERT … SELECT does not echo the masked value', { approve: true }, async (t) => {
  const got = await t.once('INSERT INTO notes_copy (v) SELECT nickname FROM customers WHERE id = 1 UNION ALL SELECT nickname FROM customers WHERE id = 1');
  assert.ok(got.error, describeReply(got));
  assert.equal(got.error.code, 1062, describeReply(got));
});

c.case('a strict-mode conversion error on an approved INSERT does not echo the masked value', { approve: true }, async (t) => {
  const got = await t.once("INSERT INTO orders (id, customer_id, total, state) SELECT 200, 1, nickname, 'x' FROM customers WHERE id = 1");
  assert.ok(got.error, describeReply(got));
});

c.case('SHOW WARNINGS after a truncation warning on a masked column does not show it', async (t) => {
  const r = await t.raw();
  const warn = await r.query('SELECT nickname + 0 AS n FROM customers WHERE id = 1');
  assert.equal(warn.error, undefined, describeReply(warn));
  const got = await r.query('SHOW WARNINGS');
  if (!got.error) assert.ok(got.results[0]!.rows.length >= 1, 'the warning is listed (masked)');
});

c.case('SHOW WARNINGS in the same packet as a CAST of a masked column', async (t) => {
  await t.once('SELECT CAST(nickname AS DECIMAL(10,2)) AS n FROM customers; SHOW WARNINGS');
});

c.case('GET DIAGNOSTICS of a truncation warning into a variable does not reveal it', async (t) => {
  const r = await t.raw();
  await r.query('SELECT CAST(card AS DATE) AS d FROM customers WHERE id = 1');
  const d = await r.query('GET DIAGNOSTICS CONDITION 1 @m = MESSAGE_TEXT');
  if (!d.error) await r.query('SELECT @m AS m');
});

c.case('SIGNAL with a masked value as the message (procedure root made) is masked', async (t) => {
  const got = await t.once('CALL raise_nickname(1)');
  assert.ok(got.error, describeReply(got));
  assert.equal(got.error.code, 1644, describeReply(got));
});

c.case('mysql2: the XPATH error object carries no masked value', async (t) => {
  const conn = await t.mysql();
  await assert.rejects(conn.query("SELECT UPDATEXML(1, CONCAT('~', nickname), 1) FROM customers WHERE id = 2"));
});

c.case('the canaries never surface through any channel of one long session', async (t) => {
  const r = await t.raw();
  for (const sql of [
    ROWS,
    'SELECT * FROM customer_view',
    'CALL customer_contacts()',
    "SELECT UPDATEXML(1, CONCAT('~', email), 1) FROM customers WHERE id = 1",
    'SELECT nickname + 0 FROM customers',
    'SHOW WARNINGS',
    'SELECT value FROM secrets',
  ]) {
    await r.query(sql);
  }
});
