import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ASCII_UNSAFE_CHARSETS,
  CLIENT_REMEMBER_OPTIONS,
  CLIENT_SSL,
  charsetOfCollation,
  columnTypeName,
  hasFlag,
  MYSQL_TYPE_NEWDECIMAL,
} from './capabilities.js';

test('collation ids map to their character sets, MySQL and MariaDB alike', () => {
  const expected: Array<[number, string]> = [
    [45, 'utf8mb4'], [46, 'utf8mb4'], [224, 'utf8mb4'], [255, 'utf8mb4'], [309, 'utf8mb4'],
    [33, 'utf8mb3'], [83, 'utf8mb3'], [8, 'latin1'], [63, 'binary'], [11, 'ascii'],
    [28, 'gbk'], [13, 'sjis'], [1, 'big5'], [95, 'cp932'], [24, 'gb2312'], [248, 'gb18030'],
    [35, 'ucs2'], [54, 'utf16'],
    // MariaDB-only ids: utf8mb4_nopad_bin, and a 10.10+ uca1400 collation
    [1070, 'utf8mb4'], [2304, 'utf8mb4'],
  ];
  for (const [id, charset] of expected) assert.equal(charsetOfCollation(id), charset, `collation ${id}`);
  for (const id of [0, 17, 100, 254, 65535, -1]) assert.equal(charsetOfCollation(id), undefined, `collation ${id}`);
});

test('the multibyte character sets that can hide a backslash are flagged; utf8mb4 and latin1 are not', () => {
  for (const c of ['gbk', 'sjis', 'big5', 'cp932', 'gb18030']) assert.ok(ASCII_UNSAFE_CHARSETS.has(c), c);
  for (const c of ['utf8mb4', 'utf8mb3', 'latin1', 'ascii', 'binary']) assert.ok(!ASCII_UNSAFE_CHARSETS.has(c), c);
});

test('flags on bit 31 and type names', () => {
  const caps = (CLIENT_REMEMBER_OPTIONS | CLIENT_SSL) >>> 0;
  assert.ok(hasFlag(caps, CLIENT_REMEMBER_OPTIONS));
  assert.ok(hasFlag(caps, CLIENT_SSL));
  assert.ok(!hasFlag(caps, 1));
  assert.equal(columnTypeName(MYSQL_TYPE_NEWDECIMAL), 'NEWDECIMAL');
  assert.equal(columnTypeName(0x30), 'UNKNOWN(0x30)');
});
