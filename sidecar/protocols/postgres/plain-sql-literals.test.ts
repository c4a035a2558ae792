import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initSqlInspector } from './sql-inspector.js';
import { replaceLiterals } from './sql-literals.js';
import { replacePlainLiterals } from './plain-sql-literals.js';

before(() => initSqlInspector());

test('plain statements: literals replaced exactly as the real scanner replaces them', () => {
  const cases = [
    'SELECT abalance FROM pgbench_accounts WHERE aid = 4711;',
    "UPDATE t1 SET name = 'it''s', n = 42 WHERE id IN (1, 2, 3)",
    "INSERT INTO x_2 VALUES (-7, 'a', '', 'b''')",
    'SELECT a.b, c1 FROM t AS a WHERE a.id=10 AND c1<>20',
    'BEGIN',
    '  SELECT 1 ;  ',
  ];
  for (const sql of cases) assert.equal(replacePlainLiterals(sql), replaceLiterals(sql), sql);
});

test('anything the plain lexer is not sure of goes to the real scanner', () => {
  for (const sql of [
    "SELECT E'a\\\\b'", "SELECT x'1F'", "SELECT U&'d'", "SELECT n'x'", 'SELECT 1.5', 'SELECT .5', 'SELECT 1e5', 'SELECT 0x1F', 'SELECT 1_000',
    'SELECT $1', 'SELECT $$a$$', 'SELECT "Quoted"', 'SELECT 1 -- c', 'SELECT /* c */ 1', "SELECT 'a'\n'b'", "SELECT 'open", 'SELECT data ? key', 'SELECT ü',
  ]) {
    assert.equal(replacePlainLiterals(sql), undefined, sql);
  }
});

/** Deterministic generator, so a failure can be replayed. */
function rng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
}

test('on every generated text it accepts, the plain lexer agrees with the real scanner', () => {
  const tokens = [
    'SELECT', 'FROM', 'WHERE', 't1', 'abc', '_x', 'a.b', 'x1y', '42', '0', '007', '1.5', '.5', '1e5', '0x1F', '1_000', '12abc', "'s'", "'it''s'", "''",
    "E'x'", "x'1F'", "U&'u'", "b'101'", "'a' 'b'", "'a'\n'b'", '=', '<>', '-', '+', '*', '/', '::', '(', ')', ',', ';', '?', '$1', '"Q"', '--c\n', '/*c*/',
    '\n', '\t', ' ', ' ', ' ', '.', '&', '%', '[', ']',
  ];
  const next = rng(3);
  let accepted = 0;
  for (let round = 0; round < 10000; round++) {
    const parts = Array.from({ length: 1 + Math.floor(next() * 12) }, () => tokens[Math.floor(next() * tokens.length)]!);
    const sql = parts.join(next() < 0.5 ? ' ' : '');
    const plain = replacePlainLiterals(sql);
    if (plain === undefined) continue;
    accepted++;
    assert.equal(plain, replaceLiterals(sql), JSON.stringify(sql));
  }
  assert.ok(accepted > 800, `enough texts were accepted to mean something (${accepted})`);
});
