import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkClientEncoding, cleanEncodingName } from './client-encoding.js';

test('UTF8 under every alias PostgreSQL accepts, and SQL_ASCII', () => {
  for (const name of ['UTF8', 'utf8', 'UTF-8', 'utf-8', 'Unicode', 'UNICODE', ' utf_8 ', 'SQL_ASCII', 'sql-ascii']) {
    assert.deepEqual(checkClientEncoding(name), { ok: true }, name);
  }
});

test('encodings whose multibyte characters hold ASCII bytes are refused and named as such', () => {
  for (const [name, canonical] of [
    ['SJIS', 'SJIS'],
    ['Shift_JIS', 'SJIS'],
    ['mskanji', 'SJIS'],
    ['WIN932', 'SJIS'],
    ['SHIFT_JIS_2004', 'SHIFT_JIS_2004'],
    ['BIG5', 'BIG5'],
    ['GBK', 'GBK'],
    ['CP936', 'GBK'],
    ['UHC', 'UHC'],
    ['GB18030', 'GB18030'],
    ['JOHAB', 'JOHAB'],
  ] as const) {
    const v = checkClientEncoding(name);
    assert.equal(v.ok, false, name);
    if (!v.ok) {
      assert.match(v.message, /sidegate inspects statements in UTF8/);
      assert.match(v.message, /client_encoding=UTF8/);
      if (canonical) assert.match(v.message, new RegExp(`${canonical} multibyte characters can contain ASCII`), name);
    }
  }
});

test('other encodings are refused without the ASCII warning', () => {
  for (const name of ['LATIN1', 'WIN1252', 'EUC_JP', 'auto', '', 'KOI8R']) {
    const v = checkClientEncoding(name);
    assert.equal(v.ok, false, name);
    if (!v.ok) assert.doesNotMatch(v.message, /can contain ASCII/);
  }
});

test('cleanEncodingName keeps ASCII letters and digits, lower-cased', () => {
  assert.equal(cleanEncodingName('Shift_JIS-2004'), 'shiftjis2004');
  assert.equal(cleanEncodingName('UTF\u00e9-8'), 'utf8');
});
