import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExchangeOutcome } from '../service/exchange-outcome.js';
import { exchangeAttributes, expiryAttributes, revocationAttributes, spanContextOf, traceparentOf } from './outcome-spans.js';

const subject = {
  issuer: 'https://token.actions.githubusercontent.com',
  subject: 'repo:acme/app:ref:refs/heads/main',
  claims: { repository: 'acme/app', 'kubernetes.io.namespace': 'ci' },
  ci: { system: 'github', repository: 'acme/app', runId: '7' },
};

test('an issued exchange names the subject, its run, the target, grant, template role, login and expiry', () => {
  const outcome: ExchangeOutcome = { kind: 'exchange', decision: 'issued', startedAt: '2026-12-04T10:00:00.000Z', durationMs: 3, subject, target: 'orders', grant: 'g', role: 'orders_reader', username: 'sidegate_x_ab', expiresAt: '2026-12-04T10:30:00.000Z' };
  assert.deepEqual(exchangeAttributes(outcome), {
    'sidegate.exchange.decision': 'issued',
    'sidegate.identity.issuer': subject.issuer,
    'sidegate.identity.subject': subject.subject,
    'sidegate.ci.system': 'github',
    'sidegate.ci.repository': 'acme/app',
    'sidegate.ci.run_id': '7',
    'sidegate.ci.k8s.namespace': 'ci',
    'sidegate.target': 'orders',
    'sidegate.exchange.grant': 'g',
    'sidegate.exchange.role': 'orders_reader',
    'sidegate.exchange.login': 'sidegate_x_ab',
    'sidegate.exchange.expires_at': '2026-12-04T10:30:00.000Z',
  });
});

test('a delegated exchange names the sidecar that acted for the CI job, and its pod as the sidecar spans do', () => {
  const ciSubject = { issuer: subject.issuer, subject: subject.subject, claims: { repository: 'acme/app' }, ci: subject.ci };
  const actor = {
    issuer: 'https://kubernetes.default.svc.cluster.local',
    subject: 'system:serviceaccount:ci:runner',
    claims: { 'kubernetes.io.namespace': 'ci', 'kubernetes.io.serviceaccount.name': 'runner', 'kubernetes.io.pod.name': 'runner-7f9c', 'kubernetes.io.pod.uid': 'u-1' },
  };
  const attrs = exchangeAttributes({ kind: 'exchange', decision: 'issued', startedAt: '', durationMs: 0, subject: ciSubject, actor, target: 'orders' });
  assert.equal(attrs['sidegate.identity.subject'], 'repo:acme/app:ref:refs/heads/main');
  assert.equal(attrs['sidegate.ci.repository'], 'acme/app');
  assert.equal(attrs['sidegate.exchange.actor.issuer'], actor.issuer);
  assert.equal(attrs['sidegate.exchange.actor.subject'], 'system:serviceaccount:ci:runner');
  assert.equal(attrs['sidegate.exchange.actor.namespace'], 'ci');
  assert.equal(attrs['sidegate.exchange.actor.serviceaccount'], 'runner');
  assert.equal(attrs['sidegate.exchange.actor.pod'], 'runner-7f9c');
  assert.equal(attrs['sidegate.exchange.actor.pod_uid'], 'u-1');
  assert.equal(attrs['sidegate.ci.k8s.pod'], 'runner-7f9c');
});

test('a refusal before the token verified names nobody, only the error', () => {
  const attrs = exchangeAttributes({ kind: 'exchange', decision: 'refused', startedAt: '', durationMs: 0, refusal: { code: 'invalid_request', description: 'subject_token rejected: expired' } });
  assert.deepEqual(attrs, { 'sidegate.exchange.decision': 'refused', 'sidegate.exchange.error': 'invalid_request', 'error.type': 'invalid_request', 'sidegate.exchange.reason': 'subject_token rejected: expired' });
});

test('a revocation and an expiry name the login; a traceparent is version 00, sampled', () => {
  assert.equal(revocationAttributes({ kind: 'revocation', decision: 'revoked', startedAt: '', durationMs: 0, subject, target: 'orders', username: 'sidegate_x_ab' })['sidegate.exchange.login'], 'sidegate_x_ab');
  assert.deepEqual(expiryAttributes('orders', { username: 'sidegate_x_ab' }), { 'sidegate.exchange.decision': 'expired', 'sidegate.target': 'orders', 'sidegate.exchange.login': 'sidegate_x_ab' });
  const span = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16) };
  const traceparent = traceparentOf(span);
  assert.equal(traceparent, `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`);
  assert.deepEqual(spanContextOf(traceparent), span);
  assert.equal(expiryAttributes('orders', { username: 'sidegate_x_ab', issuedBy: traceparent })['sidegate.exchange.issued_span'], traceparent);
  assert.equal(spanContextOf(`00-${'0'.repeat(32)}-${'b'.repeat(16)}-01`), undefined);
  assert.equal(spanContextOf(undefined), undefined);
});
