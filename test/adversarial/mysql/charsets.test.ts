// MySQL corpus, class 1: character sets whose multibyte sequences contain `\` or `'` (gbk, sjis,
// big5, cp932), however the client asks for them (SET NAMES and its spellings, the handshake
// collation id), and invalid UTF-8 in what a client sends.
//
// The smuggle: in those character sets 0xBF5C / 0x955C / 0xA55C is one character, so the server
// sees `'<char>'` close the literal and a DELETE after it, while a reader in latin1 or UTF-8 sees
// an escaped quote and one long string. Each case first tries to switch the character set, then
// sends the smuggle; the checksum shows whether the DELETE ran. Connections log in as latin1
// (collation 8) where that matters: sidegate reads latin1 byte for byte, so the smuggle is not
// refused as invalid UTF-8 and only the refused switch protects the table.
import assert from 'node:assert/strict';
import { corpus, describeReply, errorOf, type CaseContext } from './corpus.js';
import type { Reply } from '../../support/mysql-raw-client.js';

const c = corpus('charsets');

const LATIN1 = 8;

/** The lead byte that, followed by 0x5C, is one character in each charset. */
const LEAD: Record<string, number> = { gbk: 0xbf, sjis: 0x95, big5: 0xa5, cp932: 0x95 };

function smuggle(lead: number): Buffer {
  return Buffer.concat([Buffer.from("SELECT id FROM orders WHERE state = '", 'latin1'), Buffer.from([lead, 0x5c]), Buffer.from("'; DELETE FROM customers WHERE id = 3; -- '", 'latin1')]);
}

/** The smuggle after the switch: whatever comes back, the switch must not have taken effect. */
async function switchThenSmuggle(t: CaseContext, set: string, lead: number): Promise<{ set: Reply; then: Reply }> {
  const r = await t.raw({ collation: LATIN1 });
  const first = await r.query(set);
  const then = await r.query(smuggle(lead));
  return { set: first, then };
}

for (const [charset, lead] of Object.entries(LEAD)) {
  for (const set of [`SET NAMES ${charset}`, `SET NAMES '${charset}'`, `SET CHARACTER SET ${charset}`, `SET CHARSET ${charset}`, `SET character_set_client = ${charset}`]) {
    c.case(`${set} is refused (mysql-charset) and the ${charset} smuggle after it stays one SELECT`, async (t) => {
      const { set: s, then } = await switchThenSmuggle(t, set, lead);
      t.expectDenied(s, 'mysql-charset');
      assert.equal(then.error, undefined, describeReply(then));
      assert.equal(then.results.length, 1, describeReply(then));
    });
  }
  c.case(`SET NAMES ${charset} in the same packet as the ${charset} smuggle refuses the whole string`, async (t) => {
    const r = await t.raw({ collation: LATIN1 });
    t.expectDenied(await r.query(Buffer.concat([Buffer.from(`SET NAMES ${charset}; `), smuggle(lead)])), 'mysql-charset');
  });
}

for (const set of [
  "SET SESSION character_set_client = 'cp932'",
  'SET @@character_set_client = gbk',
  'SET @@session.character_set_client = sjis',
  'SET @@local.character_set_client = big5',
  'SET character_set_client := gbk',
  'SET NAMES gbk COLLATE gbk_bin',
  "SET NAMES _latin1'sjis'",
  'SET character_set_client = 28',
  'SET character_set_client = DEFAULT',
  "SET character_set_client = CONCAT('g', 'bk')",
  'SET @a = 1, character_set_client = gbk',
  'SET autocommit = 1, NAMES gbk',
  'SET sql_select_limit = 10, CHARACTER SET gbk',
  '/*!40101 SET NAMES gbk */',
  '/*!40101 SET character_set_client = gbk */',
  '/*M!100100 SET NAMES gbk */',
  'set names GBK',
  'SET\tNAMES\ngbk',
  'SET /* x */ NAMES /* y */ gbk',
]) {
  c.case(`${JSON.stringify(set)} is refused and the gbk smuggle after it does not run a DELETE`, async (t) => {
    const { set: s, then } = await switchThenSmuggle(t, set, LEAD['gbk']!);
    t.expectDenied(s, 'mysql-charset');
    assert.equal(then.error, undefined, describeReply(then));
  });
}

c.case('SET character_set_client = @v (a variable the client set to gbk) is refused', async (t) => {
  const r = await t.raw({ collation: LATIN1 });
  assert.equal((await r.query("SET @v = 'gbk'")).error, undefined);
  t.expectDenied(await r.query('SET character_set_client = @v'), 'mysql-charset');
  assert.equal((await r.query(smuggle(LEAD['gbk']!))).error, undefined);
});

c.case("PREPARE s FROM 'SET NAMES sjis' then EXECUTE s: refused, the smuggle stays one SELECT", async (t) => {
  const r = await t.raw({ collation: LATIN1 });
  const prep = await r.query("PREPARE s FROM 'SET NAMES sjis'");
  assert.ok(prep.error, 'PREPARE of a charset switch must not be accepted');
  const exec = await r.query('EXECUTE s');
  assert.ok(exec.error, describeReply(exec));
  assert.equal((await r.query(smuggle(LEAD['sjis']!))).error, undefined);
});

c.case('EXECUTE IMMEDIATE of SET NAMES big5 is refused', async (t) => {
  const r = await t.raw({ collation: LATIN1 });
  const got = await r.query("EXECUTE IMMEDIATE 'SET NAMES big5'");
  t.expectDenied(got);
  assert.equal((await r.query(smuggle(LEAD['big5']!))).error, undefined);
});

