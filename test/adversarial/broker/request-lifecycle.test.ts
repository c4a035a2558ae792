// A request's lifecycle, attacked from a runner pod and by approvers: an approval consumed for
// another statement or twice; another pod reading, waiting on, cancelling or using up a request
// it did not make; votes on expired and cancelled requests; a consume after a cancel. Each: the
// refusal seen, the request unchanged, nothing secret answered.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBrokerUnderAttack, type BrokerUnderAttack } from './broker-under-attack.js';

let h: BrokerUnderAttack;
const HASH = `sha256:${'a'.repeat(64)}`;
const OTHER_HASH = `sha256:${'b'.repeat(64)}`;

before(async () => {
  h = await startBrokerUnderAttack();
});

after(async () => {
  await h?.close();
});

async function refused(id: string, status: number, attempt: () => Promise<{ status: number; text: string }>, label: string): Promise<string> {
  const before = await h.record(id);
  const answer = await attempt();
  assert.equal(answer.status, status, `${label}: ${answer.text}`);
  assert.deepEqual(await h.record(id), before, `${label}: the request is unchanged`);
  h.assertNoCanary(answer.text, label);
  return answer.text;
}

async function approved(id: string): Promise<void> {
  const answer = await h.api('POST', `/v1/approvals/${id}/approve`, h.rememberToken(await h.idp.idTokenFor('alice')), { reason: 'ok' });
  assert.equal(answer.json['status'], 'approved', answer.text);
}

const consume = async (id: string, hash: string, pod?: string) => h.api('POST', `/v1/approvals/${id}/consume`, await h.podToken({ pod }), { hash });

test('an approval runs its own statement once: another hash, then a second use, are refused', async () => {
  const id = await h.hold();
  await approved(id);
  assert.match(await refused(id, 409, () => consume(id, OTHER_HASH), 'another statement'), /bound to another statement/);
  const used = await consume(id, HASH);
  assert.equal(used.status, 200, used.text);
  assert.match(await refused(id, 409, () => consume(id, HASH), 'a second use'), /already used/);
  // On the other replica too.
  const again = await h.api('POST', `/v1/approvals/${id}/consume`, await h.podToken(), { hash: HASH }, { replica: h.b });
  assert.equal(again.status, 409);
});

test("another pod cannot read, wait on, cancel or use up a request it did not make", async () => {
  const id = await h.hold({ command: "UPDATE users SET password = 'canary-secret-param'" }, 'job-42');
  const other = await h.podToken({ pod: 'job-666' });
  const read = await refused(id, 404, () => h.api('GET', `/v1/approvals/${id}`, other), 'read');
  assert.ok(!read.includes('canary-secret-param'), "another pod's statement is not shown");
  await refused(id, 404, () => h.api('GET', `/v1/approvals/${id}/wait?timeoutMs=10`, other), 'wait');
  await refused(id, 404, () => h.api('POST', `/v1/approvals/${id}/cancel`, other, {}), 'cancel');
  await approved(id);
  await refused(id, 404, () => consume(id, HASH, 'job-666'), "use up another pod's approval");
  // The pod that asked still can; the same ServiceAccount in another pod is another pod.
  assert.equal((await consume(id, HASH, 'job-42')).status, 200);
});

test('a vote on an expired or cancelled request is 409 and changes nothing; a cancel revokes an unused approval', async () => {
  const expiring = await h.hold({ timeoutMs: 200 });
  await new Promise((r) => setTimeout(r, 400));
  const alice = h.rememberToken(await h.idp.idTokenFor('alice'));
  // The first late vote may be what finds it overdue (it then expires it); it never counts.
  const late = await h.api('POST', `/v1/approvals/${expiring}/approve`, alice, { reason: 'late' });
  assert.equal(late.status, 409);
  assert.equal((await h.record(expiring)).status, 'expired');
  assert.deepEqual((await h.record(expiring)).votes, []);
  await refused(expiring, 409, () => h.api('POST', `/v1/approvals/${expiring}/approve`, alice, {}), 'vote after expiry');
  await refused(expiring, 409, () => consume(expiring, HASH), 'use an expired request');
  const stillExpired = await h.api('POST', `/v1/approvals/${expiring}/cancel`, await h.podToken(), {});
  assert.equal(stillExpired.json['status'], 'expired', 'a cancel does not rewrite an expiry');

  const cancelled = await h.hold();
  assert.equal((await h.api('POST', `/v1/approvals/${cancelled}/cancel`, await h.podToken(), {})).json['status'], 'cancelled');
  await refused(cancelled, 409, () => h.api('POST', `/v1/approvals/${cancelled}/approve`, alice, {}), 'vote after cancel');

  const revoked = await h.hold();
  await approved(revoked);
  assert.equal((await h.api('POST', `/v1/approvals/${revoked}/cancel`, await h.podToken(), {})).json['status'], 'cancelled');
  await refused(revoked, 409, () => consume(revoked, HASH), 'use a revoked approval');
});

test('each change is announced once: the expiry of a request its pod abandoned, and no decision re-sent by a late cancel', async () => {
  const id = await h.hold({ timeoutMs: 300 });
  await h.waitForNotifications((r) => r.filter((n) => n.body.includes(id) && /expired/i.test(n.body)).length >= 2);
  const approvedId = await h.hold();
  await approved(approvedId);
  assert.equal((await consume(approvedId, HASH)).status, 200);
  await h.api('POST', `/v1/approvals/${approvedId}/cancel`, await h.podToken(), {});
  await h.api('POST', `/v1/approvals/${id}/cancel`, await h.podToken(), {});
  await new Promise((r) => setTimeout(r, 500));
  const about = (x: string) => h.received.filter((n) => n.body.includes(x));
  assert.deepEqual(about(id).map((n) => `${n.kind}:${n.event}`).sort(), ['slack:slack', 'slack:slack', 'webhook:approval.created', 'webhook:approval.decided']);
  assert.equal(about(approvedId).length, 4, 'created and approved, to both: nothing for the cancel of a used approval');
  for (const n of h.received) h.assertNoCanary(n.body, `a ${n.kind} notification`);
});
