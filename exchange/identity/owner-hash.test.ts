import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ownerHash } from './owner-hash.js';

test('the owner is a hash of issuer and subject, separated so they cannot run together', () => {
  assert.match(ownerHash('https://a', 'b'), /^[0-9a-f]{64}$/);
  assert.notEqual(ownerHash('https://a', 'bc'), ownerHash('https://ab', 'c'));
  assert.equal(ownerHash('https://a', 'b'), ownerHash('https://a', 'b'));
});
