import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApprovalError, ApprovalStore } from './approval-store.js';
import type { ApprovalRequest } from '../api/broker-api-schema.js';
import { isApprovalId } from '../api/approval-id.js';

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

function rejects(fn: () => unknown, status: number, message: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof ApprovalError && err.status === status && message.test(err.message));
}

test('a new request is pending, with a typable unique id, its fields and an expiry', () => {
  const store = new ApprovalStore();
  try {
    const before = Date.now();
    const r = store.create(input());
    assert.ok(isApprovalId(r.id), r.id);
    assert.match(r.id, /^apr-[a-z2-9]{6}$/);
    assert.equal(r.status, 'pending');
    assert.equal(r.command, 'DELETE FROM orders WHERE id = ?');
    assert.deepEqual(r.requester, { subject: 'project_path:acme/api', issuer: 'https://gitlab.example', identities: ['ci'] });
    assert.equal(Date.parse(r.expiresAt) - Date.parse(r.createdAt), 10_000);
    assert.ok(Date.parse(r.createdAt) >= before - 1);
    assert.equal('timeoutMs' in r, false);
    const ids = new Set(Array.from({ length: 300 }, () => store.create(input()).id));
    assert.equal(ids.size, 300);
    assert.equal(store.pendingCount, 301);
  } finally {
    store.close();
  }
});

test('records handed out are copies: changing them changes nothing in the store', () => {
  const store = new ApprovalStore();
  try {
    const r = store.create(input());
    r.approvers.push('mallory');
    r.requester.identities.push('admin');
    r.status = 'approved';
    const again = store.get(r.id);
    assert.deepEqual(again.approvers, ['dba']);
    assert.deepEqual(again.requester.identities, ['ci']);
    assert.equal(again.status, 'pending');
  } finally {
    store.close();
  }
});

test('approve records who and why; deciding twice is a 409; unknown ids are 404', () => {
  const store = new ApprovalStore();
  try {
    const r = store.create(input());
    const approved = store.decide(r.id, 'approved', 'dba', 'looked fine');
    assert.equal(approved.status, 'approved');
    assert.equal(approved.decidedBy, 'dba');
    assert.equal(approved.reason, 'looked fine');
    assert.ok(approved.decidedAt);
    rejects(() => store.decide(r.id, 'denied', 'dba'), 409, /already approved/);
    rejects(() => store.decide('apr-zzzzzz', 'approved', 'dba'), 404, /no approval/);
    assert.equal(store.pendingCount, 0);
    const d = store.create(input());
    assert.equal(store.decide(d.id, 'denied', 'dba').status, 'denied');
  } finally {
    store.close();
  }
});

test('only listed approvers (or super-approvers) decide; an empty list lets anyone', () => {
  const store = new ApprovalStore({ superApprovers: ['oncall-lead'] });
  try {
    const r = store.create(input({ approvers: ['dba', 'sre'] }));
    rejects(() => store.decide(r.id, 'approved', 'mallory'), 403, /"mallory" is not an approver for rule "deletes-need-approval" \(approvers: dba, sre\)/);
    assert.equal(store.get(r.id).status, 'pending', 'a refused decision changes nothing');
    rejects(() => store.decide(r.id, 'approved', ''), 400, /approver name is required/);
    assert.equal(store.decide(r.id, 'approved', 'oncall-lead').decidedBy, 'oncall-lead');
    const open = store.create(input({ approvers: [] }));
    assert.equal(store.decide(open.id, 'denied', 'anyone').status, 'denied');
  } finally {
    store.close();
  }
});

test('a request expires at expiresAt and its waiters are told', async () => {
  const store = new ApprovalStore();
  try {
    const r = store.create(input({ timeoutMs: 50 }));
    const waited = await store.wait(r.id, 5_000);
    assert.equal(waited.status, 'expired');
    assert.equal(waited.decidedBy, undefined, 'nobody decided an expiry');
    assert.ok(Date.now() >= Date.parse(r.expiresAt) - 5);
    rejects(() => store.decide(r.id, 'approved', 'dba'), 409, /already expired/);
    assert.equal(store.pendingCount, 0);
  } finally {
    store.close();
  }
});

test('every waiter is told of a decision; a wait times out with the pending record; an aborted wait returns at once', async () => {
  const store = new ApprovalStore();
  try {
    const r = store.create(input());
    const a = store.wait(r.id, 5_000);
    const b = store.wait(r.id, 5_000);
    const short = await store.wait(r.id, 20);
    assert.equal(short.status, 'pending');
    const abort = new AbortController();
    const aborted = store.wait(r.id, 5_000, abort.signal);
    abort.abort();
    assert.equal((await aborted).status, 'pending');
    store.decide(r.id, 'denied', 'dba', 'not today');
    const [ra, rb] = await Promise.all([a, b]);
    assert.equal(ra.status, 'denied');
    assert.equal(rb.reason, 'not today');
    assert.equal((await store.wait(r.id, 5_000)).status, 'denied', 'waiting on a decided request returns at once');
  } finally {
    store.close();
  }
});

