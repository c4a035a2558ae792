import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModule, parseSync } from './sql-grammar.js';
import { settingIndependentSql } from './sql-string-mode.js';

await loadModule();

const rewritten = (sql: string) => {
  const r = settingIndependentSql(sql);
  assert.equal(r.kind, 'rewritten', `expected a rewrite of ${sql}`);
  return (r as { sql: string }).sql;
};

/** The parse tree without locations: what the statement means to a server with the setting on. */
const meaning = (sql: string) => JSON.stringify(parseSync(sql), (k, v) => (k === 'location' || k === 'stmt_len' || k === 'stmt_location' ? undefined : v));

test('text without a backslash, or with backslashes only where both settings read them alike, is left alone', () => {
  for (const sql of [
    'SELECT 1',
    "SELECT 'it''s', $$a$$",
    "SELECT E'a\\nb', E'\\\\'",
    'SELECT $$C:\\temp$$, $q$\\$q$',
    "SELECT U&'\\0041'",
    'SELECT 1 -- a comment with \\ in it',
    'SELECT "odd\\name" FROM t',
  ]) {
    assert.deepEqual(settingIndependentSql(sql), { kind: 'unchanged' }, sql);
  }
});

test('a plain literal holding a backslash is forwarded as E\'\' with doubled backslashes, meaning the same', () => {
  const cases: [string, string][] = [
    ["SELECT 'C:\\temp'", "SELECT E'C:\\\\temp'"],
    ["SELECT 'x\\''; DROP TABLE t; --'", "SELECT E'x\\\\''; DROP TABLE t; --'"],
    ["SELECT 'a' || '\\d+' FROM t WHERE c ~ '^\\w'", "SELECT 'a' || E'\\\\d+' FROM t WHERE c ~ E'^\\\\w'"],
    ["SELECT 'ü\\é', E'\\t'", "SELECT E'ü\\\\é', E'\\t'"],
    ["SELECT 'p'\n'q\\r'", "SELECT E'p'\n'q\\\\r'"],
    ["SELECT 'a\\'::text, 'b'", "SELECT E'a\\\\'::text, 'b'"],
    ["PREPARE p AS SELECT $1 || '\\'", "PREPARE p AS SELECT $1 || E'\\\\'"],
    ["SELECT text'a\\b', bin'\\'", "SELECT text E'a\\\\b', bin E'\\\\'"],
  ];
  for (const [sql, expected] of cases) {
    const out = rewritten(sql);
    assert.equal(out, expected);
    assert.equal(meaning(out), meaning(sql), `${sql} → ${out} changed meaning`);
  }
});

test('the rewritten text reads the same with either setting: no backslash is left that is not doubled', () => {
  // Under standard_conforming_strings = off the server reads '' in E'' and '' alike; what changes
  // is only backslash handling, and an E'' literal handles backslashes the same way in both modes.
  const sql = "SELECT 'x\\''; DROP TABLE t; --'";
  const out = rewritten(sql);
  const literal = out.slice(out.indexOf("E'"));
  assert.match(literal, /^E'x\\\\''; DROP TABLE t; --'$/);
  assert.equal(meaning(out), meaning(sql));
  assert.equal((parseSync(out) as { stmts: unknown[] }).stmts.length, 1, 'still one statement');
});

test("N'' literals with a backslash are refused; without one they pass untouched", () => {
  const r = settingIndependentSql("SELECT N'a\\b'");
  assert.equal(r.kind, 'refused');
  assert.match((r as { reason: string }).reason, /N'…' string literal/);
  assert.deepEqual(settingIndependentSql("SELECT N'ab', '\\'")['kind'], 'rewritten');
  assert.deepEqual(settingIndependentSql("SELECT n'ab'"), { kind: 'unchanged' });
});

test('text the scanner cannot read is left to the policy (unparsable)', () => {
  assert.deepEqual(settingIndependentSql("SELECT 'unterminated \\"), { kind: 'unchanged' });
});

test('a control character elsewhere in the text does not skip the rewrite', () => {
  // Were such text left unscanned, the backslash literal would go out as it is and, with the
  // setting off, close early, making the rest a second statement.
  const sql = "SELECT 'x\\'' /* \u0001 */; DROP TABLE t; --'";
  assert.equal(rewritten(sql), "SELECT E'x\\\\'' /* \u0001 */; DROP TABLE t; --'");
});
