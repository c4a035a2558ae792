import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scopedApprover } from './approver-prefixes.js';

const alice = { issuer: 'https://id.example', subject: 'u-1', name: 'alice', groups: ['dba', 'ops'] };

test("an issuer's prefixes go before the name and every group; issuer and subject stay as proven", () => {
  assert.deepEqual(scopedApprover(alice, { usernamePrefix: 'corp:', groupsPrefix: 'corp:' }), { issuer: 'https://id.example', subject: 'u-1', name: 'corp:alice', groups: ['corp:dba', 'corp:ops'] });
  assert.deepEqual(scopedApprover(alice, { usernamePrefix: 'u/', groupsPrefix: 'g/' }).groups, ['g/dba', 'g/ops']);
});

test('no prefixes (one issuer): the claims as sent', () => {
  assert.deepEqual(scopedApprover(alice, {}), alice);
  assert.deepEqual(scopedApprover(alice, { usernamePrefix: '', groupsPrefix: '' }), alice);
});
