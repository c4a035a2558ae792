import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientIdentity, IdentityRejected, type TokenVerifierLike } from './client-identity.js';

const POD_TOKEN = 'pod.pod.pod';
const verified: string[] = [];
const verifier: TokenVerifierLike = {
  async verify(token) {
    verified.push(token);
    if (token === POD_TOKEN) return { issuer: 'https://k8s', subject: 'system:serviceaccount:ci:runner', claims: {} };
    if (token === 'good.good.good') return { issuer: 'https://ci', subject: 'job', claims: {} };
    throw Object.assign(new Error('token expired'), { code: 'expired' });
  },
};
const matcher = { matchIdentities: () => [] };
const withPod = new ClientIdentity(verifier, matcher, { read: async () => POD_TOKEN });
const withoutPod = new ClientIdentity(verifier, matcher);

test('no password or an empty one falls back to the pod token', async () => {
  assert.equal((await withPod.resolve(undefined)).subject, 'system:serviceaccount:ci:runner');
  assert.equal((await withPod.resolve('')).subject, 'system:serviceaccount:ci:runner');
  assert.equal((await withPod.resolve(undefined)).presented, undefined, "the pod's token is not a presented one");
});

test('a presented token is verified and preferred (surrounding white space ignored)', async () => {
  assert.equal((await withPod.resolve('good.good.good\n')).subject, 'job');
  // Kept for the token exchange (delegation), trimmed as verified, never serialised.
  const principal = await withPod.resolve('good.good.good\n');
  assert.equal(principal.presented?.reveal(), 'good.good.good');
  assert.ok(!JSON.stringify(principal).includes('good.good.good'));
});

test('a presented password that is not a valid token never becomes the pod identity', async () => {
  for (const presented of ['Bearer good.good.good', 'hunter2', 'not-a-jwt', ' ', 'a.b', 'a.b.c.d', 'expired.token.x']) {
    verified.length = 0;
    await assert.rejects(withPod.resolve(presented), (e: unknown) => e instanceof IdentityRejected && e.code !== 'missing', JSON.stringify(presented));
    assert.ok(!verified.includes(POD_TOKEN), `pod token used for ${JSON.stringify(presented)}`);
  }
});

test('without a pod token an empty password is "missing"', async () => {
  await assert.rejects(withoutPod.resolve(''), (e: unknown) => e instanceof IdentityRejected && e.code === 'missing');
});
