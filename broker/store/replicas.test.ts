// Two broker replicas over one PostgreSQL (the test PostgreSQL 15, a scratch database): each
// request decided exactly once under concurrent votes from several approvers on both replicas,
// votes counted against the threshold, waiters on one replica told of decisions on the other.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { ApprovalError } from './approval-store.js';
import { SqlApprovalStore } from './sql-approval-store.js';
import { openPostgresClient } from './postgres-sql-client.js';
import type { ApprovalRecord, ApprovalRequest } from '../api/broker-api-schema.js';
import type { VerifiedApprover } from '../api/parties.js';
import { createScratchDatabase, type ScratchDatabase } from '../../test/support/scratch-postgres-database.js';

let db: ScratchDatabase;
let a: SqlApprovalStore;
let b: SqlApprovalStore;

const input = (over: Partial<ApprovalRequest> = {}): ApprovalRequest => ({
  requester: { subject: 'repo:acme/api:ref:refs/heads/main', issuer: 'https://token.actions.githubusercontent.com', identities: [], ci: { actor: 'octocat' } },
  target: 'orders-db',
  protocol: 'postgres',
  command: 'DELETE FROM orders WHERE id = $1',
  rule: 'deletes-need-two',
  approvers: [],
  groups: ['dba'],
  threshold: 2,
  sessionId: 's1',
  timeoutMs: 60_000,
  hash: `sha256:${'c'.repeat(64)}`,
  ...over,
});
const approver = (name: string): VerifiedApprover => ({ issuer: 'https://idp.example', subject: `sub-${name}`, name, groups: ['dba'] });
const APPROVERS = ['alice', 'bob', 'carol', 'dave'].map(approver);

// Re-reads and sweeps come only every ten minutes: a prompt wake-up across replicas can only be
// the NOTIFY, and an expiry only the sweep a test asks for or a waiter's timer.
const RARELY = 600_000;
const open = () => SqlApprovalStore.open(openPostgresClient(db.connection), { recheckIntervalMs: RARELY, sweepIntervalMs: RARELY });

before(async () => {
  db = await createScratchDatabase('sidegate_broker_test');
  [a, b] = await Promise.all([open(), open()]);
});

after(async () => {
  await Promise.allSettled([a?.close(), b?.close()]);
  await db?.drop();
});

test('concurrent votes from four approvers on both replicas: every request decided exactly once, threshold 2 counted right', async () => {
  const N = 60;
  const requests = await Promise.all(Array.from({ length: N }, (_, i) => (i % 2 ? a : b).create(input())));
  // Waiters on replica A for every request, before anyone votes.
  const waited = requests.map((r) => a.wait(r.id, 20_000));
  // Every approver votes on every request from BOTH replicas at once (a double vote each); on
  // every third request all but alice deny, so only one approval can come: it must be denied.
  const calls: { id: string; name: string; verdict: 'approved' | 'denied'; result: Promise<ApprovalRecord> }[] = [];
  const denying = (i: number, name: string) => i % 3 === 0 && name !== 'alice';
  requests.forEach((r, i) => {
    for (const who of APPROVERS) {
      const verdict = denying(i, who.name) ? 'denied' : 'approved';
      for (const replica of [a, b]) calls.push({ id: r.id, name: who.name, verdict, result: replica.decide(r.id, verdict, who, `${who.name} on ${replica === a ? 'A' : 'B'}`) });
    }
  });
  const started = Date.now();
  const settled = await Promise.allSettled(calls.map((c) => c.result));
  const elapsed = Date.now() - started;

  for (const s of settled) {
    if (s.status === 'rejected') {
      assert.ok(s.reason instanceof ApprovalError && s.reason.status === 409, `only 409s refuse a vote: ${String(s.reason)}`);
    }
  }
  let approved = 0;
  let denied = 0;
  for (const r of requests) {
    const final = await b.get(r.id);
    assert.notEqual(final.status, 'pending', r.id);
    const mine = calls.map((c, k) => ({ c, s: settled[k]! })).filter(({ c }) => c.id === r.id);
    const accepted = mine.filter(({ s }) => s.status === 'fulfilled');
    // Each accepted call is exactly one recorded vote; the one that decided is the only one that
    // returned a decided record.
    assert.equal(final.votes.length, accepted.length, `${r.id}: every accepted vote is recorded, nothing else`);
    const deciders = accepted.filter(({ s }) => (s as PromiseFulfilledResult<ApprovalRecord>).value.status !== 'pending');
    assert.equal(deciders.length, 1, `${r.id} was decided exactly once`);
    const voters = final.votes.map((v) => v.approver.subject);
    assert.equal(new Set(voters).size, voters.length, 'no approver counted twice');
    const approvals = final.votes.filter((v) => v.verdict === 'approved');
    if (final.status === 'approved') {
      approved++;
      assert.equal(approvals.length, 2, 'approved at exactly the threshold');
      assert.equal(final.votes.length, 2, 'no vote after the decision');
      assert.equal(final.decidedBy, approvals.map((v) => v.approver.name).join(', '));
    } else {
      assert.equal(final.status, 'denied');
      denied++;
      assert.ok(approvals.length < 2, 'denied before reaching the threshold');
      assert.equal(final.votes.at(-1)!.verdict, 'denied');
      assert.ok(['bob', 'carol', 'dave'].includes(final.decidedBy!), final.decidedBy);
    }
    for (const v of final.votes) assert.match(v.reason!, new RegExp(`^${v.approver.name} on [AB]$`), 'each vote keeps its own reason');
  }
  assert.deepEqual([approved, denied], [(N * 2) / 3, N / 3], 'denied exactly where two approvals could not come');
  for (const [i, r] of requests.entries()) assert.equal((await a.get(r.id)).status, i % 3 === 0 ? 'denied' : 'approved');

  // The waiters on A saw every decision, including those made on B.
  const seen = await Promise.all(waited);
  for (const [k, r] of seen.entries()) assert.equal(r.status, (await a.get(requests[k]!.id)).status);
  assert.equal(a.waiterCount, 0);
  process.stdout.write(`# ${calls.length} concurrent votes on ${N} requests over 2 replicas in ${elapsed} ms: ${approved} approved, ${denied} denied\n`);
});

