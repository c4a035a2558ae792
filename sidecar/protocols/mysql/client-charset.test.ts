import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientCharsetNamed, clientCharsetOf } from './client-charset.js';

test('UTF-8, ASCII, latin1 and binary collations are accepted, decoded the way the server reads them', () => {
  assert.deepEqual(clientCharsetOf(45), { name: 'utf8mb4', allowed: true, decoding: 'utf8' });
  assert.equal(clientCharsetOf(224).name, 'utf8mb4');
  assert.equal(clientCharsetOf(255).name, 'utf8mb4', "MySQL 8's utf8mb4_0900_ai_ci");
  assert.equal(clientCharsetOf(33).name, 'utf8mb3');
  assert.equal(clientCharsetOf(8).decoding, 'latin1');
  assert.equal(clientCharsetOf(63).allowed, true);
});

test('character sets whose multibyte sequences can hide a quote or a backslash are refused, by id and by name', () => {
  for (const id of [28 /* gbk */, 13 /* sjis */, 1 /* big5 */, 95 /* cp932 */, 35 /* ucs2 */, 54 /* utf16 */]) {
    const cs = clientCharsetOf(id);
    assert.equal(cs.allowed, false, cs.name);
    assert.ok(cs.why);
  }
  assert.equal(clientCharsetOf(28).name, 'gbk');
  for (const name of ['gbk', 'GBK', 'sjis', 'big5', 'cp932', 'utf16', 'gb18030']) assert.equal(clientCharsetNamed(name).allowed, false, name);
  for (const name of ['utf8mb4', 'UTF8', 'utf8mb3', 'latin1', 'ascii', 'binary']) assert.equal(clientCharsetNamed(name).allowed, true, name);
  assert.equal(clientCharsetNamed('utf8').name, 'utf8mb3');
  assert.equal(clientCharsetOf(250).allowed, false, 'an unknown id is refused');
});
