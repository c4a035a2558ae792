import { test } from 'node:test';
import assert from 'node:assert/strict';
import { approvalsSoFar, ciOf, formatDuration, statementPreview, thresholdOf, voterName } from './shown-approval.js';
import type { ShownApproval } from './web-deps.js';

const base = { requester: { issuer: 'i', subject: 's', identities: [] } } as unknown as ShownApproval;

test('CI claims come from the record or from its requester, strings only', () => {
  assert.deepEqual(ciOf(base), {});
  assert.deepEqual(ciOf({ ...base, ci: { repository: 'acme/api', job: '', actor: undefined } }), { repository: 'acme/api' });
  assert.deepEqual(ciOf({ ...base, requester: { ...base.requester, ci: { actor: 'bob' } } }), { actor: 'bob' });
  assert.deepEqual(ciOf({ ...base, ci: { runUrl: 7 as unknown as string } }), {});
});

test('threshold defaults to one; votes count approvals only', () => {
  assert.equal(thresholdOf(base), 1);
  assert.equal(thresholdOf({ ...base, threshold: 3 }), 3);
  assert.equal(thresholdOf({ ...base, threshold: 0 }), 1);
  assert.equal(approvalsSoFar(base), 0);
  const votes = [{ approver: 'a', verdict: 'approved' }, { approver: { name: 'b' } }, { approver: 'c', verdict: 'denied' }];
  assert.equal(approvalsSoFar({ ...base, votes }), 2);
});

test('a voter is named by name, else subject', () => {
  assert.equal(voterName({ approver: 'alice' }), 'alice');
  assert.equal(voterName({ approver: { name: 'bob', subject: 'u-2' } }), 'bob');
  assert.equal(voterName({ approver: { subject: 'u-3' } }), 'u-3');
  assert.equal(voterName({ approver: {} }), '(unknown)');
});

test('the preview is one line, cut with an ellipsis', () => {
  assert.equal(statementPreview('SELECT 1\n  FROM\tt'), 'SELECT 1 FROM t');
  assert.equal(statementPreview('x'.repeat(130)), `${'x'.repeat(120)}…`);
  assert.equal(statementPreview('x'.repeat(120)), 'x'.repeat(120));
});

test('durations read at a glance', () => {
  assert.equal(formatDuration(-5), '0s');
  assert.equal(formatDuration(42_900), '42s');
  assert.equal(formatDuration(185_000), '3m 05s');
  assert.equal(formatDuration(2 * 3600_000 + 10 * 60_000), '2h 10m');
  assert.equal(formatDuration(76 * 3600_000), '3d 4h');
});
