import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_ATTRIBUTES_PER_SPAN, MAX_ATTRIBUTE_STRING_CHARS, boundedAttributes } from './attribute-values.js';

test('attributes are bounded in number, overwrites always allowed, nullish and empty keys dropped', () => {
  const many = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, i]));
  const first = boundedAttributes(many);
  assert.equal(Object.keys(first).length, MAX_ATTRIBUTES_PER_SPAN);
  assert.deepEqual(boundedAttributes({ extra: 1 }, first), {}, 'a full span takes no new key');
  assert.deepEqual(boundedAttributes({ k0: 'again' }, first), { k0: 'again' }, 'but an existing key may change');
  const some = boundedAttributes(Object.fromEntries(Array.from({ length: MAX_ATTRIBUTES_PER_SPAN - 1 }, (_, i) => [`a${i}`, i])));
  assert.deepEqual(Object.keys(boundedAttributes({ b: 1, c: 2, a0: 3 }, some)), ['b', 'a0'], 'room for one more new key');
  assert.deepEqual(boundedAttributes({ '': 'x', n: null, u: undefined, ok: true }), { ok: true });
});

test('values are bounded: long strings cut and marked, non-finite numbers as text, mixed arrays as text', () => {
  const out = boundedAttributes({ s: 'x'.repeat(MAX_ATTRIBUTE_STRING_CHARS + 5), inf: Infinity, mixed: ['a', 1] as unknown as string[] });
  assert.equal((out['s'] as string).length, MAX_ATTRIBUTE_STRING_CHARS);
  assert.match(out['s'] as string, /…\[truncated\]$/);
  assert.equal(out['inf'], 'Infinity');
  assert.deepEqual(out['mixed'], ['a', '1']);
});
