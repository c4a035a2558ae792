import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DurableSpool } from './durable-spool.js';

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-spool-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const rec = (i: number) => JSON.stringify({ i, pad: 'x'.repeat(40) });

test('records come back in order, batch by batch, and commits advance', async () => {
  await withDir(async (dir) => {
    const spool = await DurableSpool.open(dir);
    await spool.append([rec(1), rec(2), rec(3)]);
    await spool.append([rec(4)]);
    assert.equal(spool.pendingBytes, 4 * (rec(1).length + 1));
    const b1 = await spool.readBatch(2, 1 << 20);
    assert.deepEqual(b1.records, [rec(1), rec(2)]);
    assert.deepEqual((await spool.readBatch(2, 1 << 20)).records, [rec(1), rec(2)], 'reading does not consume');
    await spool.commit(b1);
    const b2 = await spool.readBatch(10, 1 << 20);
    assert.deepEqual(b2.records, [rec(3), rec(4)]);
    await assert.rejects(spool.commit(b1), /in order/);
    await spool.commit(b2);
    assert.equal(spool.pendingBytes, 0);
    assert.deepEqual(spool.position, { appended: b1.bytes + b2.bytes, committed: b1.bytes + b2.bytes });
    assert.deepEqual((await spool.readBatch(10, 1 << 20)).records, []);
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
    assert.deepEqual((await second.readBatch(10, 1 << 20)).records, [rec(2), rec(3)]);
    await second.append([rec(4)]);
    assert.deepEqual((await second.readBatch(10, 1 << 20)).records, [rec(2), rec(3), rec(4)]);
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
    assert.deepEqual((await reopened.readBatch(10, 1 << 20)).records, [rec(1)]);
    await reopened.append([rec(3)]);
    assert.deepEqual((await reopened.readBatch(10, 1 << 20)).records, [rec(1), rec(3)]);
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
    assert.deepEqual(all.records, [0, 1, 2, 3, 4, 5].map(rec));
    const part = await spool.readBatch(3, 1 << 20);
    await spool.commit(part);
    assert.equal(await segments(), 2, 'the first segment is delivered and gone');
    await spool.close();
    const reopened = await DurableSpool.open(dir, { segmentBytes: 100 });
    assert.deepEqual((await reopened.readBatch(100, 1 << 20)).records, [3, 4, 5].map(rec));
    await reopened.close();
  });
});

test('a batch is bounded by bytes but always holds at least one record', async () => {
  await withDir(async (dir) => {
    const spool = await DurableSpool.open(dir);
    const big = JSON.stringify({ big: 'y'.repeat(200_000) });
    await spool.append([big, rec(1)]);
    const b = await spool.readBatch(100, 10);
    assert.deepEqual(b.records, [big]);
    await spool.commit(b);
    assert.deepEqual((await spool.readBatch(100, 10)).records, [rec(1)]);
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
    assert.deepEqual((await reopened.readBatch(10, 1 << 20)).records, [rec(1), rec(2)]);
    await reopened.close();
  });
});
