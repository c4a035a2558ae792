import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApprovalRecord } from '../api/broker-api-schema.js';
import { MAX_COMMAND_CHARS } from '../api/broker-api-schema.js';
import { approvalEvent, approvalPageUrl } from './approval-event.js';
import { sampleApprovalRecord } from '../../test/support/approval-record.js';

const pending: ApprovalRecord = sampleApprovalRecord();

test('a pending record is approval.created with the page link and no approvers yet', () => {
  const event = approvalEvent(pending, 'https://sidegate.example.com');
  assert.equal(event.type, 'approval.created');
  assert.equal(event.occurredAt, pending.createdAt);
  const { id, status, target, protocol, rule, requester, createdAt, expiresAt } = pending;
  const url = 'https://sidegate.example.com/approvals/apr-7k2m9q';
  assert.deepEqual(event.approval, { id, url, status, target, protocol, rule, statement: pending.command, requester, ci: {}, createdAt, expiresAt, approvers: [] });
});

test('a decided record is approval.decided with its decider, reason and time', () => {
  for (const status of ['approved', 'denied'] as const) {
    const event = approvalEvent({ ...pending, status, decidedBy: 'alice', decidedAt: '2025-01-01T10:03:00.000Z', reason: 'ticket OPS-1' }, 'https://b.example');
    assert.equal(event.type, 'approval.decided');
    assert.equal(event.occurredAt, '2025-01-01T10:03:00.000Z');
    assert.equal(event.approval.status, status);
    assert.deepEqual(event.approval.approvers, [{ name: 'alice' }]);
    assert.equal(event.approval.reason, 'ticket OPS-1');
  }
  const expired = approvalEvent({ ...pending, status: 'expired', decidedAt: '2025-01-01T10:10:00.000Z' }, 'https://b.example');
  assert.equal(expired.type, 'approval.decided');
  assert.deepEqual(expired.approval.approvers, []);
});

test('the page link keeps a path prefix and encodes the id', () => {
  assert.equal(approvalPageUrl('https://ops.example.com/sidegate', 'apr-abc'), 'https://ops.example.com/sidegate/approvals/apr-abc');
  assert.equal(approvalPageUrl('https://ops.example.com/sidegate/', 'apr-abc'), 'https://ops.example.com/sidegate/approvals/apr-abc');
  assert.equal(approvalPageUrl('http://127.0.0.1:8080', 'a/../b?c'), 'http://127.0.0.1:8080/approvals/a%2F..%2Fb%3Fc');
});

test('CI context is read from the record or its requester, strings only, bounded', () => {
  const ci = { repository: 'acme/shop', job: 'deploy', runUrl: 'https://github.com/acme/shop/actions/runs/1', actor: 'octocat', runId: 42, bogus: 'x', ref: '' };
  const onRecord = approvalEvent({ ...pending, ci } as ApprovalRecord, 'https://b.example');
  assert.deepEqual(onRecord.approval.ci, { repository: 'acme/shop', job: 'deploy', runUrl: 'https://github.com/acme/shop/actions/runs/1', actor: 'octocat' });
  const onRequester = approvalEvent({ ...pending, requester: { ...pending.requester, ci: { workflow: 'release', commit: 'a'.repeat(5000) } } } as ApprovalRecord, 'https://b.example');
  assert.equal(onRequester.approval.ci.workflow, 'release');
  assert.equal(onRequester.approval.ci.commit!.length, 1024);
  assert.deepEqual(approvalEvent({ ...pending, ci: 'nonsense' } as ApprovalRecord, 'https://b.example').approval.ci, {});
});

test('votes as the store records them become approvers in order, with their verdicts; junk votes are skipped', () => {
  const votes = [
    { approver: { issuer: 'https://idp', subject: 'u1', name: 'alice', groups: ['dba'] }, verdict: 'approved', reason: 'ok', at: '2025-01-01T10:01:00.000Z' },
    { approver: 'bob', verdict: 'approved' },
    { approver: { issuer: 'https://idp', subject: 'u3', name: 'dave', groups: [] }, verdict: 'denied' },
    { approver: 'erin', decision: 'approve' },
    { approver: { subject: 'no-name' } },
    null,
    'carol',
  ];
  const event = approvalEvent({ ...pending, status: 'approved', decidedBy: 'bob', votes } as unknown as ApprovalRecord, 'https://b.example');
  assert.deepEqual(event.approval.approvers, [
    { name: 'alice', issuer: 'https://idp', decision: 'approve', reason: 'ok', at: '2025-01-01T10:01:00.000Z' },
    { name: 'bob', decision: 'approve' },
    { name: 'dave', issuer: 'https://idp', decision: 'deny' },
    // A field the store never writes says nothing.
    { name: 'erin' },
  ]);
});

test('an over-long statement is cut and says how much is missing', () => {
  const command = 'x'.repeat(MAX_COMMAND_CHARS + 10);
  const event = approvalEvent({ ...pending, command }, 'https://b.example');
  assert.equal(event.approval.statement.length, MAX_COMMAND_CHARS);
  assert.equal(event.approval.statementOmitted, 10);
});
