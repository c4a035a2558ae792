// A broker restart loses nothing: close the store, open it again on the same PGlite data directory
// or the same PostgreSQL database, and every request is there as it was — votes, approvals,
// consumption — and the pending ones still expire, by the sweeper of the new process.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openApprovalStore, type ApprovalDatabase } from './open-approval-store.js';
import type { ApprovalRecord, ApprovalRequest } from '../api/broker-api-schema.js';
import type { VerifiedApprover } from '../api/parties.js';
import { createScratchDatabase, type ScratchDatabase } from '../../test/support/scratch-postgres-database.js';

const input = (over: Partial<ApprovalRequest> = {}): ApprovalRequest => ({
  requester: { subject: 'system:serviceaccount:ci:runner', issuer: 'https://kubernetes.default.svc', identities: [], ci: { system: 'gitlab', pipeline: '42' } },
  target: 'orders-db',
  protocol: 'postgres',
  command: 'UPDATE orders SET total = $1',
  parameters: [{ position: 1, format: 'text', typeOid: 0, value: '7', bytes: 1 }],
  rule: 'writes-held',
  approvers: ['alice', 'bob'],
  threshold: 2,
  sessionId: 's1',
  timeoutMs: 60_000,
  hash: `sha256:${'d'.repeat(64)}`,
  ...over,
});
const approver = (name: string): VerifiedApprover => ({ issuer: 'https://idp.example', subject: `sub-${name}`, name, groups: [] });

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups) await c();
});

async function survivesRestart(database: ApprovalDatabase): Promise<void> {
  const first = await openApprovalStore(database);
  const soon = await first.create(input({ timeoutMs: 1_500 }));
  const later = await first.create(input());
  await first.decide(later.id, 'approved', approver('alice'), 'half way');
  const approved = await first.create(input());
  await first.decide(approved.id, 'approved', approver('alice'));
  await first.decide(approved.id, 'approved', approver('bob'), 'second');
  const used = await first.create(input({ threshold: 1 }));
  await first.decide(used.id, 'approved', approver('bob'));
  await first.consume(used.id, used.hash);
  const denied = await first.create(input());
  await first.decide(denied.id, 'denied', approver('bob'), 'no');
  const ids = [soon.id, later.id, approved.id, used.id, denied.id];
  const before = await Promise.all(ids.map((id) => first.get(id)));
  await first.close();

  const second = await openApprovalStore(database, { sweepIntervalMs: 200 });
  try {
    const afterRestart = await Promise.all(ids.map((id) => second.get(id)));
    assert.deepEqual(afterRestart, before, 'every record, votes included, is as it was');
    assert.deepEqual(afterRestart.map((r) => r.status), ['pending', 'pending', 'approved', 'approved', 'denied']);
    assert.ok(afterRestart[3]!.consumedAt, 'a used approval stays used');
    await assert.rejects(second.consume(used.id, used.hash), /already used/);
    // The half-approved request continues where it stopped: bob's vote completes it.
    const completed = await second.decide(later.id, 'approved', approver('bob'));
    assert.deepEqual([completed.status, completed.decidedBy], ['approved', 'alice, bob']);
    await assert.rejects(second.decide(later.id, 'approved', approver('alice')), /already approved/);
    // Nobody waits on `soon`: only the new process's sweeper can expire it.
    await untilStatus(() => second.get(soon.id), 'expired', 4_000);
    assert.ok(Date.now() >= Date.parse(soon.expiresAt), 'not before its time');
  } finally {
    await second.close();
  }
}

async function untilStatus(read: () => Promise<ApprovalRecord>, status: string, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  let last = await read();
  while (last.status !== status && Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 50));
    last = await read();
  }
  assert.equal(last.status, status);
}

test('PGlite in a data directory: a restart keeps pending and decided requests, and the pending still expire', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-broker-pglite-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await survivesRestart({ kind: 'pglite', dataDir: join(dir, 'data') });
});

test('PostgreSQL: a restart keeps pending and decided requests, and the pending still expire', async () => {
  const db: ScratchDatabase = await createScratchDatabase('sidegate_broker_test');
  cleanups.push(() => db.drop());
  await survivesRestart({ kind: 'postgres', connection: db.connection });
});
