import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MalformedPacket, PacketReader, PacketWriter, lenencInt, lenencString } from './wire-reader.js';

const malformed = (re: RegExp) => (err: unknown) => err instanceof MalformedPacket && re.test(err.message);

test('reader: fixed-width little-endian integers', () => {
  const r = new PacketReader(Buffer.from('0102030405060708090a0b0c0d0e0f1011121314', 'hex'));
  assert.equal(r.int1(), 0x01);
  assert.equal(r.int2(), 0x0302);
  assert.equal(r.int3(), 0x060504);
  assert.equal(r.int4(), 0x0a090807);
  assert.equal(r.int8(), 0x1211100f0e0d0c0bn);
  assert.equal(r.remaining, 2);
  assert.throws(() => r.int4('status flags'), malformed(/status flags needs 4 byte\(s\), 2 left/));
  // a failed read does not move the cursor
  assert.equal(r.int2(), 0x1413);
  assert.ok(r.atEnd());
});

test('length-encoded integers: every width, both directions, at the boundaries', () => {
  const cases: Array<[bigint, string]> = [
    [0n, '00'],
    [250n, 'fa'],
    [251n, 'fcfb00'],
    [0xffffn, 'fcffff'],
    [0x10000n, 'fd000001'],
    [0xffffffn, 'fdffffff'],
    [0x1000000n, 'fe0000000100000000'],
    [0xffffffffffffffffn, 'feffffffffffffffff'],
  ];
  for (const [value, hex] of cases) {
    assert.equal(lenencInt(value).toString('hex'), hex, `encode ${value}`);
    const r = new PacketReader(Buffer.from(hex, 'hex'));
    assert.equal(r.lenencBigInt(), value, `decode ${hex}`);
    assert.ok(r.atEnd());
  }
  assert.throws(() => new PacketReader(Buffer.from('feffffffffffffffff', 'hex')).lenencInt('affected rows'), malformed(/affected rows too large/));
  assert.throws(() => new PacketReader(Buffer.from('ff', 'hex')).lenencInt(), malformed(/prefix 0xff/));
  assert.throws(() => new PacketReader(Buffer.from('fb', 'hex')).lenencInt(), malformed(/prefix 0xfb/));
  assert.throws(() => new PacketReader(Buffer.from('fd0100', 'hex')).lenencInt(), malformed(/needs 3 byte/));
  assert.throws(() => lenencInt(-1), RangeError);
});

test('strings: length-encoded, NULL, NUL-terminated, fixed and rest', () => {
  const payload = Buffer.concat([lenencString('héllo'), Buffer.from([0xfb]), Buffer.from('root\0'), Buffer.from('abcdef')]);
  const r = new PacketReader(payload);
  assert.equal(r.lenencString(), 'héllo');
  assert.equal(r.lenencBytesOrNull(), null);
  assert.equal(r.nulString(), 'root');
  assert.equal(r.bytes(2).toString(), 'ab');
  assert.equal(r.rest().toString(), 'cdef');
  assert.ok(r.atEnd());
  assert.equal(r.rest().length, 0);
});

test('reader: overruns and missing terminators throw MalformedPacket naming the field', () => {
  assert.throws(() => new PacketReader(Buffer.from([5, 0x61, 0x62])).lenencString('column name'), malformed(/column name needs 5 byte\(s\), 2 left/));
  assert.throws(() => new PacketReader(Buffer.from('user')).nulString('user name'), malformed(/user name has no terminating NUL/));
  assert.throws(() => new PacketReader(Buffer.alloc(0)).int1('header'), malformed(/header needs 1/));
  assert.throws(() => new PacketReader(Buffer.alloc(3)).bytes(-1), malformed(/invalid length/));
  const r = new PacketReader(Buffer.from([1, 2]));
  r.int1();
  assert.throws(() => r.expectEnd('COM_STMT_CLOSE'), malformed(/COM_STMT_CLOSE: 1 unexpected trailing byte/));
});

test('writer: builds what the reader reads', () => {
  const payload = new PacketWriter()
    .int1(0x0a)
    .int2(0xbeef)
    .int3(0x123456)
    .int4(0xdeadbeef)
    .int8(-1n)
    .lenencInt(300)
    .lenencString('x'.repeat(300))
    .nulString('5.5.5-10.11')
    .zeros(3)
    .build();
  const r = new PacketReader(payload);
  assert.equal(r.int1(), 0x0a);
  assert.equal(r.int2(), 0xbeef);
  assert.equal(r.int3(), 0x123456);
  assert.equal(r.int4(), 0xdeadbeef);
  assert.equal(r.int8(), 0xffffffffffffffffn);
  assert.equal(r.lenencInt(), 300);
  assert.equal(r.lenencString(), 'x'.repeat(300));
  assert.equal(r.nulString(), '5.5.5-10.11');
  assert.deepEqual([...r.rest()], [0, 0, 0]);
  assert.throws(() => new PacketWriter().nulString('a\0b'), RangeError);
});
