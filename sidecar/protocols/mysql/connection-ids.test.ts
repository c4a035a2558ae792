import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionIds } from './connection-ids.js';

test('ids are unique, positive 31-bit, and free again once released', () => {
  const ids = new ConnectionIds();
  const seen = new Set<number>();
  for (let i = 0; i < 1000; i++) {
    const id = ids.allocate();
    assert.ok(id > 0 && id <= 0x7fffffff);
    assert.ok(!seen.has(id));
    seen.add(id);
  }
  assert.equal(ids.size, 1000);
  for (const id of seen) ids.release(id);
  assert.equal(ids.size, 0);
});

test('only the owner finds its connection: another identity cannot cancel it', () => {
  const ids = new ConnectionIds();
  const id = ids.allocate();
  let cancelled = 0;
  ids.register(id, { owner: 'iss a', upstreamThreadId: 7, cancelHold: () => (cancelled++, true) });
  assert.equal(ids.lookup(id, 'iss b'), undefined);
  assert.equal(ids.lookup(id + 1, 'iss a'), undefined);
  const entry = ids.lookup(id, 'iss a');
  assert.equal(entry?.upstreamThreadId, 7);
  assert.equal(entry?.cancelHold(), true);
  assert.equal(cancelled, 1);
});

test('an allocated id without an entry yet is found by nobody', () => {
  const ids = new ConnectionIds();
  const id = ids.allocate();
  assert.equal(ids.lookup(id, ''), undefined);
});