c.case('SET STATEMENT character_set_client = gbk FOR the smuggle is refused', async (t) => {
  const r = await t.raw({ collation: LATIN1 });
  t.expectDenied(await r.query(Buffer.concat([Buffer.from('SET STATEMENT character_set_client = gbk FOR '), smuggle(LEAD['gbk']!)])));
});

c.case('the same smuggle on a latin1 connection that never switched is one SELECT (both readings agree)', async (t) => {
  const r = await t.raw({ collation: LATIN1 });
  const got = await r.query(smuggle(LEAD['gbk']!));
  assert.equal(got.error, undefined, describeReply(got));
  assert.equal(got.results.length, 1);
});

c.case('SET NAMES utf8mb4 and latin1 stay allowed (character sets sidegate reads as the server does)', async (t) => {
  const r = await t.raw();
  for (const set of ['SET NAMES utf8mb4', 'SET NAMES latin1', 'SET character_set_client = utf8mb4', 'SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci']) {
    const got = await r.query(set);
    assert.equal(got.error, undefined, `${set}: ${describeReply(got)}`);
  }
});

// ───────────── the handshake collation id ─────────────

const REFUSED_COLLATIONS: Record<number, string> = {
  1: 'big5_chinese_ci',
  84: 'big5_bin',
  13: 'sjis_japanese_ci',
  88: 'sjis_bin',
  28: 'gbk_chinese_ci',
  87: 'gbk_bin',
  95: 'cp932_japanese_ci',
  96: 'cp932_bin',
  24: 'gb2312_chinese_ci',
  35: 'ucs2_general_ci',
  54: 'utf16_general_ci',
  60: 'utf32_general_ci',
  0: '(none)',
  250: '(unassigned)',
};

for (const [id, name] of Object.entries(REFUSED_COLLATIONS)) {
  c.case(`handshake collation ${id} (${name}) is refused at login; nothing reaches the target`, async (t) => {
    const conn = await t.connect();
    const got = await conn.login({ password: await t.token(), collation: Number(id), database: t.database });
    if (!('code' in got)) {
      // Accepted: go on as the attacker would, so the failure shows what got through.
      const then = await conn.query(smuggle(0xbf)).catch((e: unknown) => String(e));
      assert.fail(`collation ${id} was accepted; the smuggle then got ${typeof then === 'string' ? then : describeReply(then)}`);
    }
    assert.match(got.message, /^sidegate: /);
    assert.equal(got.code, 1115, JSON.stringify(got));
    await conn.untilClosed(5000);
  });
}

c.case('handshake collations of utf8mb4, latin1 and binary log in', async (t) => {
  for (const id of [45, 224, 255, 8, 63]) {
    const r = await t.raw({ collation: id });
    const got = await r.query('SELECT 1');
    assert.equal(got.error, undefined, `collation ${id}: ${describeReply(got)}`);
    r.end();
  }
});

// ───────────── invalid UTF-8 ─────────────

const INVALID: Record<string, Buffer> = {
  'a lone continuation byte before a quote (0xBF 0x5C)': smuggle(0xbf),
  'a lead byte swallowing nothing (0xC0 0x27)': Buffer.concat([Buffer.from("SELECT id FROM orders WHERE state = '"), Buffer.from([0xc0, 0x27]), Buffer.from("; DELETE FROM customers WHERE id = 3; -- '")]),
  "an overlong quote (0xC0 0xA7, `'` in two bytes)": Buffer.concat([Buffer.from("SELECT id FROM orders WHERE state = '"), Buffer.from([0xc0, 0xa7]), Buffer.from("; DELETE FROM customers WHERE id = 3; -- '")]),
  'an encoded surrogate (0xED 0xA0 0x80)': Buffer.concat([Buffer.from("SELECT '"), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from("'; DELETE FROM customers WHERE id = 3")]),
  'a five-byte sequence (0xF8…)': Buffer.concat([Buffer.from("SELECT '"), Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]), Buffer.from("'")]),
  'a truncated sequence at the end (0xE2 0x82)': Buffer.concat([Buffer.from("SELECT 'x' AS "), Buffer.from([0xe2, 0x82])]),
  'a truncated sequence before a backslash (0xE2 0x5C)': Buffer.concat([Buffer.from("SELECT 'a"), Buffer.from([0xe2, 0x5c]), Buffer.from("'; DELETE FROM customers WHERE id = 3; -- '")]),
};

for (const [what, bytes] of Object.entries(INVALID)) {
  c.case(`COM_QUERY with ${what} on a utf8mb4 connection is refused (1300), nothing runs`, async (t) => {
    const r = await t.raw();
    t.expectRefused(await r.query(bytes), 1300);
    // The connection stays usable.
    assert.equal((await r.query('SELECT 1')).error, undefined);
  });
}

c.case('COM_STMT_PREPARE with invalid UTF-8 is refused (1300)', async (t) => {
  const r = await t.raw();
  const got = await r.prepare(smuggle(0xbf));
  assert.ok(got.error, 'prepared');
  t.expectRefused(got.error, 1300);
});

c.case('valid four-byte UTF-8 passes and comes back as sent', async (t) => {
  const r = await t.raw();
  const got = await r.query("SELECT '\u{1F600}' AS e");
  assert.equal(got.error, undefined, describeReply(got));
  assert.equal(got.results[0]!.rows[0]![0]!.toString('utf8'), '\u{1F600}');
});

c.case('a `_gbk` introducer does not change how the literal is cut (utf8mb4 connection)', async (t) => {
  const r = await t.raw();
  const got = await r.query(Buffer.concat([Buffer.from("SELECT _gbk'"), Buffer.from([0xbf, 0x5c]), Buffer.from("'; DELETE FROM customers WHERE id = 3; -- '")]));
  assert.ok(got.error, describeReply(got));
  assert.match(errorOf(got).message, /^sidegate/);
});
