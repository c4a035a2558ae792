import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from './capabilities.js';
import { binaryValueText, encodeBinaryValue } from './binary-values.js';
import {
  isUnsignedColumn,
  parseBinaryRow,
  parseColumnCount,
  parseColumnDefinition41,
  parseStmtPrepareOk,
  parseTextRow,
  serializeBinaryRow,
  serializeColumnCount,
  serializeColumnDefinition41,
  serializeStmtPrepareOk,
  serializeTextRow,
  type ColumnDefinition41,
} from './result-packets.js';
import { MalformedPacket } from './wire-reader.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const malformed = (re: RegExp) => (err: unknown) => err instanceof MalformedPacket && re.test(err.message);

test('column count: plain and with a metadata-follows byte', () => {
  assert.deepEqual(parseColumnCount(hex('03')), { count: 3, metadataFollows: true });
  assert.deepEqual(parseColumnCount(hex('fc 2c 01 00'), { metadataFollowsFlag: true }), { count: 300, metadataFollows: false });
  assert.deepEqual(serializeColumnCount(300), hex('fc 2c 01'));
  assert.throws(() => parseColumnCount(hex('00')), malformed(/no columns/));
  assert.throws(() => parseColumnCount(hex('03 01')), malformed(/trailing/));
});

// The protocol documentation's example (SELECT @@version_comment), header stripped.
const DOC_COLUMN = hex('03 64 65 66 00 00 00 11 40 40 76 65 72 73 69 6f 6e 5f 63 6f 6d 6d 65 6e 74 00 0c 08 00 1c 00 00 00 fd 00 00 1f 00 00');

test('ColumnDefinition41: the documentation example and an aliased UTF-8 column round-trip', () => {
  const c = parseColumnDefinition41(DOC_COLUMN);
  assert.equal(c.catalog, 'def');
  assert.equal(c.name, '@@version_comment');
  assert.equal(c.characterSet, 8);
  assert.equal(c.columnLength, 28);
  assert.equal(c.type, T.MYSQL_TYPE_VAR_STRING);
  assert.equal(c.decimals, 0x1f);
  assert.deepEqual(serializeColumnDefinition41(c), DOC_COLUMN);

  const aliased: ColumnDefinition41 = {
    catalog: 'def', schema: 'sidegate_test', table: 'c', orgTable: 'customers', name: 'mail', orgName: 'émail',
    characterSet: 45, columnLength: 1020, type: T.MYSQL_TYPE_VAR_STRING, flags: T.NOT_NULL_FLAG, decimals: 0,
  };
  assert.deepEqual(parseColumnDefinition41(serializeColumnDefinition41(aliased)), aliased);
  const withExt = { ...aliased, extendedMetadata: hex('00 04 6a 73 6f 6e') };
  assert.deepEqual(parseColumnDefinition41(serializeColumnDefinition41(withExt), { extendedMetadata: true }), withExt);
  const fieldList = { ...aliased, defaultValue: Buffer.from('x') };
  assert.deepEqual(parseColumnDefinition41(serializeColumnDefinition41(fieldList)), fieldList);
  assert.deepEqual(parseColumnDefinition41(serializeColumnDefinition41({ ...aliased, defaultValue: null })).defaultValue, null);
});

test('ColumnDefinition41: truncated and inconsistent definitions throw', () => {
  assert.throws(() => parseColumnDefinition41(DOC_COLUMN.subarray(0, 20)), malformed(/name needs 17 byte/));
  assert.throws(() => parseColumnDefinition41(DOC_COLUMN.subarray(0, DOC_COLUMN.length - 5)), malformed(/fixed fields needs 12 byte/));
  const short = Buffer.from(DOC_COLUMN);
  short[DOC_COLUMN.indexOf(0x0c)] = 0x04;
  assert.throws(() => parseColumnDefinition41(short), malformed(/fixed fields too short: 4/));
});

