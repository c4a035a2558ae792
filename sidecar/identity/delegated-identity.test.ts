import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PresentedToken } from '../../core/tokens/presented-token.js';
import { delegatedIdentityKey, jobTokenOf } from './delegated-identity.js';

const GH = 'https://token.actions.githubusercontent.com';
const job = { repository: 'acme/app', ref: 'refs/heads/main', run_id: '42', nested: { a: 1, b: [1, 2] } };

test('two tokens of one job share a key; any other claim, subject or issuer makes another', () => {
  const key = delegatedIdentityKey({ issuer: GH, subject: 'repo:acme/app:ref:refs/heads/main', claims: { ...job, iat: 1, exp: 2, nbf: 1, jti: 'a' } });
  const again = delegatedIdentityKey({ issuer: GH, subject: 'repo:acme/app:ref:refs/heads/main', claims: { jti: 'b', exp: 9, iat: 5, nested: { b: [1, 2], a: 1 }, run_id: '42', ref: 'refs/heads/main', repository: 'acme/app' } });
  assert.equal(again, key);
  assert.notEqual(delegatedIdentityKey({ issuer: GH, subject: 'repo:acme/app:ref:refs/heads/main', claims: { ...job, repository: 'acme/other' } }), key);
  assert.notEqual(delegatedIdentityKey({ issuer: GH, subject: 'repo:acme/app:ref:refs/heads/main', claims: { ...job, environment: 'production' } }), key);
  assert.notEqual(delegatedIdentityKey({ issuer: GH, subject: 'repo:acme/app:ref:refs/heads/dev', claims: job }), key);
  assert.notEqual(delegatedIdentityKey({ issuer: 'https://gitlab.com', subject: 'repo:acme/app:ref:refs/heads/main', claims: job }), key);
  // The separator cannot be forged by moving text between issuer and subject.
  assert.notEqual(delegatedIdentityKey({ issuer: 'a\nb', subject: 'c', claims: {} }), delegatedIdentityKey({ issuer: 'a', subject: 'b\nc', claims: {} }));
});

test("a presented CI token is the job's; a presented ServiceAccount token or none leaves the pod's", () => {
  const presented = new PresentedToken('eyJ.job.sig');
  assert.equal(jobTokenOf({ subject: 'repo:acme/app:ref:refs/heads/main', claims: job, presented }), 'eyJ.job.sig');
  assert.equal(jobTokenOf({ subject: 'system:serviceaccount:ci:runner', claims: { 'kubernetes.io': { namespace: 'ci' } }, presented }), undefined);
  // A claim alone does not make a ServiceAccount token: the job's token is still the job's.
  assert.equal(jobTokenOf({ subject: 'repo:acme/app:ref:refs/heads/main', claims: { ...job, 'kubernetes.io': { namespace: 'ci' } }, presented }), 'eyJ.job.sig');
  assert.equal(jobTokenOf({ subject: 'repo:acme/app:ref:refs/heads/main', claims: job }), undefined);
});
