import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boundText } from './bounded-text.js';

test('text within the bound is whole; beyond it, cut with the count of what is left out', () => {
  assert.deepEqual(boundText('abc', 3), { text: 'abc', omitted: 0 });
  assert.deepEqual(boundText('abcdef', 4), { text: 'abcd', omitted: 2 });
});

test('a cut never splits a surrogate pair', () => {
  const cut = boundText('ab😀cd', 3);
  assert.deepEqual(cut, { text: 'ab', omitted: 4 });
  assert.doesNotThrow(() => encodeURIComponent(cut.text));
});