test('cancel moves pending to cancelled and leaves a denied or used request as it is', () => {
  const store = new ApprovalStore();
  try {
    const r = store.create(input());
    const c = store.cancel(r.id, 'the client went away');
    assert.equal(c.status, 'cancelled');
    assert.equal(c.reason, 'the client went away');
    rejects(() => store.decide(r.id, 'approved', 'dba'), 409, /already cancelled/);
    const d = store.create(input());
    store.decide(d.id, 'denied', 'dba');
    assert.equal(store.cancel(d.id).status, 'denied');
    const e = store.create(input());
    store.decide(e.id, 'approved', 'dba');
    store.consume(e.id, e.hash);
    assert.equal(store.cancel(e.id).status, 'approved');
  } finally {
    store.close();
  }
});

test('the pending bound refuses more requests with a clear error; deciding one makes room', () => {
  const store = new ApprovalStore({ maxPending: 3 });
  try {
    const ids = [1, 2, 3].map(() => store.create(input()).id);
    rejects(() => store.create(input()), 429, /too many pending approvals \(limit 3\)/);
    store.decide(ids[0]!, 'approved', 'dba');
    assert.equal(store.create(input()).status, 'pending');
  } finally {
    store.close();
  }
});

test('decided records are evicted oldest first beyond maxRecords; pending ones never', () => {
  const store = new ApprovalStore({ maxPending: 2, maxRecords: 4 });
  try {
    const keep = store.create(input());
    const decided = [1, 2, 3, 4].map(() => {
      const r = store.create(input());
      store.decide(r.id, 'approved', 'dba');
      return r.id;
    });
    assert.equal(store.list().length, 4);
    assert.equal(store.get(keep.id).status, 'pending');
    assert.throws(() => store.get(decided[0]!), /no approval/);
    assert.equal(store.get(decided[3]!).status, 'approved');
  } finally {
    store.close();
  }
});

test('list filters by status, keeps creation order and honours a limit', () => {
  const store = new ApprovalStore();
  try {
    const [a, b, c] = [1, 2, 3].map(() => store.create(input()));
    store.decide(b!.id, 'denied', 'dba');
    assert.deepEqual(store.list({ status: 'pending' }).map((r) => r.id), [a!.id, c!.id]);
    assert.deepEqual(store.list({ status: 'denied' }).map((r) => r.id), [b!.id]);
    assert.deepEqual(store.list({ limit: 2 }).map((r) => r.id), [a!.id, b!.id]);
  } finally {
    store.close();
  }
});

test('timeouts beyond maxTimeoutMs are shortened; close releases waiters and refuses new requests', async () => {
  const store = new ApprovalStore({ maxTimeoutMs: 60_000 });
  const r = store.create(input({ timeoutMs: 10 * 3600_000 }));
  assert.equal(Date.parse(r.expiresAt) - Date.parse(r.createdAt), 60_000);
  const waiting = store.wait(r.id, 30_000);
  store.close();
  assert.equal((await waiting).status, 'pending');
  rejects(() => store.create(input()), 503, /shutting down/);
});

test('consume: once, for the bound hash, soon after approval; cancel revokes an unused approval', () => {
  const store = new ApprovalStore();
  const hash = `sha256:${'a'.repeat(64)}`;
  const other = `sha256:${'b'.repeat(64)}`;
  const a = store.create(input({ hash }));
  rejects(() => store.consume(a.id, hash), 409, /pending, not approved/);
  store.decide(a.id, 'approved', 'dba');
  rejects(() => store.consume(a.id, other), 409, /bound to another statement/);
  const used = store.consume(a.id, hash);
  assert.ok(used.consumedAt);
  rejects(() => store.consume(a.id, hash), 409, /already used/);
  assert.equal(store.cancel(a.id).status, 'approved', 'a used approval stays what it was');

  const b = store.create(input({ hash }));
  store.decide(b.id, 'approved', 'dba');
  assert.equal(store.cancel(b.id, 'client sent CancelRequest').status, 'cancelled');
  rejects(() => store.consume(b.id, hash), 409, /cancelled, not approved/);

  const c = store.create(input({ hash }));
  const decided = store.decide(c.id, 'approved', 'dba');
  rejects(() => store.consume(c.id, hash, Date.parse(decided.decidedAt!) + 61_000), 409, /not used within/);

  const d = store.create(input({ hash }));
  store.decide(d.id, 'denied', 'dba');
  rejects(() => store.consume(d.id, hash), 409, /denied, not approved/);
});

test('the record keeps the parameters and hash it was created with (copies, not references)', () => {
  const store = new ApprovalStore();
  const parameters = [{ position: 1, format: 'text' as const, typeOid: 23, value: '42', bytes: 2 }];
  const r = store.create(input({ parameters, resultFormats: [1] }));
  parameters[0]!.value = '43';
  assert.equal(store.get(r.id).parameters![0]!.value, '42');
  assert.deepEqual(store.get(r.id).resultFormats, [1]);
  assert.equal(store.get(r.id).hash, `sha256:${'a'.repeat(64)}`);
});
