import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExpiringIdSet } from './expiring-id-set.js';

test('an id is remembered until its time, then forgotten', () => {
  let clock = 1000;
  const set = new ExpiringIdSet(10, () => clock);
  set.add('a', 2000);
  set.add('gone', 1000);
  assert.equal(set.has('a'), true);
  assert.equal(set.has('gone'), false, 'already expired: not added');
  clock = 1999;
  assert.equal(set.has('a'), true);
  clock = 2000;
  assert.equal(set.has('a'), false);
  assert.equal(set.size, 0);
});

test('bounded: expired entries go first, then the oldest', () => {
  let clock = 0;
  const set = new ExpiringIdSet(3, () => clock);
  set.add('short', 10);
  set.add('b', 100);
  set.add('c', 100);
  clock = 20;
  set.add('d', 100);
  assert.deepEqual(['short', 'b', 'c', 'd'].map((id) => set.has(id)), [false, true, true, true]);
  set.add('e', 100);
  assert.deepEqual(['b', 'c', 'd', 'e'].map((id) => set.has(id)), [false, true, true, true]);
  assert.equal(set.size, 3);
});
