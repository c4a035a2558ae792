import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DurableSpool, type SpoolBatch } from './durable-spool.js';

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-spool-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const texts = (b: SpoolBatch) => b.records.map((r) => r.toString('utf8'));
const rec = (i: number) => JSON.stringify({ i, pad: 'x'.repeat(40) });

test('records come back in order, batch by batch, and commits advance', async () => {
  await withDir(async (dir) => {
    const spool = await DurableSpool.open(dir);
    await spool.append([rec(1), rec(2), rec(3)]);
    await spool.append([rec(4)]);
    assert.equal(spool.pendingBytes, 4 * (rec(1).length + 1));
    const b1 = await spool.readBatch(2, 1 << 20);
    assert.deepEqual(texts(b1), [rec(1), rec(2)]);
    assert.deepEqual(texts((await spool.readBatch(2, 1 << 20))), [rec(1), rec(2)], 'reading does not consume');
    await spool.commit(b1);
    const b2 = await spool.readBatch(10, 1 << 20);
    assert.deepEqual(texts(b2), [rec(3), rec(4)]);
    await assert.rejects(spool.commit(b1), /in order/);
    await spool.commit(b2);
    assert.equal(spool.pendingBytes, 0);
    assert.deepEqual(spool.position, { appended: b1.bytes + b2.bytes, committed: b1.bytes + b2.bytes });
    assert.deepEqual(texts((await spool.readBatch(10, 1 << 20))), []);
    await spool.close();
  });
});

test('a reopened spool resumes after the last commit (what a previous run left is still there)', async () => {
  await withDir(async (dir) => {
    const first = await DurableSpool.open(dir);
    await first.append([rec(1), rec(2), rec(3)]);
    await first.commit(await first.readBatch(1, 1 << 20));
    await first.close();
    const second = await DurableSpool.open(dir);
    assert.equal(second.pendingBytes, 2 * (rec(1).length + 1));
    assert.deepEqual(texts((await second.readBatch(10, 1 << 20))), [rec(2), rec(3)]);
    await second.append([rec(4)]);
    assert.deepEqual(texts((await second.readBatch(10, 1 << 20))), [rec(2), rec(3), rec(4)]);
    await second.close();
  });
});

test('a torn last line (crash mid-write) is dropped on open; whole records survive', async () => {
  await withDir(async (dir) => {
    const spool = await DurableSpool.open(dir);
    await spool.append([rec(1)]);
    await spool.close();
    const [segment] = (await readdir(dir)).filter((f) => f.startsWith('segment-'));
    await appendFile(join(dir, segment!), '{"i":2,"pad":"xx');
    const reopened = await DurableSpool.open(dir);
    assert.equal(reopened.repairedBytes, '{"i":2,"pad":"xx'.length);
    assert.deepEqual(texts((await reopened.readBatch(10, 1 << 20))), [rec(1)]);
    await reopened.append([rec(3)]);
    assert.deepEqual(texts((await reopened.readBatch(10, 1 << 20))), [rec(1), rec(3)]);
    await reopened.close();
  });
});

test('segments roll at their size and delivered ones are deleted; batches span segments', async () => {
  await withDir(async (dir) => {
    const spool = await DurableSpool.open(dir, { segmentBytes: 100 });
    for (let i = 0; i < 6; i++) await spool.append([rec(i)]); // ~53 bytes each: two per segment
    const segments = async () => (await readdir(dir)).filter((f) => f.startsWith('segment-')).length;
    assert.equal(await segments(), 3);
    const all = await spool.readBatch(100, 1 << 20);
    assert.deepEqual(texts(all), [0, 1, 2, 3, 4, 5].map(rec));
    const part = await spool.readBatch(3, 1 << 20);
    await spool.commit(part);
    assert.equal(await segments(), 2, 'the first segment is delivered and gone');
    await spool.close();
    const reopened = await DurableSpool.open(dir, { segmentBytes: 100 });
    assert.deepEqual(texts((await reopened.readBatch(100, 1 << 20))), [3, 4, 5].map(rec));
    await reopened.close();
  });
});

test('a batch is bounded by bytes but always holds at least one record', async () => {
  await withDir(async (dir) => {
    const spool = await DurableSpool.open(dir);
    const big = JSON.stringify({ big: 'y'.repeat(200_000) });
    await spool.append([big, rec(1)]);
    const b = await spool.readBatch(100, 10);
    assert.deepEqual(texts(b), [big]);
    await spool.commit(b);
    assert.deepEqual(texts((await spool.readBatch(100, 10))), [rec(1)]);
    await spool.close();
  });
});

