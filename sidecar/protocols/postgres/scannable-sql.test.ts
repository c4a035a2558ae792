import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadModule, scanSync } from './sql-grammar.js';
import { scannableSql } from './scannable-sql.js';

before(() => loadModule());

test('every control character the scanner chokes on becomes a space, byte for byte', () => {
  for (let c = 1; c < 0x20; c++) {
    const ch = String.fromCharCode(c);
    const sql = `SELECT /* ${ch} */ 'a${ch}b', "i${ch}d" -- ${ch}\n`;
    const safe = scannableSql(sql);
    assert.equal(Buffer.byteLength(safe), Buffer.byteLength(sql), `0x${c.toString(16)}`);
    const tokens = scanSync(safe).tokens.map((t) => t.tokenName);
    assert.ok(tokens.includes('SCONST'), `0x${c.toString(16)}: ${tokens.join(' ')}`);
  }
});

test('text without such characters is returned as it is (same string)', () => {
  const sql = "SELECT 'é\t\r\n' /* ok */";
  assert.equal(scannableSql(sql), sql);
});

test('the scanner itself still fails on the raw text (the reason this exists)', () => {
  assert.throws(() => scanSync("SELECT /* \u0001 */ 'x'"));
});
