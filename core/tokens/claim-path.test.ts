import { test } from 'node:test';
import assert from 'node:assert/strict';
import { claimAt } from './claim-path.js';

test('a claim is read at the top or along a dotted path, never through prototypes or arrays', () => {
  const claims = { groups: ['a'], realm_access: { roles: ['dba'] }, list: [{ x: 1 }] };
  assert.deepEqual(claimAt(claims, 'groups'), ['a']);
  assert.deepEqual(claimAt(claims, 'realm_access.roles'), ['dba']);
  assert.equal(claimAt(claims, 'realm_access.missing'), undefined);
  assert.equal(claimAt(claims, 'list.0'), undefined);
  assert.equal(claimAt(claims, 'constructor'), undefined);
  assert.equal(claimAt(claims, 'groups.length'), undefined);
});

test("a key with a dot in it is read whole: Kubernetes' kubernetes.io claim", () => {
  const claims = { 'kubernetes.io': { namespace: 'ci', pod: { name: 'runner-1' } }, a: { b: 1 }, 'a.b': 2 };
  assert.equal(claimAt(claims, 'kubernetes.io.namespace'), 'ci');
  assert.equal(claimAt(claims, 'kubernetes.io.pod.name'), 'runner-1');
  assert.equal(claimAt(claims, 'kubernetes.io.pod.uid'), undefined);
  assert.equal(claimAt(claims, 'a.b'), 2, 'the longest key wins');
  assert.equal(claimAt(claims, 'kubernetes'), undefined);
});
