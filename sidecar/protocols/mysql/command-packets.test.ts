import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from './capabilities.js';
import { encodeBinaryValue } from './binary-values.js';
import {
  commandName,
  commandOf,
  parameterText,
  parameterTypeText,
  parseComFieldList,
  parseComInitDb,
  parseComQuery,
  parseComSetOption,
  parseComStmtClose,
  parseComStmtExecute,
  parseComStmtFetch,
  parseComStmtPrepare,
  parseComStmtReset,
  parseComStmtSendLongData,
  serializeComQuery,
  serializeComQuit,
  serializeComStmtClose,
  serializeComStmtExecute,
} from './command-packets.js';
import { MalformedPacket } from './wire-reader.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const malformed = (re: RegExp) => (err: unknown) => err instanceof MalformedPacket && re.test(err.message);

// mysql2 3.25's Execute packet for statement 7 with
// [42, 'héllo', null, 2024-02-29T23:59:58.123Z, true, 1.5, Buffer ff00, 12345678901234567890n], header stripped.
const MYSQL2_EXECUTE = hex(
  '1707000000000100000004010500fd0006000c0001000500fc00fd0000000000000045400668c3a96c6c6f0be807021d173b3a78e0010001000000000000f83f02ff00143132333435363738393031323334353637383930',
);

test('command names', () => {
  assert.equal(commandName(T.COM_QUERY), 'COM_QUERY');
  assert.equal(commandName(T.COM_STMT_BULK_EXECUTE), 'COM_STMT_BULK_EXECUTE');
  assert.equal(commandName(0x42), 'COM_UNKNOWN(0x42)');
  assert.equal(commandOf(hex('0e')), T.COM_PING);
  assert.throws(() => commandOf(Buffer.alloc(0)), malformed(/empty command/));
});

test('COM_STMT_EXECUTE: an independent encoder (mysql2) parses into the values it sent, and re-serializes byte for byte', () => {
  const e = parseComStmtExecute(MYSQL2_EXECUTE, { paramCount: 8 });
  assert.equal(e.statementId, 7);
  assert.equal(e.cursorType, T.CURSOR_TYPE_NO_CURSOR);
  assert.equal(e.iterationCount, 1);
  assert.ok(e.newParamsBound);
  assert.deepEqual(e.parameters.map(parameterText), ['42', 'héllo', 'NULL', '2024-02-29 23:59:58.123000', '1', '1.5', "X'FF00'", '12345678901234567890']);
  assert.deepEqual(e.parameters.map(parameterTypeText), ['DOUBLE', 'VAR_STRING', 'NULL', 'DATETIME', 'TINY', 'DOUBLE', 'BLOB', 'VAR_STRING']);
  assert.deepEqual(serializeComStmtExecute(e), MYSQL2_EXECUTE);
});

test('COM_STMT_EXECUTE: rebinding, previous types, long data, cursors', () => {
  const types = [{ type: T.MYSQL_TYPE_LONG, unsigned: true }, { type: T.MYSQL_TYPE_BLOB, unsigned: false }];
  const again = serializeComStmtExecute({
    statementId: 3, flags: T.CURSOR_TYPE_READ_ONLY, iterationCount: 1, newParamsBound: false, types,
    parameters: [{ ...types[0]!, value: encodeBinaryValue(T.MYSQL_TYPE_LONG, true, 4000000000) }, { ...types[1]!, value: undefined }],
  });
  assert.throws(() => parseComStmtExecute(again, { paramCount: 2 }), malformed(/without parameter types, and none bound before/));
  const e = parseComStmtExecute(again, { paramCount: 2, previousTypes: types, longDataParameters: new Set([1]) });
  assert.equal(e.cursorType, T.CURSOR_TYPE_READ_ONLY);
  assert.ok(!e.newParamsBound);
  assert.deepEqual(e.parameters.map(parameterText), ['4000000000', '<sent as long data>']);
  assert.equal(parameterTypeText(e.parameters[0]!), 'LONG UNSIGNED');
  // without knowing parameter 2 came as long data, the packet cannot be read
  assert.throws(() => parseComStmtExecute(again, { paramCount: 2, previousTypes: types }), malformed(/BLOB value/));
  // no parameters: nothing after the iteration count
  assert.equal(parseComStmtExecute(hex('17 01000000 00 01000000'), { paramCount: 0 }).parameters.length, 0);
  assert.throws(() => parseComStmtExecute(hex('17 01000000 00 01000000 00'), { paramCount: 0 }), malformed(/trailing/));
});

test('COM_STMT_EXECUTE: malformed packets are refused, never misread', () => {
  assert.throws(() => parseComStmtExecute(MYSQL2_EXECUTE.subarray(0, 30), { paramCount: 8 }), MalformedPacket);
  assert.throws(() => parseComStmtExecute(MYSQL2_EXECUTE, { paramCount: 7 }), MalformedPacket);
  assert.throws(() => parseComStmtExecute(MYSQL2_EXECUTE, { paramCount: 9 }), MalformedPacket);
  assert.throws(() => parseComStmtExecute(hex('17 01000000 08 01000000'), { paramCount: 0 }), malformed(/query attributes/));
  const badType = Buffer.from(MYSQL2_EXECUTE);
  badType[12] = 0x42;
  assert.throws(() => parseComStmtExecute(badType, { paramCount: 8 }), malformed(/unsupported binary value type UNKNOWN\(0x42\)/));
  assert.throws(() => parseComStmtExecute(hex('03 73656c656374'), { paramCount: 0 }), malformed(/not a COM_STMT_EXECUTE/));
});

test('the other commands', () => {
  assert.equal(parseComQuery(serializeComQuery('SELECT 1')).query.toString(), 'SELECT 1');
  assert.deepEqual(serializeComQuery(Buffer.from([0xbf, 0x5c])), hex('03 bf 5c'));
  assert.equal(parseComInitDb(hex('02 64 62')).schema.toString(), 'db');
  const fl = parseComFieldList(hex('04 74 00 25'));
  assert.equal(fl.table.toString(), 't');
  assert.equal(fl.wildcard.toString(), '%');
  assert.throws(() => parseComFieldList(hex('04 74')), malformed(/table has no terminating NUL/));
  assert.equal(parseComStmtPrepare(hex('16 3f')).query.toString(), '?');
  assert.deepEqual(parseComStmtSendLongData(hex('18 05000000 0100 616263')), { statementId: 5, paramId: 1, data: Buffer.from('abc') });
  assert.deepEqual(parseComStmtFetch(hex('1c 05000000 64000000')), { statementId: 5, rows: 100 });
  assert.deepEqual(parseComStmtClose(serializeComStmtClose(0xffffffff)), { statementId: 0xffffffff });
  assert.deepEqual(parseComStmtReset(hex('1a 02000000')), { statementId: 2 });
  assert.throws(() => parseComStmtReset(hex('1a 0200')), malformed(/statement id needs 4/));
  assert.deepEqual(parseComSetOption(hex('1b 0100')), { option: T.MYSQL_OPTION_MULTI_STATEMENTS_OFF });
  assert.throws(() => parseComSetOption(hex('1b 01')), MalformedPacket);
  assert.deepEqual(serializeComQuit(), hex('01'));
});
