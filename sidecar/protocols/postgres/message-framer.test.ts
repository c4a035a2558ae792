import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BodyReader,
  MessageBuilder,
  MessageFramer,
  ProtocolError,
  readStartupPacket,
  type Frame,
} from './message-framer.js';

function msg(code: string, body: string | Buffer): Buffer {
  return new MessageBuilder(code.charCodeAt(0)).bytes(Buffer.isBuffer(body) ? body : Buffer.from(body)).build();
}

function drain(f: MessageFramer): Frame[] {
  return [...f];
}

const isProtocolError = (code: string) => (err: unknown) => err instanceof ProtocolError && err.code === code;

test('framer: several messages in one chunk are views into that chunk', () => {
  const chunk = Buffer.concat([msg('Q', 'select 1\0'), msg('S', ''), msg('X', '')]);
  const f = new MessageFramer();
  f.push(chunk);
  const frames = drain(f);
  assert.deepEqual(
    frames.map((x) => String.fromCharCode(x.code)),
    ['Q', 'S', 'X'],
  );
  assert.equal(frames[0]!.body.toString(), 'select 1\0');
  assert.equal(frames[0]!.length, 13);
  assert.equal(frames[0]!.raw.length, 14);
  // zero-copy: the frame shares memory with the pushed chunk
  assert.equal(frames[0]!.raw.buffer, chunk.buffer);
  assert.equal(frames[1]!.body.length, 0);
  assert.equal(f.buffered, 0);
});

test('framer: takeRun hands over consecutive messages of one type as one view, stopping where it must', () => {
  const rows = ['1\ta\n', '2\tsecret\n', '3\tc\n'].map((r) => msg('d', r));
  const chunk = Buffer.concat([...rows, msg('c', ''), msg('C', 'COPY 3\0')]);
  const f = new MessageFramer();
  f.push(chunk.subarray(0, chunk.length - 3)); // CommandComplete incomplete
  assert.equal(f.takeRun(0x44), null, 'not the type at the read position');
  const first = f.takeRun(0x64, (c, from, to) => !c.subarray(from, to).includes('secret'))!;
  assert.equal(first.count, 1);
  assert.equal(first.raw.buffer, chunk.buffer, 'a view, no copy');
  assert.deepEqual(first.raw, rows[0]);
  assert.equal(f.takeRun(0x64, (c, from, to) => !c.subarray(from, to).includes('secret')), null, 'refused by accept: left for next()');
  assert.equal(String.fromCharCode(f.next()!.code), 'd');
  const rest = f.takeRun(0x64)!;
  assert.equal(rest.count, 1);
  assert.deepEqual(rest.raw, rows[2]);
  assert.equal(String.fromCharCode(f.next()!.code), 'c');
  assert.equal(f.takeRun(0x43), null, 'an incomplete message is not taken');
  f.push(chunk.subarray(chunk.length - 3));
  assert.equal(String.fromCharCode(f.next()!.code), 'C', 'next() still reassembles it');
  assert.equal(f.buffered, 0);
  const big = new MessageFramer({ maxMessageSize: 8 });
  big.push(msg('d', 'too long for the limit'));
  assert.equal(big.takeRun(0x64), null, 'an oversize message is left for next() to refuse');
  assert.throws(() => big.next(), isProtocolError('message-too-large'));
});

test('framer: a message split at every possible byte boundary', () => {
  const whole = Buffer.concat([msg('Q', 'select 42\0'), msg('D', Buffer.alloc(300, 7))]);
  for (let cut = 1; cut < whole.length; cut++) {
    const f = new MessageFramer();
    f.push(whole.subarray(0, cut));
    const first = drain(f);
    f.push(whole.subarray(cut));
    const frames = [...first, ...drain(f)];
    assert.equal(frames.length, 2, `cut at ${cut}`);
    assert.deepEqual(Buffer.concat(frames.map((x) => x.raw)), whole);
    assert.equal(frames[1]!.body.length, 300);
  }
});

test('framer: one byte at a time, and a message straddling three chunks', () => {
  const whole = msg('d', Buffer.from('abcdefghij'));
  const f = new MessageFramer();
  for (let i = 0; i < whole.length - 1; i++) {
    f.push(whole.subarray(i, i + 1));
    assert.equal(f.next(), null);
  }
  f.push(whole.subarray(whole.length - 1));
  const frame = f.next();
  assert.ok(frame);
  assert.equal(frame.body.toString(), 'abcdefghij');
  assert.equal(f.next(), null);
});

