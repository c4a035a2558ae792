import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csrfTokenFor, csrfTokenMatches } from './csrf-token.js';

const key = Buffer.alloc(32, 7);

test('the token is stable for a session and differs between sessions and keys', () => {
  const token = csrfTokenFor(key, 'session-a');
  assert.match(token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(csrfTokenFor(key, 'session-a'), token);
  assert.notEqual(csrfTokenFor(key, 'session-b'), token);
  assert.notEqual(csrfTokenFor(Buffer.alloc(32, 8), 'session-a'), token);
});

test('only the exact token matches', () => {
  const token = csrfTokenFor(key, 'session-a');
  assert.equal(csrfTokenMatches(token, token), true);
  assert.equal(csrfTokenMatches(token, undefined), false);
  assert.equal(csrfTokenMatches(token, ''), false);
  assert.equal(csrfTokenMatches(token, token.slice(0, -1)), false);
  assert.equal(csrfTokenMatches(token, `${token}x`), false);
  assert.equal(csrfTokenMatches(token, csrfTokenFor(key, 'session-b')), false);
  assert.equal(csrfTokenMatches(token, token.toUpperCase()), token === token.toUpperCase());
});