/** Creates a request on `decider`, waits on it on `waiter`, decides it: ms until the waiter saw it. */
async function decidedWhileWaiting(decider: SqlApprovalStore, waiter: SqlApprovalStore, verdict: 'approved' | 'denied'): Promise<number> {
  const r = await decider.create(input({ threshold: 1 }));
  const waiting = waiter.wait(r.id, 10_000);
  await new Promise((res) => setTimeout(res, 20));
  const t0 = Date.now();
  await decider.decide(r.id, verdict, APPROVERS[0]!);
  assert.equal((await waiting).status, verdict);
  return Date.now() - t0;
}

test('a waiter on replica A sees a decision made on replica B within moments (NOTIFY)', async () => {
  const latencies: number[] = [];
  for (let i = 0; i < 10; i++) latencies.push(await decidedWhileWaiting(b, a, i % 2 ? 'approved' : 'denied'));
  latencies.sort((x, y) => x - y);
  process.stdout.write(`# cross-replica wake-up: median ${latencies[5]} ms, max ${latencies[9]} ms\n`);
  assert.ok(latencies[9]! < 1_000, `every waiter woke within a second (max ${latencies[9]} ms), far sooner than the periodic re-read`);
});

test('with its LISTEN connection killed, a replica still releases waiters by re-reading, and listens again', async () => {
  const c = await SqlApprovalStore.open(openPostgresClient(db.connection), { recheckIntervalMs: 300, sweepIntervalMs: RARELY });
  try {
    const admin = new pg.Client(db.connection);
    await admin.connect();
    // Only the database owner's sessions are visible to it; the LISTEN sessions are a's, b's and c's.
    const killed = await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`,
    );
    await admin.end();
    assert.ok(killed.rowCount! >= 3, 'every replica lost its LISTEN connection');
    assert.ok((await decidedWhileWaiting(a, c, 'approved')) < 2_000, 'released by the periodic re-read');
    // After the reconnect pause, notifications work again (b has no fast re-read).
    await new Promise((res) => setTimeout(res, 1_500));
    assert.ok((await decidedWhileWaiting(a, b, 'denied')) < 1_000, 'b listens again');
  } finally {
    await c.close();
  }
});

test('requests of a replica that went away expire on the others, each exactly once, even when they sweep at once', async () => {
  // A database of its own: no other store here has an expiry timer that could sweep first.
  const own = await createScratchDatabase('sidegate_broker_test');
  const openOn = () => SqlApprovalStore.open(openPostgresClient(own.connection), { recheckIntervalMs: RARELY, sweepIntervalMs: RARELY });
  try {
    const gone = await openOn();
    // Creates queue on one lock (the pending bound), so the timeout leaves room for all of them.
    const rs = await Promise.all(Array.from({ length: 20 }, () => gone.create(input({ timeoutMs: 2_000 }))));
    await gone.close();
    const replicas = await Promise.all([openOn(), openOn(), openOn()]);
    // Whoever expires a request announces it (the notifiers' "expired" message): exactly once.
    const announced: string[] = [];
    for (const s of replicas) s.onSettled((record) => announced.push(`${record.id}:${record.status}`));
    try {
      const lastExpiry = Math.max(...rs.map((r) => Date.parse(r.expiresAt)));
      await new Promise((res) => setTimeout(res, lastExpiry - Date.now() + 100));
      for (const r of rs) assert.equal((await replicas[0]!.get(r.id)).status, 'pending', 'nobody swept yet');
      const counts = await Promise.all(replicas.map((s) => s.expireOverdue()));
      assert.equal(counts.reduce((x, y) => x + y, 0), rs.length, `each request expired once (${counts.join(' + ')})`);
      for (const r of rs) assert.equal((await replicas[1]!.get(r.id)).status, 'expired');
      assert.equal(await replicas[2]!.expireOverdue(), 0);
      assert.deepEqual(announced.sort(), rs.map((r) => `${r.id}:expired`).sort(), 'each expiry announced once, by the replica that made it');
    } finally {
      await Promise.all(replicas.map((s) => s.close()));
    }
  } finally {
    await own.drop();
  }
});

test('a waiter on A sees the expiry of a request made on B, on time', async () => {
  const r = await b.create(input({ timeoutMs: 300 }));
  const t0 = Date.now();
  const seen = await a.wait(r.id, 5_000);
  assert.equal(seen.status, 'expired');
  assert.ok(Date.now() - t0 < 1_500, `told ${Date.now() - t0} ms after waiting`);
});

test('the pending bound holds across replicas creating at once', async () => {
  const [c, d] = await Promise.all([
    SqlApprovalStore.open(openPostgresClient(db.connection), { maxPending: (await a.countPending()) + 10 }),
    SqlApprovalStore.open(openPostgresClient(db.connection), { maxPending: (await a.countPending()) + 10 }),
  ]);
  try {
    const before = await c.countPending();
    const made = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => (i % 2 ? c : d).create(input())));
    assert.equal(made.filter((m) => m.status === 'fulfilled').length, 10);
    assert.equal(await c.countPending(), before + 10);
  } finally {
    await Promise.all([c.close(), d.close()]);
  }
});
