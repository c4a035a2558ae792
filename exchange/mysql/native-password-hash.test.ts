import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nativePasswordHash } from './native-password-hash.js';

test("the stored hash is MariaDB's PASSWORD() of the password", () => {
  // SELECT PASSWORD('password') on MariaDB 10.11.
  assert.equal(nativePasswordHash('password'), '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19');
  assert.match(nativePasswordHash('x'.repeat(43)), /^\*[0-9A-F]{40}$/);
});