test('framer: refuses an oversize message on its header alone', () => {
  const f = new MessageFramer({ maxMessageSize: 100 });
  const header = Buffer.from([0x44, 0, 0, 0x10, 0]); // length 4096
  f.push(header);
  assert.throws(() => f.next(), isProtocolError('message-too-large'));
  // exactly at the limit is fine
  const ok = new MessageFramer({ maxMessageSize: 100 });
  ok.push(msg('D', Buffer.alloc(95)));
  assert.equal(ok.next()?.raw.length, 100);
  const over = new MessageFramer({ maxMessageSize: 100 });
  over.push(msg('D', Buffer.alloc(96)));
  assert.throws(() => over.next(), isProtocolError('message-too-large'));
});

test('framer: a length below 4 is a bad length', () => {
  const f = new MessageFramer();
  f.push(Buffer.from([0x51, 0, 0, 0, 3]));
  assert.throws(() => f.next(), isProtocolError('bad-length'));
  const negative = new MessageFramer();
  negative.push(Buffer.from([0x51, 0xff, 0xff, 0xff, 0xff]));
  assert.throws(() => negative.next(), isProtocolError('bad-length'));
});

test('framer: end() with a partial message is truncated; takeRemaining hands bytes over', () => {
  const f = new MessageFramer();
  const whole = Buffer.concat([msg('Z', 'I'), msg('Q', 'x\0')]);
  f.push(whole.subarray(0, 6));
  f.push(whole.subarray(6, 9));
  assert.equal(f.next()?.code, 0x5a);
  assert.throws(() => f.end(), isProtocolError('truncated'));
  const rest = f.takeRemaining();
  assert.deepEqual(rest, whole.subarray(6, 9));
  assert.equal(f.buffered, 0);
  f.end(); // nothing pending any more
});

test('startup packet: StartupMessage with parameters', () => {
  const b = new MessageBuilder(null).int32(196608).cstring('user').cstring('ci').cstring('database').cstring('app').cstring('application_name').cstring('psql').byte(0).build();
  assert.equal(readStartupPacket(b.subarray(0, 3)), null);
  assert.equal(readStartupPacket(b.subarray(0, b.length - 1)), null);
  const p = readStartupPacket(b);
  assert.ok(p && p.kind === 'startup');
  assert.equal(p.protocolVersion, 196608);
  assert.deepEqual({ ...p.params }, { user: 'ci', database: 'app', application_name: 'psql' });
});

test('startup packet: SSLRequest, GSSENCRequest, CancelRequest', () => {
  const pkt = (...ints: number[]) => {
    const b = Buffer.alloc(ints.length * 4);
    ints.forEach((v, i) => b.writeInt32BE(v, i * 4));
    return b;
  };
  assert.deepEqual(readStartupPacket(pkt(8, 80877103)), { kind: 'ssl-request' });
  assert.deepEqual(readStartupPacket(pkt(8, 80877104)), { kind: 'gssenc-request' });
  assert.deepEqual(readStartupPacket(pkt(16, 80877102, 4242, -7)), { kind: 'cancel', processId: 4242, secretKey: -7 });
  assert.throws(() => readStartupPacket(pkt(12, 80877102, 1)), isProtocolError('bad-length'));
});

test('startup packet: unknown protocol versions, oversize and missing terminator are refused', () => {
  const v2 = new MessageBuilder(null).int32(2 << 16).cstring('user').cstring('x').byte(0).build();
  assert.throws(() => readStartupPacket(v2), isProtocolError('unsupported-protocol'));
  const huge = Buffer.alloc(8);
  huge.writeInt32BE(10_001, 0);
  assert.throws(() => readStartupPacket(huge), isProtocolError('bad-length'));
  const tiny = Buffer.alloc(8);
  tiny.writeInt32BE(4, 0);
  assert.throws(() => readStartupPacket(tiny), isProtocolError('bad-length'));
  const unterminated = new MessageBuilder(null).int32(196608).cstring('user').cstring('x').build();
  assert.throws(() => readStartupPacket(unterminated), isProtocolError('truncated'));
  const trailing = new MessageBuilder(null).int32(196608).cstring('user').cstring('x').byte(0).byte(65).build();
  assert.throws(() => readStartupPacket(trailing), isProtocolError('malformed'));
});

test('body reader: bounds are checked; builder refuses NUL inside strings', () => {
  const r = new BodyReader(Buffer.from([0, 1, 0xff, 0xff, 0xff, 0xff]));
  assert.equal(r.int16(), 1);
  assert.equal(r.lengthPrefixed(), null);
  assert.ok(r.done);
  assert.throws(() => r.byte(), isProtocolError('truncated'));
  assert.throws(() => new BodyReader(Buffer.from([0, 0, 0, 9, 1])).lengthPrefixed(), isProtocolError('truncated'));
  assert.throws(() => new MessageBuilder(0x51).cstring('a\0b'), isProtocolError('malformed'));
});
