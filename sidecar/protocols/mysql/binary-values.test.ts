import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from './capabilities.js';
import { binaryLayout, binaryValueText, decodeBinaryValue, encodeBinaryValue, readBinaryValue, writeBinaryValue } from './binary-values.js';
import { MalformedPacket, PacketReader, PacketWriter } from './wire-reader.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('binary values: integers of every width, signed and unsigned, with their text', () => {
  const cases: Array<[number, boolean, string, number | bigint, string]> = [
    [T.MYSQL_TYPE_TINY, false, 'ff', -1, '-1'],
    [T.MYSQL_TYPE_TINY, true, 'ff', 255, '255'],
    [T.MYSQL_TYPE_SHORT, false, '0080', -32768, '-32768'],
    [T.MYSQL_TYPE_YEAR, true, 'e807', 2024, '2024'],
    [T.MYSQL_TYPE_INT24, false, 'ffffffff', -1, '-1'],
    [T.MYSQL_TYPE_LONG, true, 'ffffffff', 4294967295, '4294967295'],
    [T.MYSQL_TYPE_LONGLONG, false, 'ffffffffffffff7f', 9223372036854775807n, '9223372036854775807'],
    [T.MYSQL_TYPE_LONGLONG, true, 'ffffffffffffffff', 18446744073709551615n, '18446744073709551615'],
  ];
  for (const [type, unsigned, bytes, value, text] of cases) {
    assert.equal(decodeBinaryValue(type, unsigned, hex(bytes)), value, `${type} ${bytes}`);
    assert.equal(binaryValueText(type, unsigned, hex(bytes)), text);
    assert.equal(encodeBinaryValue(type, unsigned, value).toString('hex'), bytes);
  }
  assert.throws(() => encodeBinaryValue(T.MYSQL_TYPE_TINY, false, 200), RangeError);
  assert.throws(() => encodeBinaryValue(T.MYSQL_TYPE_LONG, true, -1), RangeError);
});

test('binary values: floats and doubles', () => {
  assert.equal(decodeBinaryValue(T.MYSQL_TYPE_DOUBLE, false, encodeBinaryValue(T.MYSQL_TYPE_DOUBLE, false, 3.141592653589793)), 3.141592653589793);
  assert.equal(binaryValueText(T.MYSQL_TYPE_FLOAT, false, encodeBinaryValue(T.MYSQL_TYPE_FLOAT, false, 1.1)), '1.1');
  assert.equal(binaryValueText(T.MYSQL_TYPE_DOUBLE, false, hex('000000000000f03f')), '1');
});

test('binary values: DATE/DATETIME/TIMESTAMP in lengths 0, 4, 7, 11 and TIME in 0, 8, 12', () => {
  const dates: Array<[number, string, string]> = [
    [T.MYSQL_TYPE_DATETIME, '', '0000-00-00 00:00:00'],
    [T.MYSQL_TYPE_DATE, 'e807 02 1d', '2024-02-29'],
    [T.MYSQL_TYPE_DATETIME, 'e807 02 1d', '2024-02-29 00:00:00'],
    [T.MYSQL_TYPE_TIMESTAMP, 'e807 02 1d 17 3b 3a', '2024-02-29 23:59:58'],
    [T.MYSQL_TYPE_DATETIME, 'e807 02 1d 17 3b 3a 40e20100', '2024-02-29 23:59:58.123456'],
    [T.MYSQL_TYPE_TIME, '', '00:00:00'],
    [T.MYSQL_TYPE_TIME, '01 22000000 16 3b 3b', '-838:59:59'],
    [T.MYSQL_TYPE_TIME, '00 01000000 02 03 04 0a000000', '26:03:04.000010'],
  ];
  for (const [type, bytes, text] of dates) {
    assert.equal(binaryValueText(type, false, hex(bytes)), text, text);
    // DATETIME with time 00:00:00 is written in its 4-byte form
    assert.equal(encodeBinaryValue(type, false, text).toString('hex'), hex(bytes).toString('hex'), text);
    const w = new PacketWriter();
    writeBinaryValue(w, type, hex(bytes));
    const r = new PacketReader(w.build());
    assert.deepEqual(readBinaryValue(r, type), hex(bytes));
    assert.ok(r.atEnd());
  }
  assert.throws(() => readBinaryValue(new PacketReader(hex('05 0102030405')), T.MYSQL_TYPE_DATETIME), (e: unknown) => e instanceof MalformedPacket && /invalid DATETIME value length 5/.test(e.message));
  assert.throws(() => readBinaryValue(new PacketReader(hex('07 01')), T.MYSQL_TYPE_TIME), MalformedPacket);
  assert.throws(() => readBinaryValue(new PacketReader(hex('0b 0102')), T.MYSQL_TYPE_DATETIME), (e: unknown) => e instanceof MalformedPacket && /needs 11 byte/.test(e.message));
  assert.throws(() => encodeBinaryValue(T.MYSQL_TYPE_DATE, false, 'yesterday'), RangeError);
});

test('binary values: length-encoded types keep their bytes; text shows UTF-8 or a hex literal', () => {
  for (const type of [T.MYSQL_TYPE_VAR_STRING, T.MYSQL_TYPE_STRING, T.MYSQL_TYPE_BLOB, T.MYSQL_TYPE_NEWDECIMAL, T.MYSQL_TYPE_JSON, T.MYSQL_TYPE_GEOMETRY, T.MYSQL_TYPE_ENUM, T.MYSQL_TYPE_BIT]) {
    assert.deepEqual(binaryLayout(type), { kind: 'lenenc' });
  }
  assert.equal(binaryValueText(T.MYSQL_TYPE_VAR_STRING, false, Buffer.from('Zoë')), 'Zoë');
  assert.equal(binaryValueText(T.MYSQL_TYPE_BLOB, false, hex('ff00')), "X'FF00'");
  assert.equal(binaryValueText(T.MYSQL_TYPE_BIT, false, hex('05')), "b'00000101'");
  assert.equal(binaryValueText(T.MYSQL_TYPE_NEWDECIMAL, false, Buffer.from('-12.50')), '-12.50');
  const r = new PacketReader(hex('03 616263 fc0001') );
  assert.equal(readBinaryValue(r, T.MYSQL_TYPE_VARCHAR).toString(), 'abc');
  assert.throws(() => readBinaryValue(r, T.MYSQL_TYPE_BLOB), (e: unknown) => e instanceof MalformedPacket && /BLOB value needs 256 byte/.test(e.message));
});

test('binary values: unknown types and wrong widths are refused', () => {
  assert.throws(() => binaryLayout(0x30), (e: unknown) => e instanceof MalformedPacket && /unsupported binary value type UNKNOWN\(0x30\)/.test(e.message));
  assert.throws(() => decodeBinaryValue(T.MYSQL_TYPE_LONG, false, hex('0102')), MalformedPacket);
  assert.throws(() => writeBinaryValue(new PacketWriter(), T.MYSQL_TYPE_LONGLONG, hex('01')), RangeError);
});
