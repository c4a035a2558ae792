// The store's semantics, run against both databases it supports: embedded PGlite (in memory) and
// the test PostgreSQL 15 (a scratch database, emptied before each test).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApprovalError, CONSUME_WINDOW_MS, type ApprovalStore } from './approval-store.js';
import { openApprovalStore } from './open-approval-store.js';
import type { SqlApprovalStoreOptions } from './sql-approval-store.js';
import type { ApprovalRequest } from '../api/broker-api-schema.js';
import type { VerifiedApprover } from '../api/parties.js';
import { isApprovalId } from '../api/approval-id.js';
import { createScratchDatabase, type ScratchDatabase } from '../../test/support/scratch-postgres-database.js';
import pg from 'pg';

const input = (over: Partial<ApprovalRequest> = {}): ApprovalRequest => ({
  requester: { subject: 'project_path:acme/api', issuer: 'https://gitlab.example', identities: ['ci'] },
  target: 'db',
  protocol: 'postgres',
  command: 'DELETE FROM orders WHERE id = ?',
  rule: 'deletes-need-approval',
  approvers: ['dba'],
  sessionId: 's1',
  timeoutMs: 10_000,
  hash: `sha256:${'a'.repeat(64)}`,
  ...over,
});

const approver = (name: string, groups: string[] = []): VerifiedApprover => ({ issuer: 'https://idp.example', subject: `sub-${name}`, name, groups });
const dba = approver('dba');

async function rejects(promise: Promise<unknown>, status: number, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => err instanceof ApprovalError && err.status === status && message.test(err.message));
}

interface Backend {
  name: string;
  open(opts?: SqlApprovalStoreOptions): Promise<ApprovalStore>;
}

const pglite: Backend = { name: 'PGlite', open: (opts) => openApprovalStore({ kind: 'memory' }, opts) };

let scratch: ScratchDatabase | undefined;
const postgres: Backend = {
  name: 'PostgreSQL',
  async open(opts) {
    scratch ??= await createScratchDatabase('sidegate_broker_test');
    // Each test starts empty: the tables exist after the first open, and are emptied here.
    const c = new pg.Client(scratch.connection);
    await c.connect();
    await c.query('DROP TABLE IF EXISTS sidegate_approval_votes, sidegate_approval_requests, sidegate_revoked_sessions, sidegate_broker_migrations');
    await c.end();
    return openApprovalStore({ kind: 'postgres', connection: scratch.connection }, opts);
  },
};

after(async () => {
  await scratch?.drop();
});

