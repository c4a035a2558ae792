// One approval record as the broker's store returns it, for tests of what is built from records
// (notifications, the page): every required field filled, any of them replaceable.
import type { ApprovalRecord } from '../../broker/api/broker-api-schema.js';

export function sampleApprovalRecord(over: Partial<ApprovalRecord> = {}): ApprovalRecord {
  return {
    id: 'apr-7k2m9q',
    status: 'pending',
    createdAt: '2025-01-01T10:00:00.000Z',
    expiresAt: '2025-01-01T10:10:00.000Z',
    requester: { subject: 'system:serviceaccount:ci:runner', issuer: 'https://kubernetes.default.svc', identities: ['ci-runner'] },
    target: 'orders-db',
    protocol: 'postgres',
    command: 'DELETE FROM orders WHERE id = $1',
    hash: `sha256:${'b'.repeat(64)}`,
    rule: 'deletes-need-approval',
    approvers: ['dba'],
    groups: [],
    threshold: 1,
    votes: [],
    sessionId: 's-1',
    ...over,
  };
}
