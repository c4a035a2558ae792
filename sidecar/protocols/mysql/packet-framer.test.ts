import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_PHYSICAL_PAYLOAD, PacketFramer, PacketTooLarge, framePacket } from './packet-framer.js';
import { MalformedPacket } from './wire-reader.js';

function physical(seq: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUIntLE(payload.length, 0, 3);
  h[3] = seq;
  return Buffer.concat([h, payload]);
}

test('framer: several packets in one chunk, as views with their raw bytes', () => {
  const chunk = Buffer.concat([physical(0, Buffer.from('\x03select 1')), physical(1, Buffer.alloc(0)), physical(7, Buffer.from([0x0e]))]);
  const f = new PacketFramer({ maxPacketBytes: 1024 });
  const packets = f.push(chunk);
  assert.equal(packets.length, 3);
  assert.equal(packets[0]!.payload.toString('latin1'), '\x03select 1');
  assert.equal(packets[0]!.sequenceId, 0);
  assert.equal(packets[0]!.nextSequenceId, 1);
  assert.equal(packets[0]!.payload.buffer, chunk.buffer, 'no copy for a packet inside one chunk');
  assert.deepEqual(packets[0]!.raw, [chunk.subarray(0, 13)]);
  assert.equal(packets[1]!.payload.length, 0);
  assert.equal(packets[2]!.sequenceId, 7);
  assert.equal(f.buffered, 0);
});

test('framer: a packet split byte by byte, including its header', () => {
  const bytes = Buffer.concat([physical(255, Buffer.from('hello')), physical(3, Buffer.from('x'))]);
  const f = new PacketFramer({ maxPacketBytes: 1024 });
  const got = [];
  for (const b of bytes) got.push(...f.push(Buffer.from([b])));
  assert.deepEqual(got.map((p) => [p.sequenceId, p.nextSequenceId, p.payload.toString()]), [[255, 0, 'hello'], [3, 4, 'x']]);
  assert.equal(Buffer.concat(got[0]!.raw).toString('hex'), physical(255, Buffer.from('hello')).toString('hex'));
});

test('framer: continuation packets join into one payload; an exact multiple ends with an empty packet', () => {
  const big = Buffer.alloc(MAX_PHYSICAL_PAYLOAD, 0x61);
  const f = new PacketFramer({ maxPacketBytes: 64 * 1024 * 1024 });
  // exactly 0xFFFFFF: the trailing empty packet is what ends it
  assert.deepEqual(f.push(physical(0, big)), []);
  const [p] = f.push(physical(1, Buffer.alloc(0)));
  assert.equal(p!.payload.length, MAX_PHYSICAL_PAYLOAD);
  assert.equal(p!.sequenceId, 0);
  assert.equal(p!.nextSequenceId, 2);
  assert.equal(p!.raw.length, 2);
  // 0xFFFFFF + 3 bytes, arriving in chunks
  const stream = Buffer.concat([physical(5, big), physical(6, Buffer.from('xyz'))]);
  const out = [];
  for (let i = 0; i < stream.length; i += 1 << 20) out.push(...f.push(stream.subarray(i, i + (1 << 20))));
  assert.equal(out.length, 1);
  assert.equal(out[0]!.payload.length, MAX_PHYSICAL_PAYLOAD + 3);
  assert.equal(out[0]!.payload.subarray(-3).toString(), 'xyz');
  assert.equal(out[0]!.nextSequenceId, 7);
  assert.equal(Buffer.concat(out[0]!.raw).equals(stream), true);
});

test('framer: the size bound is enforced from the header, before the body arrives', () => {
  const f = new PacketFramer({ maxPacketBytes: 100 });
  const header = Buffer.from([101, 0, 0, 0]);
  assert.throws(() => f.push(header), (e: unknown) => e instanceof PacketTooLarge && e instanceof MalformedPacket && /101 bytes exceeds the 100-byte limit/.test(e.message));
  // a continuation: the first physical packet alone already exceeds the bound
  const g = new PacketFramer({ maxPacketBytes: 1024 });
  assert.throws(() => g.push(Buffer.from([0xff, 0xff, 0xff, 0])), PacketTooLarge);
  // exactly at the bound is fine
  const h = new PacketFramer({ maxPacketBytes: 5 });
  assert.equal(h.push(physical(0, Buffer.from('12345'))).length, 1);
});

test('framer: a continuation out of sequence is malformed', () => {
  const f = new PacketFramer({ maxPacketBytes: 64 * 1024 * 1024 });
  f.push(physical(0, Buffer.alloc(MAX_PHYSICAL_PAYLOAD)));
  assert.throws(() => f.push(physical(9, Buffer.from('x'))), (e: unknown) => e instanceof MalformedPacket && /expected 1, got 9/.test(e.message));
});

test('framer: takeBuffered hands over the bytes past the last packet', () => {
  const f = new PacketFramer({ maxPacketBytes: 1024 });
  const packets = f.push(Buffer.concat([physical(1, Buffer.alloc(32)), Buffer.from([0x16, 0x03, 0x01])]));
  assert.equal(packets.length, 1);
  assert.equal(f.buffered, 3);
  assert.deepEqual([...f.takeBuffered()], [0x16, 0x03, 0x01]);
  assert.equal(f.buffered, 0);
});

test('framePacket: small, split and exact-multiple payloads round-trip through the framer', () => {
  const small = framePacket(3, Buffer.from('abc'));
  assert.equal(small.bytes.toString('hex'), '03000003616263');
  assert.equal(small.nextSequenceId, 4);
  assert.equal(framePacket(255, Buffer.alloc(0)).nextSequenceId, 0);
  assert.throws(() => framePacket(256, Buffer.alloc(0)), RangeError);

  for (const size of [MAX_PHYSICAL_PAYLOAD - 1, MAX_PHYSICAL_PAYLOAD, MAX_PHYSICAL_PAYLOAD + 1, 2 * MAX_PHYSICAL_PAYLOAD]) {
    const payload = Buffer.alloc(size);
    payload.writeUInt32LE(size, 0);
    payload.writeUInt32LE(size, size - 4);
    const framed = framePacket(254, payload);
    const physicalCount = Math.floor(size / MAX_PHYSICAL_PAYLOAD) + 1;
    assert.equal(framed.bytes.length, size + 4 * physicalCount, `size ${size}`);
    assert.equal(framed.nextSequenceId, (254 + physicalCount) & 0xff);
    const f = new PacketFramer({ maxPacketBytes: 64 * 1024 * 1024 });
    const [p, ...more] = f.push(framed.bytes);
    assert.equal(more.length, 0);
    assert.equal(p!.payload.equals(payload), true, `size ${size}`);
    assert.equal(p!.nextSequenceId, framed.nextSequenceId);
  }
});
