import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApprovalRecord, ApprovalVote } from '../api/broker-api-schema.js';
import { approvalTraceId, decisionSpans } from './decision-spans.js';

const vote = (name: string, verdict: ApprovalVote['verdict'], reason?: string): ApprovalVote => ({
  verdict,
  approver: { issuer: 'https://login.example.com', subject: `sub-${name}`, name, groups: ['dba'] },
  at: '2026-12-04T10:00:00.000Z',
  ...(reason !== undefined ? { reason } : {}),
});

const record = (over: Partial<ApprovalRecord> = {}): ApprovalRecord => ({
  id: '01JEXAMPLE0000000000000000',
  status: 'pending',
  createdAt: '2026-12-04T09:59:00.000Z',
  expiresAt: '2026-12-04T10:09:00.000Z',
  requester: { subject: 'repo:acme/shop', issuer: 'https://ci', identities: ['ci'], ci: { system: 'github', runUrl: 'https://ci/run/1', actor: 'octocat' } },
  target: 'orders-db',
  protocol: 'postgres',
  command: 'DELETE FROM orders WHERE id = 7',
  hash: `sha256:${'a'.repeat(64)}`,
  rule: 'deletes',
  approvers: [],
  groups: ['dba'],
  threshold: 2,
  sessionId: 's1',
  votes: [],
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  ...over,
});

const HELD = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };

test('a vote short of the threshold is one span, linked to the held statement, with the approver and the request', () => {
  const v = vote('alice', 'approved', 'ticket 1');
  const [span, ...rest] = decisionSpans({ record: record({ votes: [v] }), vote: v });
  assert.equal(rest.length, 0);
  assert.equal(span!.name, 'approval vote');
  assert.deepEqual(span!.links, [HELD]);
  assert.equal(span!.traceId, approvalTraceId('01JEXAMPLE0000000000000000'));
  assert.match(span!.traceId, /^[0-9a-f]{32}$/);
  assert.deepEqual(
    { ...span!.attributes },
    {
      'sidegate.approval.id': '01JEXAMPLE0000000000000000',
      'sidegate.approval.status': 'pending',
      'sidegate.approval.hash': `sha256:${'a'.repeat(64)}`,
      'sidegate.approval.threshold': 2,
      'sidegate.rule': 'deletes',
      'sidegate.target': 'orders-db',
      'sidegate.protocol': 'postgres',
      'sidegate.session.id': 's1',
      'sidegate.identity.subject': 'repo:acme/shop',
      'sidegate.identity.issuer': 'https://ci',
      'sidegate.identity.names': ['ci'],
      'sidegate.ci.system': 'github',
      'sidegate.ci.run_url': 'https://ci/run/1',
      'sidegate.ci.actor': 'octocat',
      'sidegate.approval.held_span': '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      'sidegate.approval.verdict': 'approved',
      'sidegate.approver.issuer': 'https://login.example.com',
      'sidegate.approver.subject': 'sub-alice',
      'sidegate.approver.name': 'alice',
      'sidegate.approver.groups': ['dba'],
      'sidegate.approval.voted_at': '2026-12-04T10:00:00.000Z',
      'sidegate.approval.reason': 'ticket 1',
    },
  );
  assert.equal(JSON.stringify(span).includes('DELETE FROM'), false, 'the statement stays out');
});

test('the deciding vote adds the outcome: approvers who approved; a denial names only who denied', () => {
  const votes = [vote('alice', 'approved'), vote('bob', 'approved', 'ok')];
  const spans = decisionSpans({ record: record({ status: 'approved', votes, decidedBy: 'alice, bob', reason: 'ok', decidedAt: '2026-12-04T10:01:00.000Z' }), vote: votes[1]! });
  assert.deepEqual(spans.map((s) => s.name), ['approval vote', 'approval approved']);
  const outcome = spans[1]!.attributes;
  assert.deepEqual(outcome['sidegate.approver.names'], ['alice', 'bob']);
  assert.deepEqual(outcome['sidegate.approver.subjects'], ['sub-alice', 'sub-bob']);
  assert.equal(outcome['sidegate.approval.approver'], 'alice, bob');
  assert.equal(outcome['sidegate.approval.votes'], 2);
  assert.equal(outcome['sidegate.approver.name'], undefined, 'no single approver on the outcome');

  const denied = decisionSpans({ record: record({ status: 'denied', votes: [vote('alice', 'approved'), vote('bob', 'denied', 'no')], decidedBy: 'bob', reason: 'no' }) });
  assert.deepEqual(denied.map((s) => s.name), ['approval denied']);
  assert.deepEqual(denied[0]!.attributes['sidegate.approver.names'], ['bob']);
});

test('an expiry names nobody; a request without a span context links to nothing', () => {
  const [expired] = decisionSpans({ record: record({ status: 'expired', reason: 'no decision before the timeout', traceparent: undefined }) });
  assert.equal(expired!.name, 'approval expired');
  assert.deepEqual(expired!.links, []);
  assert.equal(expired!.attributes['sidegate.approver.names'], undefined);
  assert.equal(expired!.attributes['sidegate.approval.held_span'], undefined);
  assert.deepEqual(decisionSpans({ record: record() }), [], 'nothing happened, nothing to record');
});

test("a request's trace id is the same on every replica and differs between requests", () => {
  assert.equal(approvalTraceId('01JA'), approvalTraceId('01JA'));
  assert.notEqual(approvalTraceId('01JA'), approvalTraceId('01JB'));
});
