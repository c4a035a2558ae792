import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpoolBufferPool } from './spool-buffer-pool.js';

test('batches are carved from one chunk; the chunk is reused only once every batch in it is released', () => {
  const pool = new SpoolBufferPool(100, 2);
  const a = pool.take(40);
  const b = pool.take(40);
  assert.equal(a.bytes.length, 40);
  assert.equal(a.bytes.buffer, b.bytes.buffer, 'same chunk');
  assert.notEqual(a.bytes.byteOffset, b.bytes.byteOffset, 'no overlap');
  a.bytes.fill(1);
  b.bytes.fill(2);
  const c = pool.take(40); // does not fit: a second chunk
  assert.notEqual(c.bytes.buffer, a.bytes.buffer);
  c.bytes.fill(3);
  a.release();
  const d = pool.take(40); // chunk one still holds b: not reused yet
  assert.notEqual(d.bytes.buffer, a.bytes.buffer);
  assert.ok(b.bytes.every((x) => x === 2), 'b untouched');
  assert.equal(pool.allocatedChunks, 2);
  b.release();
  b.release(); // idempotent: must not free a chunk someone else uses
  const e = pool.take(90); // chunk two is full of c and d: chunk one comes back
  assert.equal(e.bytes.buffer, a.bytes.buffer);
  assert.equal(pool.allocatedChunks, 2);
  assert.ok(c.bytes.every((x) => x === 3), 'c untouched');
});

test('a chunk whose batches are all released starts over; steady take/release allocates nothing new', () => {
  const pool = new SpoolBufferPool(100, 1);
  for (let i = 0; i < 1000; i++) {
    const x = pool.take(30 + (i % 50));
    const y = pool.take(20);
    x.release();
    y.release();
  }
  assert.equal(pool.allocatedChunks, 1);
});

test('a batch larger than a chunk gets its own buffer; the free list is bounded', () => {
  const pool = new SpoolBufferPool(100, 1);
  const big = pool.take(500);
  assert.equal(big.bytes.length, 500);
  assert.equal(pool.allocatedChunks, 0);
  const held = [pool.take(80), pool.take(80), pool.take(80)];
  assert.equal(pool.allocatedChunks, 3);
  for (const h of held) h.release();
  pool.take(80); // the current chunk (the third) starts over
  pool.take(80); // one kept in the free list
  pool.take(80); // the other was not kept: a new one
  assert.equal(pool.allocatedChunks, 4);
});
