import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planResultMasking } from '../../masking/index.js';
import { maskCopyBinaryData, maskCopyTextLine, withheldCopyData } from './copy-out-masking.js';

const masker = () =>
  planResultMasking(
    [{ name: 'd', columns: [], detectors: [{ kind: 'builtin', name: 'email' }, { kind: 'builtin', name: 'payment-card' }], strategy: 'redact' }],
    [{ name: '', textual: true }],
  )!;

const HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);

function tuple(fields: (Buffer | null)[]): Buffer {
  const parts: Buffer[] = [Buffer.from([fields.length >> 8, fields.length & 0xff])];
  for (const f of fields) {
    const len = Buffer.alloc(4);
    len.writeInt32BE(f === null ? -1 : f.length);
    parts.push(len);
    if (f) parts.push(f);
  }
  return Buffer.concat(parts);
}

const int8 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(n);
  return b;
};

test('binary COPY: a matching text field and a card stored as int8 become NULL, framing re-encoded', () => {
  const m = masker();
  const state = { headerSeen: false };
  const first = Buffer.concat([HEADER, tuple([Buffer.from([0, 0, 0, 1]), Buffer.from('mail ada@example.com'), int8(4539578763621486n)])]);
  const r = maskCopyBinaryData(first, m, state);
  assert.ok(r);
  assert.deepEqual(r.data, Buffer.concat([HEADER, tuple([Buffer.from([0, 0, 0, 1]), null, null])]));
  assert.equal(r.masked, 2);
  assert.equal(state.headerSeen, true);
  const clean = tuple([Buffer.from([0, 0, 0, 2]), Buffer.from('plain'), int8(42n)]);
  assert.equal(maskCopyBinaryData(clean, m, state), null);
  assert.equal(maskCopyBinaryData(Buffer.from([0xff, 0xff]), m, state), null, 'the trailer');
  assert.throws(() => maskCopyBinaryData(clean.subarray(0, clean.length - 1), m, state), /truncated/);
  assert.throws(() => maskCopyBinaryData(tuple([Buffer.from('x')]), m, { headerSeen: false }), /header/);
});

test('binary COPY withheld: every field NULL, header and trailer kept', () => {
  const state = { headerSeen: false };
  const w = withheldCopyData(Buffer.concat([HEADER, tuple([Buffer.from('a'), null, Buffer.from('bc')])]), state);
  assert.deepEqual(w.data, Buffer.concat([HEADER, tuple([null, null, null])]));
  assert.equal(w.masked, 3);
  assert.equal(withheldCopyData(Buffer.from([0xff, 0xff]), state).masked, 0);
  assert.deepEqual(withheldCopyData(Buffer.from('1\tx\n'), undefined).data, Buffer.from('[REDACTED]\n'));
});

test('text COPY: an e-mail inside bytea hex is decoded, masked and re-encoded as hex', () => {
  const m = masker();
  const hex = Buffer.from('to ada@example.com').toString('hex');
  const r = maskCopyTextLine(Buffer.from(`1\t\\\\x${hex}\tok\n`), m);
  assert.equal(r.masked, 1);
  assert.equal(r.line.toString(), `1\t\\\\x${Buffer.from('to [REDACTED:email]').toString('hex')}\tok\n`);
  const csv = maskCopyTextLine(Buffer.from(`1,\\x${hex}\n`), m);
  assert.equal(csv.line.toString(), `1,\\x${Buffer.from('to [REDACTED:email]').toString('hex')}\n`);
  const plain = Buffer.from('1\tnothing\n');
  assert.equal(maskCopyTextLine(plain, m).line, plain);
});
