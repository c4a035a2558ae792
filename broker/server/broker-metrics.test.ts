// The broker's /metrics after requests that were approved, denied and cancelled: promtool accepts
// it, the transitions and votes are counted, pending is what waits now, and no statement, requester
// or approver shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApprovalBroker } from './broker-server.js';
import { BrokerMetrics } from './broker-metrics.js';
import { parseSamples, promtoolCheck, sampleValue } from '../../test/support/prometheus-text.js';

const ADMIN = 'admin-token-0123456789';
const REQUESTER = 'requester-token-0123456789';

const request = {
  requester: { subject: 'canary-requester', issuer: 'https://ci', identities: ['ci'] },
  target: 'db',
  protocol: 'postgres',
  command: 'UPDATE canary_table SET total = ? WHERE id = ?',
  rule: 'writes-need-approval',
  approvers: ['dba'],
  sessionId: 's1',
  timeoutMs: 10_000,
  hash: `sha256:${'a'.repeat(64)}`,
};

test('/metrics counts created, decided and cancelled requests, votes and what is pending', async () => {
  // The notifier's own totals (its delivery queues are tested in broker/notifications/).
  const deliveries = { sent: 2, retried: 1, failed: 1, dropped: 0, queued: 3 };
  const metrics = new BrokerMetrics({ notifier: { counters: () => ({ total: { ...deliveries }, destinations: [] }) } });
  const broker = await startApprovalBroker({ adminToken: ADMIN, requesterToken: REQUESTER, metrics });
  const call = async (token: string, path: string, payload: unknown) => {
    const res = await fetch(broker.url + path, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(payload) });
    assert.ok(res.status < 300, `${path}: ${res.status}`);
    return (await res.json()) as { id: string };
  };
  try {
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push((await call(REQUESTER, '/v1/approvals', request)).id);
    await call(ADMIN, `/v1/approvals/${ids[0]}/approve`, { approver: 'dba' });
    await call(ADMIN, `/v1/approvals/${ids[1]}/deny`, { approver: 'dba' });
    await call(REQUESTER, `/v1/approvals/${ids[2]}/cancel`, {});

    const res = await fetch(`${broker.url}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    const check = promtoolCheck(text);
    assert.deepEqual(check.problems.filter((p) => !/^nodejs_active_(handles|requests|resources)_total /.test(p)), [], check.problems.join('\n'));
    const samples = parseSamples(text);
    const v = (name: string, labels: Record<string, string> = {}) => sampleValue(samples, name, labels);
    assert.equal(v('sidegate_broker_approvals_total', { state: 'created' }), 4);
    assert.equal(v('sidegate_broker_approvals_total', { state: 'approved' }), 1);
    assert.equal(v('sidegate_broker_approvals_total', { state: 'denied' }), 1);
    assert.equal(v('sidegate_broker_approvals_total', { state: 'cancelled' }), 1);
    assert.equal(v('sidegate_broker_votes_total', { verdict: 'approved' }), 1);
    assert.equal(v('sidegate_broker_votes_total', { verdict: 'denied' }), 1);
    assert.equal(v('sidegate_broker_approvals_pending'), 1);
    assert.equal(v('sidegate_broker_notifications_total', { result: 'sent' }), 2);
    assert.equal(v('sidegate_broker_notifications_total', { result: 'failed' }), 1);
    assert.equal(v('sidegate_broker_notifications_total', { result: 'dropped' }), 0, 'present at 0: alertable');
    assert.equal(v('sidegate_broker_notifications_queued'), 3);
    assert.doesNotMatch(text, /canary/, 'no requester, approver or statement in the metrics');

    deliveries.sent = 5;
    deliveries.queued = 0;
    const again = parseSamples(await (await fetch(`${broker.url}/metrics`)).text());
    assert.equal(sampleValue(again, 'sidegate_broker_notifications_total', { result: 'sent' }), 5, 'the counter follows the total');
    assert.equal(sampleValue(again, 'sidegate_broker_notifications_queued'), 0);
  } finally {
    await broker.close();
  }
});
