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