test('text rows: values and NULLs; a count mismatch is malformed', () => {
  const row = hex('01 31 fb 00 03 61 62 63');
  assert.deepEqual(parseTextRow(row, 4), [Buffer.from('1'), null, Buffer.alloc(0), Buffer.from('abc')]);
  assert.deepEqual(serializeTextRow(parseTextRow(row, 4)), row);
  assert.throws(() => parseTextRow(row, 3), malformed(/trailing/));
  assert.throws(() => parseTextRow(row, 5), malformed(/column 5 value/));
  assert.throws(() => parseTextRow(hex('05 61'), 1), malformed(/column 1 value needs 5/));
});

test('binary rows: NULL bitmap with offset 2, every layout, round trip', () => {
  const columns = [
    { type: T.MYSQL_TYPE_LONGLONG, flags: T.UNSIGNED_FLAG },
    { type: T.MYSQL_TYPE_VAR_STRING, flags: 0 },
    { type: T.MYSQL_TYPE_NULL, flags: 0 },
    { type: T.MYSQL_TYPE_DATETIME, flags: 0 },
    { type: T.MYSQL_TYPE_TIME, flags: 0 },
    { type: T.MYSQL_TYPE_DOUBLE, flags: 0 },
    { type: T.MYSQL_TYPE_TINY, flags: 0 },
  ];
  const values = [
    encodeBinaryValue(T.MYSQL_TYPE_LONGLONG, true, 42n),
    Buffer.from('alice@example.com'),
    null,
    encodeBinaryValue(T.MYSQL_TYPE_DATETIME, false, '2024-01-02 03:04:05.000006'),
    null,
    encodeBinaryValue(T.MYSQL_TYPE_DOUBLE, false, 2.5),
    encodeBinaryValue(T.MYSQL_TYPE_TINY, false, -3),
  ];
  const bytes = serializeBinaryRow(columns, values);
  // header, 2-byte bitmap ((7 + 7 + 2) >> 3): column 3 → bit 4, column 5 → bit 6
  assert.equal(bytes[0], 0);
  assert.equal(bytes[1], 0b0101_0000);
  assert.equal(bytes[2], 0);
  const back = parseBinaryRow(bytes, columns);
  assert.deepEqual(back, values);
  assert.equal(binaryValueText(columns[3]!.type, false, back[3]!), '2024-01-02 03:04:05.000006');
  assert.equal(binaryValueText(columns[0]!.type, isUnsignedColumn(columns[0]!), back[0]!), '42');
  assert.throws(() => parseBinaryRow(bytes.subarray(0, bytes.length - 1), columns), malformed(/TINY value needs 1/));
  assert.throws(() => parseBinaryRow(Buffer.concat([bytes, hex('00')]), columns), malformed(/trailing/));
  assert.throws(() => parseBinaryRow(hex('fe 00 00'), columns), malformed(/does not start with 0x00/));
  assert.throws(() => parseBinaryRow(hex('00 00 00 01 02'), [{ type: 0x42, flags: 0 }]), malformed(/unsupported binary value type/));
  // the 9th column's bit (8 + 2 = 10) is bit 2 of the second byte
  const nine = Array.from({ length: 9 }, () => ({ type: T.MYSQL_TYPE_TINY, flags: 0 }));
  const nulls = serializeBinaryRow(nine, [...Array(8).fill(Buffer.from([1])), null]);
  assert.deepEqual([...nulls.subarray(1, 3)], [0, 0b0000_0100]);
  assert.equal(parseBinaryRow(nulls, nine)[8], null);
});

test('COM_STMT_PREPARE OK: 12 bytes, optionally a metadata flag', () => {
  const doc = hex('00 01 00 00 00 01 00 02 00 00 00 00');
  assert.deepEqual(parseStmtPrepareOk(doc), { statementId: 1, columnCount: 1, paramCount: 2, warnings: 0, metadataFollows: undefined });
  assert.deepEqual(serializeStmtPrepareOk(parseStmtPrepareOk(doc)), doc);
  assert.equal(parseStmtPrepareOk(Buffer.concat([doc, hex('01')])).metadataFollows, true);
  assert.throws(() => parseStmtPrepareOk(doc.subarray(0, 6)), malformed(/column count/));
  assert.throws(() => parseStmtPrepareOk(hex('ff 00 00')), malformed(/not a COM_STMT_PREPARE OK/));
});