test('an unreadable committed.json means replay from the oldest record (at least once, never lost)', async () => {
  await withDir(async (dir) => {
    const spool = await DurableSpool.open(dir);
    await spool.append([rec(1), rec(2)]);
    await spool.commit(await spool.readBatch(1, 1 << 20));
    await spool.close();
    await writeFile(join(dir, 'committed.json'), 'not json');
    const reopened = await DurableSpool.open(dir);
    assert.deepEqual(texts((await reopened.readBatch(10, 1 << 20))), [rec(1), rec(2)]);
    await reopened.close();
  });
});

test('what this process appended is served from memory, with the same positions as the disk copy', async () => {
  await withDir(async (dir) => {
    // Tiny segments: batches cross segment boundaries, from memory as from disk.
    const spool = await DurableSpool.open(dir, { segmentBytes: 3 * (rec(1).length + 1) });
    for (let i = 1; i <= 10; i++) await spool.append([rec(i)]);
    const seen: string[] = [];
    for (;;) {
      const b = await spool.readBatch(4, 1 << 20);
      if (b.records.length === 0) break;
      assert.equal(b.fromMemory, true);
      seen.push(...texts(b));
      await spool.commit(b);
    }
    assert.deepEqual(seen, Array.from({ length: 10 }, (_, i) => rec(i + 1)));
    await spool.append([rec(11)]);
    await spool.close();
    // The next run has only the disk copy, and finds exactly what was not committed.
    const again = await DurableSpool.open(dir);
    const b = await again.readBatch(10, 1 << 20);
    assert.equal(b.fromMemory, false);
    assert.deepEqual(texts(b), [rec(11)]);
    await again.close();
  });
});

test('over its memory bound the spool reads back from disk, in order, and resumes from memory later', async () => {
  await withDir(async (dir) => {
    const one = rec(1).length + 1;
    const spool = await DurableSpool.open(dir, { memoryBytes: 3 * one });
    for (let i = 1; i <= 5; i++) await spool.append([rec(i)]); // 4 and 5 no longer fit in memory
    const first = await spool.readBatch(10, 1 << 20);
    assert.equal(first.fromMemory, true);
    assert.deepEqual(texts(first), [rec(1), rec(2), rec(3)]);
    await spool.commit(first);
    await spool.append([rec(6)]); // memory is empty again, but 4 and 5 are only on disk
    const second = await spool.readBatch(10, 1 << 20);
    assert.equal(second.fromMemory, false);
    assert.deepEqual(texts(second), [rec(4), rec(5), rec(6)]);
    await spool.commit(second);
    await spool.append([rec(7)]);
    const third = await spool.readBatch(10, 1 << 20);
    assert.equal(third.fromMemory, true);
    assert.deepEqual(texts(third), [rec(7)]);
    await spool.close();
  });
});

test('batch buffers are reused once delivered, never while their records may still be read', async () => {
  await withDir(async (dir) => {
    const spool = await DurableSpool.open(dir);
    const big = (i: number) => JSON.stringify({ i, pad: String(i % 10).repeat(100_000) });
    let next = 0;
    for (let round = 0; round < 30; round++) {
      // Two batches in; deliver only the first: the second's records must survive the appends
      // that follow (which may be carved from recycled buffers).
      await spool.append([big(next), big(next + 1)]);
      await spool.append([big(next + 2)]);
      const first = await spool.readBatch(2, 1 << 30);
      assert.ok(first.fromMemory);
      assert.deepEqual(texts(first), [big(next), big(next + 1)]);
      await spool.commit(first);
      await spool.append([big(next + 3)]);
      const rest = await spool.readBatch(10, 1 << 30);
      assert.deepEqual(texts(rest), [big(next + 2), big(next + 3)], `round ${round}`);
      await spool.commit(rest);
      next += 4;
    }
    await spool.close();
  });
});

test('forEachPending visits what is not committed, across segments, without moving the read position', async () => {
  await withDir(async (dir) => {
    const spool = await DurableSpool.open(dir, { segmentBytes: 100 });
    for (let i = 1; i <= 5; i++) await spool.append([rec(i)]);
    await spool.commit(await spool.readBatch(2, 1 << 20));
    const seen: string[] = [];
    await spool.forEachPending((r) => seen.push(r.toString('utf8')));
    assert.deepEqual(seen, [rec(3), rec(4), rec(5)]);
    assert.deepEqual(texts(await spool.readBatch(10, 1 << 20)), [rec(3), rec(4), rec(5)]);
    await spool.close();
    // What a later process finds is the same.
    const reopened = await DurableSpool.open(dir, { segmentBytes: 100 });
    const again: string[] = [];
    await reopened.forEachPending((r) => again.push(r.toString('utf8')));
    assert.deepEqual(again, seen);
    await reopened.close();
  });
});
