import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExchangeConfig } from '../config/exchange-config.js';
import { OAuthError } from '../protocol/oauth-error.js';
import { decideGrant, type SubjectIdentity } from './grant-decision.js';

const GH = 'https://token.actions.githubusercontent.com';
const K8S = 'https://kubernetes.default.svc.cluster.local';
const { grants } = parseExchangeConfig({
  issuers: [
    { issuer: GH, audience: 'sidegate-exchange' },
    { issuer: K8S, audience: 'sidegate-exchange', kubernetes: true },
  ],
  targets: [{ name: 'orders', protocol: 'postgres', host: 'db', database: 'orders', admin: { username: 'admin', passwordFile: '/s/pw' } }],
  grants: [
    { name: 'deploys', issuer: GH, claims: { repository: 'acme/app', ref: 'refs/heads/main', environment: 'production' }, actor: { subject: 'system:serviceaccount:ci:*' }, target: 'orders', roles: ['orders_migrator', 'orders_reader'], ttl: '30m' },
    { name: 'readers', issuer: GH, claims: { repository: 'acme/*' }, actor: { claims: { 'kubernetes.io.namespace': ['ci', 'staging'] } }, target: 'orders', roles: ['orders_reader'], ttl: '15m' },
    { name: 'runners', issuer: K8S, subject: 'system:serviceaccount:ci:*', claims: { 'kubernetes.io.namespace': 'ci' }, target: 'orders', roles: ['orders_reader'], ttl: '10m' },
  ],
});

const gh = (claims: Record<string, unknown>): SubjectIdentity => ({ issuer: GH, subject: 'repo:acme/app:environment:production', claims });
const pod = (ns: string): SubjectIdentity => ({ issuer: K8S, subject: `system:serviceaccount:${ns}:runner`, claims: { 'kubernetes.io': { namespace: ns } } });
const sidecar = pod('ci');

function refused(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof OAuthError && err.code === code);
}

test('the first matching grant in order decides; its first role unless a scope names another', () => {
  const prod = gh({ repository: 'acme/app', ref: 'refs/heads/main', environment: 'production' });
  assert.deepEqual(decideGrant(grants, prod, 'orders', [], sidecar), { grant: 'deploys', target: 'orders', role: 'orders_migrator', ttlMs: 1_800_000 });
  assert.deepEqual(decideGrant(grants, prod, 'orders', ['orders_reader'], sidecar), { grant: 'deploys', target: 'orders', role: 'orders_reader', ttlMs: 1_800_000 });
  const feature = gh({ repository: 'acme/lib', ref: 'refs/heads/feature' });
  assert.deepEqual(decideGrant(grants, feature, 'orders', [], sidecar), { grant: 'readers', target: 'orders', role: 'orders_reader', ttlMs: 900_000 });
  refused(() => decideGrant(grants, feature, 'orders', ['orders_migrator'], sidecar), 'invalid_scope');
});

test('every claim of a grant must match; another issuer never matches', () => {
  refused(() => decideGrant(grants, gh({ repository: 'evil/app', ref: 'refs/heads/main', environment: 'production' }), 'orders', [], sidecar), 'invalid_target');
  refused(() => decideGrant(grants, { issuer: 'https://gitlab.com', subject: 'x', claims: { repository: 'acme/app' } }, 'orders', [], sidecar), 'invalid_target');
  refused(() => decideGrant(grants, gh({ repository: 'acme/app' }), 'payments', [], sidecar), 'invalid_target');
});

test("a CI grant's actor must be there and match: the job alone, or another pod, gets nothing", () => {
  const prod = gh({ repository: 'acme/app', ref: 'refs/heads/main', environment: 'production' });
  refused(() => decideGrant(grants, prod, 'orders', []), 'invalid_target');
  refused(() => decideGrant(grants, prod, 'orders', [], pod('prod')), 'invalid_target');
  // The actor matcher chooses between grants: a staging pod matches only the readers' grant.
  assert.equal(decideGrant(grants, prod, 'orders', [], { ...pod('staging'), subject: 'system:serviceaccount:other:runner' }).grant, 'readers');
  // A CI token is never an actor: its subject and claims are not a pod's.
  refused(() => decideGrant(grants, prod, 'orders', [], prod), 'invalid_target');
});

test('Kubernetes identities by subject and the kubernetes.io claim', () => {
  assert.equal(decideGrant(grants, pod('ci'), 'orders', []).grant, 'runners');
  refused(() => decideGrant(grants, pod('prod'), 'orders', []), 'invalid_target');
});
