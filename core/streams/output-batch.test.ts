import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { OutputBatch } from './output-batch.js';

test('adjacent views of one chunk merge into a single write without copying', () => {
  const chunk = Buffer.from('aaaabbbbcccc');
  const batch = new OutputBatch();
  batch.add(chunk.subarray(0, 4));
  batch.add(chunk.subarray(4, 8));
  batch.add(chunk.subarray(8, 12));
  const writes: Buffer[] = [];
  const dest = new PassThrough();
  dest.on('data', (d: Buffer) => writes.push(d));
  batch.flushTo(dest);
  assert.equal(writes.length, 1);
  assert.equal(writes[0]!.toString(), 'aaaabbbbcccc');
  assert.equal(writes[0]!.buffer, chunk.buffer, 'the write is a view of the original chunk');
});

test('non-adjacent parts keep their order', () => {
  const a = Buffer.from('xx');
  const b = Buffer.from('yy');
  const chunk = Buffer.from('123456');
  const batch = new OutputBatch();
  batch.add(chunk.subarray(0, 2));
  batch.add(a);
  batch.add(chunk.subarray(4, 6));
  batch.add(b);
  assert.equal(batch.size, 8);
  const dest = new PassThrough();
  const got: Buffer[] = [];
  dest.on('data', (d: Buffer) => got.push(d));
  batch.flushTo(dest);
  assert.equal(Buffer.concat(got).toString(), '12xx56yy');
  assert.equal(batch.size, 0);
});

test('a large batch: small parts are copied together, large slices written as they are, all in order', () => {
  const big = Buffer.alloc(64 * 1024, 0x61);
  const batch = new OutputBatch();
  const expected: Buffer[] = [];
  const add = (b: Buffer) => {
    batch.add(b);
    expected.push(b);
  };
  // ~26 kB of small rewritten rows (Buffer.alloc: not from the shared pool, so never adjacent)
  const row = (text: string) => {
    const b = Buffer.alloc(text.length);
    b.write(text);
    return b;
  };
  for (let i = 0; i < 3000; i++) add(row(`row ${i};`));
  add(big.subarray(0, 20_000));
  add(row('tail'));
  add(big.subarray(30_000, 60_000));
  const dest = new PassThrough({ highWaterMark: 1 << 20 });
  const writes: Buffer[] = [];
  const original = dest.write.bind(dest);
  dest.write = ((chunk: Buffer, ...rest: never[]) => {
    writes.push(chunk);
    return original(chunk, ...rest);
  }) as typeof dest.write;
  batch.flushTo(dest);
  assert.deepEqual(Buffer.concat(writes), Buffer.concat(expected));
  assert.ok(writes.length <= 5, `${writes.length} writes for 3003 parts`);
  const slices = writes.filter((w) => w.buffer === big.buffer);
  assert.equal(slices.length, 2, 'the two large slices are written without a copy');
});