for (const backend of [pglite, postgres]) {
  describe(backend.name, () => {
    let store: ApprovalStore;
    const open = async (opts?: SqlApprovalStoreOptions) => (store = await backend.open(opts));
    const closeStore = () => store.close();

    describe('create, read, list', () => {
      before(() => open());
      after(closeStore);

      test('a new request is pending, with a typable unique id, its fields, an expiry and no votes', async () => {
        const before = Date.now();
        const r = await store.create(input());
        assert.ok(isApprovalId(r.id), r.id);
        assert.equal(r.status, 'pending');
        assert.equal(r.command, 'DELETE FROM orders WHERE id = ?');
        assert.deepEqual(r.requester, { subject: 'project_path:acme/api', issuer: 'https://gitlab.example', identities: ['ci'] });
        assert.deepEqual([r.approvers, r.groups, r.threshold, r.votes], [['dba'], [], 1, []]);
        assert.equal(Date.parse(r.expiresAt) - Date.parse(r.createdAt), 10_000);
        assert.ok(Date.parse(r.createdAt) >= before - 50);
        assert.equal('timeoutMs' in r, false);
        const ids = new Set(await Promise.all(Array.from({ length: 100 }, async () => (await store.create(input())).id)));
        assert.equal(ids.size, 100);
        assert.equal(await store.countPending(), 101);
        assert.deepEqual(await store.get(r.id), r);
      });

      test('the record keeps parameters, CI context and the requirement it was created with', async () => {
        const parameters = [{ position: 1, format: 'text' as const, typeOid: 23, value: '42', bytes: 2 }];
        const ci = { system: 'github', repository: 'acme/api', actor: 'octocat', runUrl: 'https://github.com/acme/api/actions/runs/1' };
        const r = await store.create(
          input({ parameters, resultFormats: [1], requester: { subject: 's', issuer: 'i', identities: [], ci }, groups: ['sre'], threshold: 2, commandEscaped: true, context: 'trigger t' }),
        );
        const again = await store.get(r.id);
        assert.deepEqual(again.parameters, parameters);
        assert.deepEqual(again.resultFormats, [1]);
        assert.deepEqual(again.requester.ci, ci);
        assert.deepEqual([again.groups, again.threshold, again.commandEscaped, again.context], [['sre'], 2, true, 'trigger t']);
      });

      test('list filters by status, keeps creation order and honours a limit', async () => {
        const all = await store.list();
        const [a, b, c] = await Promise.all([1, 2, 3].map(() => store.create(input({ sessionId: 'list' }))));
        await store.decide(b!.id, 'denied', dba);
        const mine = (rs: { id: string; sessionId: string }[]) => rs.filter((r) => r.sessionId === 'list').map((r) => r.id);
        const created = mine(await store.list()).sort();
        assert.deepEqual(created, [a!.id, b!.id, c!.id].sort());
        assert.deepEqual(mine(await store.list({ status: 'denied' })), [b!.id]);
        assert.equal(mine(await store.list({ status: 'pending' })).length, 2);
        assert.equal((await store.list({ limit: all.length + 1 })).length, all.length + 1);
        const ordered = (await store.list()).map((r) => r.createdAt);
        assert.deepEqual(ordered, [...ordered].sort(), 'oldest first');
      });

      test('unknown ids are 404', async () => {
        await rejects(store.get('apr-zzzzzz'), 404, /no approval apr-zzzzzz/);
        await rejects(store.decide('apr-zzzzzz', 'approved', dba), 404, /no approval/);
        await rejects(store.cancel('apr-zzzzzz'), 404, /no approval/);
        await rejects(store.consume('apr-zzzzzz', `sha256:${'a'.repeat(64)}`), 404, /no approval/);
        await rejects(store.wait('apr-zzzzzz', 10), 404, /no approval/);
      });
    });

    describe('decisions', () => {
      before(() => open({ superApprovers: ['oncall-lead'] }));
      after(closeStore);

      test('approve records the vote (who, issuer, reason, time); deciding again is a 409', async () => {
        const r = await store.create(input());
        const approved = await store.decide(r.id, 'approved', dba, 'looked fine');
        assert.equal(approved.status, 'approved');
        assert.equal(approved.decidedBy, 'dba');
        assert.equal(approved.reason, 'looked fine');
        assert.ok(approved.decidedAt);
        assert.equal(approved.votes.length, 1);
        const [vote] = approved.votes;
        assert.deepEqual({ ...vote, at: undefined }, { verdict: 'approved', approver: dba, reason: 'looked fine', at: undefined });
        assert.ok(Math.abs(Date.parse(vote!.at) - Date.parse(approved.decidedAt!)) < 1000);
        await rejects(store.decide(r.id, 'denied', approver('sre')), 409, /already approved/);
        const d = await store.create(input());
        const denied = await store.decide(d.id, 'denied', dba);
        assert.equal(denied.status, 'denied');
        assert.equal('reason' in denied.votes[0]!, false, 'no reason given, none recorded');
      });

      test('only listed approvers, group members or super-approvers vote; a refused vote changes nothing', async () => {
        const r = await store.create(input({ approvers: ['dba', 'sre'], groups: ['db-owners'] }));
        await rejects(store.decide(r.id, 'approved', approver('mallory')), 403, /"mallory" is not an approver for rule "deletes-need-approval" \(approvers: dba, sre; groups: db-owners\)/);
        assert.deepEqual([(await store.get(r.id)).status, (await store.get(r.id)).votes], ['pending', []]);
        await rejects(store.decide(r.id, 'approved', approver('')), 400, /approver name is required/);
        assert.equal((await store.decide(r.id, 'approved', approver('erin', ['db-owners']))).status, 'approved');
        const s = await store.create(input());
        assert.equal((await store.decide(s.id, 'approved', approver('oncall-lead'))).decidedBy, 'oncall-lead');
        const open = await store.create(input({ approvers: [] }));
        assert.equal((await store.decide(open.id, 'denied', approver('anyone'))).status, 'denied');
      });

      test('threshold 2: one approval keeps it pending, a second distinct approver approves; a double vote is 409', async () => {
        const r = await store.create(input({ approvers: ['alice', 'bob'], threshold: 2 }));
        const first = await store.decide(r.id, 'approved', approver('alice'), 'ok by me');
        assert.deepEqual([first.status, first.votes.length, first.decidedBy], ['pending', 1, undefined]);
        await rejects(store.decide(r.id, 'approved', approver('alice')), 409, /"alice" has already voted/);
        const second = await store.decide(r.id, 'approved', approver('bob'), 'me too');
        assert.deepEqual([second.status, second.decidedBy, second.reason], ['approved', 'alice, bob', 'me too']);
        assert.deepEqual(second.votes.map((v) => [v.approver.name, v.verdict, v.reason]), [['alice', 'approved', 'ok by me'], ['bob', 'approved', 'me too']]);

        const d = await store.create(input({ approvers: ['alice', 'bob'], threshold: 2 }));
        await store.decide(d.id, 'approved', approver('alice'));
        const denied = await store.decide(d.id, 'denied', approver('bob'), 'no');
        assert.deepEqual([denied.status, denied.decidedBy], ['denied', 'bob'], 'one deny denies');
      });

      test('the requester, its CI actor and its identities cannot vote', async () => {
        const r = await store.create(
          input({ approvers: [], requester: { issuer: 'https://idp.example', subject: 'sub-bot', identities: ['ci'], ci: { actor: 'octocat' } } }),
        );
        await rejects(store.decide(r.id, 'approved', approver('bot')), 403, /it is the requester/);
        await rejects(store.decide(r.id, 'approved', approver('octocat')), 403, /CI actor/);
        await rejects(store.decide(r.id, 'denied', approver('ci')), 403, /requester's identities/);
        assert.equal((await store.get(r.id)).status, 'pending');
      });

      test('cancel moves pending to cancelled, revokes an unused approval, leaves a denied or used one', async () => {
        const r = await store.create(input());
        const c = await store.cancel(r.id, 'the client went away');
        assert.deepEqual([c.status, c.reason], ['cancelled', 'the client went away']);
        await rejects(store.decide(r.id, 'approved', dba), 409, /already cancelled/);
        const d = await store.create(input());
        await store.decide(d.id, 'denied', dba);
        assert.equal((await store.cancel(d.id)).status, 'denied');
        const e = await store.create(input());
        await store.decide(e.id, 'approved', dba);
        await store.consume(e.id, e.hash);
        assert.equal((await store.cancel(e.id)).status, 'approved');
      });

      test('a cancel racing votes: exactly one of them wins, and the record is consistent', async () => {
        for (let i = 0; i < 10; i++) {
          const r = await store.create(input({ approvers: [] }));
          const outcomes = await Promise.allSettled([
            store.decide(r.id, 'approved', approver('a')),
            store.cancel(r.id),
            store.decide(r.id, 'denied', approver('b')),
          ]);
          const final = await store.get(r.id);
          assert.notEqual(final.status, 'pending');
          const votes = outcomes.filter((o, k) => k !== 1 && o.status === 'fulfilled').length;
          assert.ok(votes <= 1, 'at most one vote landed');
          assert.equal(final.votes.length, votes);
          if (final.status === 'cancelled') assert.ok(final.votes.length <= 1);
          else assert.equal(final.votes[0]!.verdict, final.status);
        }
      });

      test('consume: once, for the bound hash, within the window; cancel revokes an unused approval', async () => {
        const hash = `sha256:${'a'.repeat(64)}`;
        const other = `sha256:${'b'.repeat(64)}`;
        const a = await store.create(input({ hash }));
        await rejects(store.consume(a.id, hash), 409, /pending, not approved/);
        await store.decide(a.id, 'approved', dba);
        await rejects(store.consume(a.id, other), 409, /bound to another statement/);
        const [used, again] = await Promise.allSettled([store.consume(a.id, hash), store.consume(a.id, hash)]);
        assert.equal([used, again].filter((o) => o.status === 'fulfilled').length, 1, 'concurrent consumes: one wins');
        await rejects(store.consume(a.id, hash), 409, /already used/);
        assert.equal((await store.cancel(a.id)).status, 'approved', 'a used approval stays what it was');

        const b = await store.create(input({ hash }));
        await store.decide(b.id, 'approved', dba);
        assert.equal((await store.cancel(b.id, 'client sent CancelRequest')).status, 'cancelled');
        await rejects(store.consume(b.id, hash), 409, /cancelled, not approved/);

        const c = await store.create(input({ hash }));
        const decided = await store.decide(c.id, 'approved', dba);
        await rejects(store.consume(c.id, hash, Date.parse(decided.decidedAt!) + CONSUME_WINDOW_MS + 1_000), 409, /not used within 60s/);
        assert.ok((await store.consume(c.id, hash, Date.parse(decided.decidedAt!) + CONSUME_WINDOW_MS - 1_000)).consumedAt, 'inside the window');
      });
    });

    describe('waiting and expiry', () => {
      // No periodic re-read or sweep within a test: releases and expiries come from the store's own transitions and timers.
      before(() => open({ sweepIntervalMs: 600_000, recheckIntervalMs: 600_000 }));
      after(closeStore);

      test('a request expires at expiresAt and its waiters are told; a late vote is 409', async () => {
        const r = await store.create(input({ timeoutMs: 100 }));
        const waited = await store.wait(r.id, 5_000);
        assert.equal(waited.status, 'expired');
        assert.equal(waited.decidedBy, undefined, 'nobody decided an expiry');
        assert.equal(waited.reason, 'no decision before the timeout');
        assert.ok(Date.now() >= Date.parse(r.expiresAt) - 5);
        await rejects(store.decide(r.id, 'approved', dba), 409, /already expired/);
      });

      test('a vote after expiresAt, before any sweep, expires the request instead of counting', async () => {
        const r = await store.create(input({ timeoutMs: 60 }));
        await new Promise((res) => setTimeout(res, 70));
        await rejects(store.decide(r.id, 'approved', dba), 409, /already expired/);
        const after = await store.get(r.id);
        assert.deepEqual([after.status, after.votes], ['expired', []]);
      });

      test('every waiter is told of a decision; a wait times out with the pending record; an aborted wait returns at once', async () => {
        const r = await store.create(input());
        const a = store.wait(r.id, 5_000);
        const b = store.wait(r.id, 5_000);
        const short = await store.wait(r.id, 20);
        assert.equal(short.status, 'pending');
        const abort = new AbortController();
        const aborted = store.wait(r.id, 5_000, abort.signal);
        await new Promise((res) => setTimeout(res, 20));
        assert.equal(store.waiterCount, 3);
        abort.abort();
        assert.equal((await aborted).status, 'pending');
        const started = Date.now();
        await store.decide(r.id, 'denied', dba, 'not today');
        const [ra, rb] = await Promise.all([a, b]);
        assert.ok(Date.now() - started < 3_000, 'released by the decision itself');
        assert.equal(ra.status, 'denied');
        assert.equal(rb.reason, 'not today');
        assert.equal(store.waiterCount, 0);
        assert.equal((await store.wait(r.id, 5_000)).status, 'denied', 'waiting on a decided request returns at once');
      });

      test('onSettled: each change announced once — a decision, a cancel, a revocation, an expiry by timer or by a late vote', async () => {
        const seen: string[] = [];
        const stop = store.onSettled((record) => seen.push(`${record.id}:${record.status}`));
        const throwing = store.onSettled(() => {
          throw new Error('a broken listener');
        });
        try {
          const two = await store.create(input({ threshold: 2, approvers: [], groups: ['dba'] }));
          await store.decide(two.id, 'approved', approver('x', ['dba']));
          assert.deepEqual(seen, [], 'a vote short of the threshold is no change');
          await store.decide(two.id, 'approved', approver('y', ['dba']));
          const cancelled = await store.create(input());
          await store.cancel(cancelled.id);
          await store.cancel(cancelled.id);
          await store.cancel(two.id, 'the client went away');
          await store.cancel(two.id);
          const timed = await store.create(input({ timeoutMs: 50 }));
          assert.equal((await store.wait(timed.id, 5_000)).status, 'expired');
          const late = await store.create(input({ timeoutMs: 1_000_000 }));
          await new Promise((res) => setTimeout(res, 20));
          const lateVote = await store.create(input({ timeoutMs: 30 }));
          await new Promise((res) => setTimeout(res, 40));
          // The vote comes before the timer's sweep can (both race; only one expires it).
          await assert.rejects(store.decide(lateVote.id, 'approved', dba));
          await store.cancel(lateVote.id);
          for (let i = 0; i < 50 && seen.length < 5; i++) await new Promise((res) => setTimeout(res, 20));
          assert.deepEqual(seen, [`${two.id}:approved`, `${cancelled.id}:cancelled`, `${two.id}:cancelled`, `${timed.id}:expired`, `${lateVote.id}:expired`]);
          assert.equal((await store.get(late.id)).status, 'pending');
        } finally {
          stop();
          throwing();
        }
      });

      test('expireOverdue is idempotent: the second run finds nothing', async () => {
        const rs = await Promise.all([1, 2, 3].map(() => store.create(input({ timeoutMs: 1 }))));
        await new Promise((res) => setTimeout(res, 30));
        await Promise.all([store.expireOverdue(), store.expireOverdue()]);
        assert.equal(await store.expireOverdue(), 0);
        for (const r of rs) assert.equal((await store.get(r.id)).status, 'expired');
      });
    });

    describe('bounds', () => {
      test('the pending bound refuses more requests with a clear error; deciding one makes room', async () => {
        await open({ maxPending: 3 });
        try {
          const ids = await Promise.all([1, 2, 3].map(async () => (await store.create(input())).id));
          await rejects(store.create(input()), 429, /too many pending approvals \(limit 3\)/);
          await store.decide(ids[0]!, 'approved', dba);
          assert.equal((await store.create(input())).status, 'pending');
          const burst = await Promise.allSettled(Array.from({ length: 10 }, () => store.create(input())));
          assert.equal(burst.filter((o) => o.status === 'fulfilled').length, 0, 'the bound holds under concurrent creates');
          assert.equal(await store.countPending(), 3);
        } finally {
          await store.close();
        }
      });

      test('decided records are deleted oldest first beyond maxRecords; pending ones never', async () => {
        await open({ maxPending: 2, maxRecords: 4 });
        try {
          const keep = await store.create(input());
          const decided: string[] = [];
          for (let i = 0; i < 4; i++) {
            const r = await store.create(input());
            await store.decide(r.id, 'approved', dba);
            decided.push(r.id);
          }
          assert.equal((await store.list()).length, 4);
          assert.equal((await store.get(keep.id)).status, 'pending');
          await rejects(store.get(decided[0]!), 404, /no approval/);
          assert.equal((await store.get(decided[3]!)).status, 'approved');
        } finally {
          await store.close();
        }
      });

      test('timeouts beyond maxTimeoutMs are shortened; close releases waiters and refuses new requests', async () => {
        await open({ maxTimeoutMs: 60_000 });
        const r = await store.create(input({ timeoutMs: 10 * 3600_000 }));
        assert.equal(Date.parse(r.expiresAt) - Date.parse(r.createdAt), 60_000);
        const waiting = store.wait(r.id, 30_000);
        await new Promise((res) => setTimeout(res, 20));
        await store.close();
        assert.equal((await waiting).status, 'pending');
        await rejects(store.create(input()), 503, /shutting down/);
      });
    });
  });
}
