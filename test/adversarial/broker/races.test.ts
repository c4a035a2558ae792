// Races an attacker (or bad luck) can start against two replicas over one PostgreSQL: two
// approvers reaching the threshold at once, one approver voting on both replicas at once to count
// twice, an approval racing a cancel, and one approval used on both replicas at once. Each
// request is decided once, each vote counted once, an approval used at most once, and each
// decision announced once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBrokerUnderAttack, type BrokerUnderAttack } from './broker-under-attack.js';

let h: BrokerUnderAttack;
const HASH = `sha256:${'a'.repeat(64)}`;

before(async () => {
  h = await startBrokerUnderAttack();
});

after(async () => {
  await h?.close();
});

const N = 12;

test('two approvers at the threshold at once, on two replicas: each request approved once, with both votes, announced once', async () => {
  const alice = h.rememberToken(await h.idp.idTokenFor('alice'));
  const bob = h.rememberToken(await h.idp.idTokenFor('bob'));
  const ids = await Promise.all(Array.from({ length: N }, () => h.hold({ threshold: 2 })));
  const answers = await Promise.all(
    ids.flatMap((id) => [
      h.api('POST', `/v1/approvals/${id}/approve`, alice, { reason: 'a' }, { replica: h.a }),
      h.api('POST', `/v1/approvals/${id}/approve`, bob, { reason: 'b' }, { replica: h.b }),
    ]),
  );
  assert.ok(answers.every((a) => a.status === 200), answers.map((a) => a.status).join(','));
  for (const id of ids) {
    const r = await h.record(id);
    assert.equal(r.status, 'approved');
    assert.deepEqual(r.votes.map((v) => v.approver.name).sort(), ['corp:alice', 'corp:bob']);
  }
  await h.waitForNotifications((r) => ids.every((id) => r.filter((n) => n.kind === 'webhook' && n.event === 'approval.decided' && n.body.includes(id)).length >= 1));
  await new Promise((r) => setTimeout(r, 300));
  for (const id of ids) assert.equal(h.received.filter((n) => n.kind === 'webhook' && n.event === 'approval.decided' && n.body.includes(id)).length, 1, `${id} announced once`);
});

test('one approver on both replicas at once, four times over: one vote, the threshold of two not reached', async () => {
  const alice = h.rememberToken(await h.idp.idTokenFor('alice'));
  const ids = await Promise.all(Array.from({ length: N }, () => h.hold({ threshold: 2 })));
  const answers = await Promise.all(ids.flatMap((id) => [h.a, h.b, h.a, h.b].map((replica) => h.api('POST', `/v1/approvals/${id}/approve`, alice, { reason: 'me' }, { replica }))));
  for (const id of ids) {
    const r = await h.record(id);
    assert.equal(r.status, 'pending', 'one person is one approval');
    assert.equal(r.votes.length, 1);
  }
  assert.equal(answers.filter((a) => a.status === 200).length, N, 'one accepted vote per request');
  assert.ok(answers.filter((a) => a.status !== 200).every((a) => a.status === 409));
});

test('an approval racing a cancel: never approved-and-usable after the cancel answered', async () => {
  const alice = h.rememberToken(await h.idp.idTokenFor('alice'));
  const pod = await h.podToken();
  const ids = await Promise.all(Array.from({ length: N }, () => h.hold()));
  await Promise.all(ids.flatMap((id) => [h.api('POST', `/v1/approvals/${id}/approve`, alice, { reason: 'r' }, { replica: h.a }), h.api('POST', `/v1/approvals/${id}/cancel`, pod, {}, { replica: h.b })]));
  for (const id of ids) {
    const r = await h.record(id);
    assert.equal(r.status, 'cancelled', `${id}: a cancel wins, before or after the approval (an unused approval is revoked)`);
    assert.equal((await h.api('POST', `/v1/approvals/${id}/consume`, pod, { hash: HASH })).status, 409);
  }
});

test('one approval used on both replicas at once: exactly one use succeeds', async () => {
  const alice = h.rememberToken(await h.idp.idTokenFor('alice'));
  const pod = await h.podToken();
  const ids = await Promise.all(Array.from({ length: N }, () => h.hold()));
  for (const id of ids) await h.api('POST', `/v1/approvals/${id}/approve`, alice, { reason: 'r' });
  const uses = await Promise.all(ids.flatMap((id) => [h.a, h.b, h.a, h.b].map((replica) => h.api('POST', `/v1/approvals/${id}/consume`, pod, { hash: HASH }, { replica }))));
  assert.equal(uses.filter((u) => u.status === 200).length, N, 'one use per approval');
  assert.ok(uses.filter((u) => u.status !== 200).every((u) => u.status === 409 && /already used/.test(u.text)));
});
