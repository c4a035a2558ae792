import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TextKeyedLru } from './text-keyed-lru.js';

test('evicts the least recently used entry past the entry bound; a get refreshes recency', () => {
  const lru = new TextKeyedLru<number>(2, 1000);
  lru.set('a', 1);
  lru.set('b', 2);
  assert.equal(lru.get('a'), 1); // a is now the most recent
  lru.set('c', 3);
  assert.equal(lru.get('b'), undefined, 'b was the least recent');
  assert.equal(lru.get('a'), 1);
  assert.equal(lru.get('c'), 3);
  assert.equal(lru.size, 2);
});

test('bounded by the total length of its keys too; replacing a key does not count it twice', () => {
  const lru = new TextKeyedLru<string>(100, 10);
  lru.set('aaaa', 'x');
  lru.set('aaaa', 'y');
  assert.equal(lru.textUnits, 4);
  assert.equal(lru.get('aaaa'), 'y');
  lru.set('bbbb', 'z');
  lru.set('cccc', 'w'); // 12 units: the oldest goes
  assert.equal(lru.textUnits, 8);
  assert.equal(lru.get('aaaa'), undefined);
  lru.set('d'.repeat(11), 'too long'); // longer than the budget alone: nothing can stay
  assert.equal(lru.size, 0);
  assert.equal(lru.textUnits, 0);
});
