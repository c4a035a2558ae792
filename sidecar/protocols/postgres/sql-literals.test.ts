import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadModule } from './sql-grammar.js';
import { replaceLiterals } from './sql-literals.js';

before(() => loadModule());

const CASES: [string, string][] = [
  ['SELECT a FROM t', 'SELECT a FROM t'],
  ["SELECT * FROM t WHERE a = 'x' AND b = 42 AND c = 1.5", 'SELECT * FROM t WHERE a = ? AND b = ? AND c = ?'],
  ["SELECT 'it''s'", 'SELECT ?'],
  ["SELECT E'it\\'s \\n'", 'SELECT ?'],
  ["SELECT $$dollar 'q' ; $$", 'SELECT ?'],
  ["SELECT $tag$ $$ nested $$ $tag$", 'SELECT ?'],
  ["SELECT B'101', X'ff', U&'d\\0061t'", 'SELECT ?, ?, ?'],
  ['SELECT 1e10, .5, 0x1F, 0o17, 0b101, 1_000_000', 'SELECT ?, ?, ?, ?, ?, ?'],
  ['SELECT -3, - 2.5', 'SELECT -?, - ?'],
  ['SELECT $1, $2 FROM t WHERE a = $3', 'SELECT $1, $2 FROM t WHERE a = $3'],
  ["ALTER ROLE app PASSWORD 'hunter2'", 'ALTER ROLE app PASSWORD ?'],
  ["CREATE USER u WITH PASSWORD 'SCRAM-SHA-256$4096:abc'", 'CREATE USER u WITH PASSWORD ?'],
  ["INSERT INTO customers (email) VALUES ('ada@example.com')", 'INSERT INTO customers (email) VALUES (?)'],
  // Identifiers are not literals, even when quoted.
  ['SELECT "secret column" FROM "T"', 'SELECT "secret column" FROM "T"'],
  // Comments and layout stay verbatim.
  ["SELECT /* c */ 'x' -- tail\n, 2", 'SELECT /* c */ ? -- tail\n, ?'],
  // Type-cast literals: the value goes, the type stays.
  ["SELECT DATE '2024-01-01', '{1,2}'::int[]", 'SELECT DATE ?, ?::int[]'],
];

test('literals are replaced by ? and everything else is kept', () => {
  for (const [sql, expected] of CASES) assert.equal(replaceLiterals(sql), expected, sql);
});

test('multi-byte text before, inside and after a literal (scanner offsets are bytes)', () => {
  assert.equal(replaceLiterals("SELECT 'é' || 'ada@example.com', $1"), 'SELECT ? || ?, $1');
  assert.equal(replaceLiterals("SELECT \"é😀\", 'x' FROM t WHERE a = 'ü😀ß'"), 'SELECT "é😀", ? FROM t WHERE a = ?');
  assert.equal(replaceLiterals("/* 😀😀 */ SELECT 'a', \"ñ\" = 5"), '/* 😀😀 */ SELECT ?, "ñ" = ?');
  assert.equal(replaceLiterals('SELECT "日本語" FROM t'), 'SELECT "日本語" FROM t');
});

test('text the scanner rejects becomes ? rather than leaking the raw text', () => {
  assert.equal(replaceLiterals("SELECT 'unterminated secret"), '?');
  assert.equal(replaceLiterals('SELECT $$never closed'), '?');
  assert.equal(replaceLiterals('SELECT /* open comment'), '?');
});

test('empty text stays empty', () => {
  assert.equal(replaceLiterals(''), '');
});

test('a control character in a comment or a literal does not collapse the text to ?', () => {
  assert.equal(replaceLiterals("DELETE FROM orders /* \u0001 */ WHERE status <> 'x'"), "DELETE FROM orders /* \u0001 */ WHERE status <> ?");
  assert.equal(replaceLiterals("DELETE FROM orders -- \u001b[2J\nWHERE status <> 'x'"), 'DELETE FROM orders -- \u001b[2J\nWHERE status <> ?');
  assert.equal(replaceLiterals("SELECT 'ada\u0002@example.com', \"c\u0003l\" FROM t"), 'SELECT ?, "c\u0003l" FROM t');
  // Two strings apart by a control character: both still replaced (never exported).
  assert.doesNotMatch(replaceLiterals("SELECT 'sec'\n\u0001'ret'"), /sec|ret/);
});

test('text that cannot be scanned at all is still ? (unterminated literal)', () => {
  assert.equal(replaceLiterals("SELECT 'never ends \u0001"), '?');
});
