// What an approver may read, against the real embedded store (PGlite in memory).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApprovalError, type ApprovalStore } from '../store/approval-store.js';
import { openApprovalStore } from '../store/open-approval-store.js';
import type { ApprovalRequest } from '../api/broker-api-schema.js';
import type { VerifiedApprover } from '../api/parties.js';
import { visibleApprovals } from './visible-approvals.js';

const IDP = 'https://idp.example';
const who = (name: string, groups: string[] = []): VerifiedApprover => ({ issuer: IDP, subject: `sub-${name}`, name, groups });
const input = (over: Partial<ApprovalRequest> = {}): ApprovalRequest => ({
  requester: { subject: 'repo:acme/api', issuer: 'https://token.actions.githubusercontent.com', identities: [], ci: { actor: 'octocat' } },
  target: 'db',
  protocol: 'postgres',
  command: 'DELETE FROM orders WHERE id = 1',
  rule: 'deletes-need-approval',
  groups: ['dba'],
  sessionId: 's1',
  timeoutMs: 60_000,
  hash: `sha256:${'a'.repeat(64)}`,
  ...over,
});

let store: ApprovalStore;
before(async () => {
  store = await openApprovalStore({ kind: 'memory' });
});
after(async () => {
  await store.close();
});

const unknown = (id: string) => (err: unknown) => err instanceof ApprovalError && err.status === 404 && err.message === `no approval ${id}`;

test('an approver reads only what they may decide; a hidden request is the unknown-id 404', async () => {
  const dbaOnly = await store.create(input());
  const open = await store.create(input({ groups: [] }));
  const named = await store.create(input({ groups: [], approvers: ['carol'] }));
  const visible = visibleApprovals(store, [{ issuer: IDP, subject: 'sub-boss' }]);
  const ids = async (viewer: VerifiedApprover | undefined) => (await visible.list({ status: 'pending', limit: 100 }, viewer)).map((r) => r.id);

  assert.deepEqual(await ids(who('alice', ['dba'])), [dbaOnly.id, open.id]);
  assert.deepEqual(await ids(who('carol', ['dev'])), [open.id, named.id]);
  assert.deepEqual(await ids(who('octocat')), [open.id], 'the CI actor only where anyone may');
  assert.deepEqual(await ids(who('boss')), [dbaOnly.id, open.id, named.id], 'a super-approver');
  assert.deepEqual(await ids(undefined), [dbaOnly.id, open.id, named.id], 'the static admin token acts as anyone');

  assert.equal((await visible.get(dbaOnly.id, who('alice', ['dba']))).id, dbaOnly.id);
  await assert.rejects(visible.get(dbaOnly.id, who('carol', ['dev'])), unknown(dbaOnly.id));
  await assert.rejects(visible.check(dbaOnly.id, who('carol', ['dev'])), unknown(dbaOnly.id));
  await assert.rejects(visible.get('apr-zzzzzz', who('alice', ['dba'])), unknown('apr-zzzzzz'));
});

test('a filtered list still fills its limit past records the viewer may not see', async () => {
  const own = await openApprovalStore({ kind: 'memory' });
  try {
    for (let i = 0; i < 20; i++) await own.create(input({ groups: ['ops'] }));
    const mine = [await own.create(input({ groups: ['sre'] })), await own.create(input({ groups: ['sre'] }))];
    const visible = visibleApprovals(own);
    assert.deepEqual((await visible.list({ status: 'pending', limit: 1 }, who('sam', ['sre']))).map((r) => r.id), [mine[0]!.id]);
    assert.deepEqual((await visible.list({ status: 'pending', limit: 5 }, who('sam', ['sre']))).map((r) => r.id), mine.map((r) => r.id));
  } finally {
    await own.close();
  }
});
