import { test } from 'node:test';
import assert from 'node:assert/strict';
import { safeReturnPath } from './return-path.js';

test('a path on this site is kept, with its query', () => {
  assert.equal(safeReturnPath('/approvals/apr-abc234'), '/approvals/apr-abc234');
  assert.equal(safeReturnPath('/?x=1'), '/?x=1');
});

test('anything that could leave the site becomes /', () => {
  for (const next of [null, undefined, '', 'https://evil.example/', '//evil.example/x', '/\\evil.example', '\\\\evil.example', 'evil.example', '/\tevil', '/x\ny', 'javascript:alert(1)', `/${'a'.repeat(3000)}`]) {
    assert.equal(safeReturnPath(next), '/', String(next));
  }
});

test('dot segments that collapse into //host become / (an open redirect after resolution)', () => {
  for (const next of ['/..//evil.example', '/.//evil.example', '/%2e%2e//evil.example', '/a/..//evil.example/x?y=1', '/./..//evil.example']) {
    assert.equal(safeReturnPath(next), '/', next);
  }
  assert.equal(safeReturnPath('/a/../approvals/apr-abc234'), '/approvals/apr-abc234', 'a harmless dot segment still resolves');
});
