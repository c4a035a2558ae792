import { test } from 'node:test';
import assert from 'node:assert/strict';
import { approverFromClaims } from './approver-claims.js';

const iss = 'https://id.example';

test('the name is preferred_username, else email, else sub', () => {
  assert.deepEqual(approverFromClaims({ iss, sub: 'u1', preferred_username: 'alice', email: 'a@x', groups: ['dba'] }, 'groups'), { issuer: iss, subject: 'u1', name: 'alice', groups: ['dba'] });
  assert.equal(approverFromClaims({ iss, sub: 'u1', email: 'a@x' }, 'groups')?.name, 'a@x');
  assert.equal(approverFromClaims({ iss, sub: 'u1', preferred_username: '  ', email: 7 }, 'groups')?.name, 'u1');
});

test('without issuer or subject there is no approver', () => {
  assert.equal(approverFromClaims({ sub: 'u1' }, 'groups'), undefined);
  assert.equal(approverFromClaims({ iss, sub: '' }, 'groups'), undefined);
  assert.equal(approverFromClaims({ iss, sub: 42 }, 'groups'), undefined);
});

test('groups: from the configured claim, nested by dots, strings only, deduplicated, bounded', () => {
  const claims = { iss, sub: 'u1', groups: ['dba', 'dba', 3, '', 'x'.repeat(300), 'ops'], realm_access: { roles: ['approver'] }, team: 'sre' };
  assert.deepEqual(approverFromClaims(claims, 'groups')?.groups, ['dba', 'ops']);
  assert.deepEqual(approverFromClaims(claims, 'realm_access.roles')?.groups, ['approver']);
  assert.deepEqual(approverFromClaims(claims, 'team')?.groups, ['sre']);
  assert.deepEqual(approverFromClaims(claims, 'missing')?.groups, []);
  assert.deepEqual(approverFromClaims(claims, 'groups.length')?.groups, [], 'no walking into arrays or prototypes');
  assert.deepEqual(approverFromClaims(claims, 'constructor.name')?.groups, []);
  const many = { iss, sub: 'u1', groups: Array.from({ length: 400 }, (_, i) => `g${i}`) };
  assert.equal(approverFromClaims(many, 'groups')?.groups.length, 256);
});

test('a configured username claim is the only source of the name, as for the CLI: no fallback to a claim the user picks', () => {
  const claims = { iss, sub: 'u1', preferred_username: 'alice', email: 'mallory@corp.example' };
  assert.equal(approverFromClaims(claims, 'groups', 'email')?.name, 'mallory@corp.example', 'not the preferred_username the user chose');
  assert.equal(approverFromClaims({ iss, sub: 'u1', preferred_username: 'alice' }, 'groups', 'email'), undefined, 'no email: nobody, not alice');
  assert.equal(approverFromClaims({ iss, sub: 'u1', profile: { login: 'bob' } }, 'groups', 'profile.login')?.name, 'bob');
});
