import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sqlModeReadable } from './sql-mode-guard.js';

test('strictness and date modes may be set; the empty mode too', () => {
  for (const m of ['', 'STRICT_TRANS_TABLES', 'STRICT_ALL_TABLES,NO_ZERO_DATE', 'TRADITIONAL', 'ONLY_FULL_GROUP_BY, ERROR_FOR_DIVISION_BY_ZERO']) assert.equal(sqlModeReadable(m), true, m);
});

test('modes that change lexing, the combinations that include them, unknown names, numbers and expressions are refused', () => {
  for (const m of ['ANSI_QUOTES', 'NO_BACKSLASH_ESCAPES', 'ANSI', 'ORACLE', 'POSTGRESQL', 'MSSQL', 'DB2', 'MAXDB', 'STRICT_TRANS_TABLES,ANSI', 'SOMETHING_NEW', '4', '1048576', '0x100000', '?']) {
    assert.equal(sqlModeReadable(m), false, m);
  }
});
