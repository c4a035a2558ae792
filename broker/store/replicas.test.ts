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

// Re-reads come only every minute: a prompt wake-up across replicas can only be the NOTIFY.
const open = () => SqlApprovalStore.open(openPostgresClient(db.connection), { recheckIntervalMs: 60_000, sweepIntervalMs: 60_000 });

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
  // every third request carol denies instead.
  const calls: { id: string; name: string; verdict: 'approved' | 'denied'; result: Promise<ApprovalRecord> }[] = [];
  requests.forEach((r, i) => {
    for (const who of APPROVERS) {
      const verdict = i % 3 === 0 && who.name === 'carol' ? 'denied' : 'approved';
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
      assert.equal(final.decidedBy, 'carol');
    }
    for (const v of final.votes) assert.match(v.reason!, new RegExp(`^${v.approver.name} on [AB]$`), 'each vote keeps its own reason');
  }
  assert.equal(approved + denied, N);
  assert.ok(denied > 0 && denied <= N / 3, `carol's denials win only where she voted before two approvals (${denied})`);

  // The waiters on A saw every decision, including those made on B.
  const seen = await Promise.all(waited);
  for (const [k, r] of seen.entries()) assert.equal(r.status, (await a.get(requests[k]!.id)).status);
  assert.equal(a.waiterCount, 0);
  process.stdout.write(`# ${calls.length} concurrent votes on ${N} requests over 2 replicas in ${elapsed} ms: ${approved} approved, ${denied} denied\n`);
});

test('a waiter on replica A sees a decision made on replica B within moments (NOTIFY)', async () => {
  const latencies: number[] = [];
  for (let i = 0; i < 10; i++) {
    const r = await b.create(input({ threshold: 1 }));
    const waiting = a.wait(r.id, 10_000);
    await new Promise((res) => setTimeout(res, 20));
    const t0 = Date.now();
    await b.decide(r.id, i % 2 ? 'approved' : 'denied', APPROVERS[i % 4]!);
    const seen = await waiting;
    latencies.push(Date.now() - t0);
    assert.notEqual(seen.status, 'pending');
  }
  latencies.sort((x, y) => x - y);
  process.stdout.write(`# cross-replica wake-up: median ${latencies[5]} ms, max ${latencies[9]} ms\n`);
  assert.ok(latencies[9]! < 1_000, `every waiter woke within a second (max ${latencies[9]} ms), far sooner than the 60 s re-read`);
});

test('with its LISTEN connection killed, a replica still releases waiters by re-reading, and listens again', async () => {
  const c = await SqlApprovalStore.open(openPostgresClient(db.connection), { recheckIntervalMs: 300, sweepIntervalMs: 60_000 });
  try {
    const admin = new pg.Client(db.connection);
    await admin.connect();
    // Only the database owner's sessions are visible to it; the LISTEN sessions are a's, b's and c's.
    const killed = await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`,
    );
    await admin.end();
    assert.ok(killed.rowCount! >= 3, 'every replica lost its LISTEN connection');
    const r = await a.create(input({ threshold: 1 }));
    const waiting = c.wait(r.id, 10_000);
    const t0 = Date.now();
    await a.decide(r.id, 'approved', APPROVERS[0]!);
    assert.equal((await waiting).status, 'approved');
    assert.ok(Date.now() - t0 < 2_000, 'released by the periodic re-read');
    // After the reconnect pause, notifications work again (b has no fast re-read).
    await new Promise((res) => setTimeout(res, 1_500));
    const r2 = await a.create(input({ threshold: 1 }));
    const waiting2 = b.wait(r2.id, 10_000);
    const t1 = Date.now();
    await a.decide(r2.id, 'denied', APPROVERS[1]!);
    assert.equal((await waiting2).status, 'denied');
    assert.ok(Date.now() - t1 < 1_000, 'b listens again');
  } finally {
    await c.close();
  }
});

test('requests of a replica that went away expire on the others, each exactly once, even when both sweep at once', async () => {
  const gone = await open();
  const rs = await Promise.all(Array.from({ length: 20 }, () => gone.create(input({ timeoutMs: 150 }))));
  await gone.close();
  await new Promise((res) => setTimeout(res, 200));
  for (const r of rs) assert.equal((await a.get(r.id)).status, 'pending', 'nobody swept yet (periodic sweeps are a minute apart)');
  const third = await open();
  const counts = await Promise.all([a.expireOverdue(), b.expireOverdue(), third.expireOverdue()]).finally(() => third.close());
  assert.equal(counts.reduce((x, y) => x + y, 0), rs.length, `each request expired once (${counts.join(' + ')})`);
  for (const r of rs) assert.equal((await b.get(r.id)).status, 'expired');
  assert.equal(await a.expireOverdue(), 0);
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
