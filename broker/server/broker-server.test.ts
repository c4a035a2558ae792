import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startApprovalBroker, type ApprovalBroker } from './broker-server.js';
import type { ApprovalRecord } from '../api/broker-api-schema.js';

const ADMIN = 'admin-token-0123456789';
const REQUESTER = 'requester-token-0123456789';

const body = (over: Record<string, unknown> = {}) => ({
  requester: { subject: 'ci', issuer: 'https://ci', identities: ['ci'] },
  target: 'db',
  protocol: 'postgres',
  command: 'UPDATE orders SET total = ? WHERE id = ?',
  rule: 'writes-need-approval',
  approvers: ['dba'],
  sessionId: 's1',
  timeoutMs: 10_000,
  hash: `sha256:${'a'.repeat(64)}`,
  ...over,
});

async function withBroker(fn: (b: ApprovalBroker, call: Caller) => Promise<void>, opts: { superApprovers?: string[]; maxPending?: number } = {}) {
  const b = await startApprovalBroker({ adminToken: ADMIN, requesterToken: REQUESTER, ...opts });
  const call: Caller = async (token, method, path, payload) => {
    const res = await fetch(b.url + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
      body: payload === undefined ? undefined : typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  try {
    await fn(b, call);
  } finally {
    await b.close();
  }
}
type Caller = (token: string | undefined, method: string, path: string, payload?: unknown) => Promise<{ status: number; json: Record<string, unknown> }>;

test('create answers 201 with id, status and expiry; admins list and read it', () =>
  withBroker(async (b, call) => {
    assert.match(b.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const created = await call(REQUESTER, 'POST', '/v1/approvals', body());
    assert.equal(created.status, 201);
    assert.deepEqual(Object.keys(created.json).sort(), ['expiresAt', 'id', 'status']);
    assert.equal(created.json['status'], 'pending');
    const id = created.json['id'] as string;
    const list = await call(ADMIN, 'GET', '/v1/approvals?status=pending');
    assert.equal(list.status, 200);
    const approvals = list.json['approvals'] as ApprovalRecord[];
    assert.deepEqual(approvals.map((a) => a.id), [id]);
    assert.equal(approvals[0]!.command, 'UPDATE orders SET total = ? WHERE id = ?');
    assert.equal(((await call(ADMIN, 'GET', '/v1/approvals?status=approved')).json['approvals'] as unknown[]).length, 0);
    const one = await call(REQUESTER, 'GET', `/v1/approvals/${id}`);
    assert.equal(one.json['rule'], 'writes-need-approval');
  }));

test('approve records the approver; a second decision is 409; deny carries its reason', () =>
  withBroker(async (_b, call) => {
    const id = (await call(REQUESTER, 'POST', '/v1/approvals', body())).json['id'] as string;
    const approved = await call(ADMIN, 'POST', `/v1/approvals/${id}/approve`, { approver: 'dba', reason: 'ticket OPS-1' });
    assert.equal(approved.status, 200);
    assert.equal(approved.json['status'], 'approved');
    assert.equal(approved.json['decidedBy'], 'dba');
    assert.equal(approved.json['reason'], 'ticket OPS-1');
    const twice = await call(ADMIN, 'POST', `/v1/approvals/${id}/deny`, { approver: 'dba' });
    assert.equal(twice.status, 409);
    assert.equal(twice.json['error'], `approval ${id} is already approved`);
    const other = (await call(REQUESTER, 'POST', '/v1/approvals', body())).json['id'] as string;
    const denied = await call(ADMIN, 'POST', `/v1/approvals/${other}/deny`, { approver: 'dba', reason: 'not now' });
    assert.deepEqual([denied.json['status'], denied.json['reason']], ['denied', 'not now']);
  }));

test('long-poll wait returns when someone decides, or the pending record at its timeout', () =>
  withBroker(async (_b, call) => {
    const id = (await call(REQUESTER, 'POST', '/v1/approvals', body())).json['id'] as string;
    const started = Date.now();
    const quiet = await call(REQUESTER, 'GET', `/v1/approvals/${id}/wait?timeoutMs=100`);
    assert.equal(quiet.json['status'], 'pending');
    assert.ok(Date.now() - started >= 90);
    const waiting = call(REQUESTER, 'GET', `/v1/approvals/${id}/wait?timeoutMs=10000`);
    await new Promise((r) => setTimeout(r, 50));
    await call(ADMIN, 'POST', `/v1/approvals/${id}/approve`, { approver: 'dba' });
    const woke = await waiting;
    assert.equal(woke.json['status'], 'approved');
    assert.ok(Date.now() - started < 5_000);
    assert.equal((await call(REQUESTER, 'GET', `/v1/approvals/${id}/wait?timeoutMs=junk`)).status, 400);
  }));

test('a request expires on the broker at its timeout', () =>
  withBroker(async (_b, call) => {
    const id = (await call(REQUESTER, 'POST', '/v1/approvals', body({ timeoutMs: 80 }))).json['id'] as string;
    const waited = await call(REQUESTER, 'GET', `/v1/approvals/${id}/wait?timeoutMs=5000`);
    assert.equal(waited.json['status'], 'expired');
    assert.equal((await call(ADMIN, 'POST', `/v1/approvals/${id}/approve`, { approver: 'dba' })).status, 409);
  }));

test('threshold 2 over HTTP: each approve is a vote of the static admin issuer; a second vote by the same name is 409', () =>
  withBroker(async (_b, call) => {
    const id = (await call(REQUESTER, 'POST', '/v1/approvals', body({ approvers: ['alice', 'bob'], groups: ['dba'], threshold: 2 }))).json['id'] as string;
    const first = await call(ADMIN, 'POST', `/v1/approvals/${id}/approve`, { approver: 'alice', reason: 'checked the ticket' });
    assert.deepEqual([first.status, first.json['status'], first.json['threshold'], first.json['groups']], [200, 'pending', 2, ['dba']]);
    assert.deepEqual(first.json['votes'], [
      {
        verdict: 'approved',
        approver: { issuer: 'urn:sidegate:static-admin', subject: 'alice', name: 'alice', groups: [] },
        reason: 'checked the ticket',
        at: (first.json['votes'] as { at: string }[])[0]!.at,
      },
    ]);
    const again = await call(ADMIN, 'POST', `/v1/approvals/${id}/approve`, { approver: 'alice' });
    assert.deepEqual([again.status, again.json['error']], [409, '"alice" has already voted on this request']);
    const second = await call(ADMIN, 'POST', `/v1/approvals/${id}/approve`, { approver: 'bob' });
    assert.deepEqual([second.json['status'], second.json['decidedBy']], ['approved', 'alice, bob']);
    const bad = await call(REQUESTER, 'POST', '/v1/approvals', body({ threshold: 0 }));
    assert.deepEqual([bad.status, bad.json['error']], [400, 'invalid approval request: threshold: Too small: expected number to be >=1']);
  }));

test("the requester's identities and CI actor cannot approve, whatever token decides", () =>
  withBroker(async (_b, call) => {
    const id = (await call(REQUESTER, 'POST', '/v1/approvals', body({ approvers: [], requester: { subject: 'ci', issuer: 'https://ci', identities: ['deploy-bot'], ci: { actor: 'octocat' } } }))).json['id'] as string;
    const self = await call(ADMIN, 'POST', `/v1/approvals/${id}/approve`, { approver: 'deploy-bot' });
    assert.deepEqual([self.status, self.json['error']], [403, `"deploy-bot" cannot decide this request: it is one of the requester's identities`]);
    const actor = await call(ADMIN, 'POST', `/v1/approvals/${id}/approve`, { approver: 'octocat' });
    assert.equal(actor.status, 403);
    const record = await call(ADMIN, 'GET', `/v1/approvals/${id}`);
    assert.deepEqual([record.json['status'], record.json['votes'], (record.json['requester'] as { ci: unknown }).ci], ['pending', [], { actor: 'octocat' }]);
  }));

test('the requester cancels; a cancelled request cannot be approved', () =>
  withBroker(async (_b, call) => {
    const id = (await call(REQUESTER, 'POST', '/v1/approvals', body())).json['id'] as string;
    assert.equal((await call(ADMIN, 'POST', `/v1/approvals/${id}/cancel`, {})).status, 403);
    const cancelled = await call(REQUESTER, 'POST', `/v1/approvals/${id}/cancel`, { reason: 'client went away' });
    assert.deepEqual([cancelled.status, cancelled.json['status'], cancelled.json['reason']], [200, 'cancelled', 'client went away']);
    assert.equal((await call(ADMIN, 'POST', `/v1/approvals/${id}/approve`, { approver: 'dba' })).status, 409);
  }));

test('consume: requester only, once, for the bound hash; a bad hash is 400', () =>
  withBroker(async (_b, call) => {
    const hash = `sha256:${'a'.repeat(64)}`;
    const id = (await call(REQUESTER, 'POST', '/v1/approvals', body())).json['id'] as string;
    assert.equal((await call(REQUESTER, 'POST', `/v1/approvals/${id}/consume`, { hash })).status, 409, 'not approved yet');
    await call(ADMIN, 'POST', `/v1/approvals/${id}/approve`, { approver: 'dba' });
    assert.equal((await call(ADMIN, 'POST', `/v1/approvals/${id}/consume`, { hash })).status, 403);
    assert.equal((await call(REQUESTER, 'POST', `/v1/approvals/${id}/consume`, { hash: 'sha256:zz' })).status, 400);
    assert.equal((await call(REQUESTER, 'POST', `/v1/approvals/${id}/consume`, { hash: `sha256:${'b'.repeat(64)}` })).status, 409);
    const used = await call(REQUESTER, 'POST', `/v1/approvals/${id}/consume`, { hash });
    assert.equal(used.status, 200);
    assert.equal(typeof used.json['consumedAt'], 'string');
    assert.equal((await call(REQUESTER, 'POST', `/v1/approvals/${id}/consume`, { hash })).status, 409, 'single use');
    assert.equal((await call(REQUESTER, 'POST', '/v1/approvals', body({ hash: undefined }))).status, 400, 'no hash, no hold');
  }));

test('401 without or with a wrong token; 403 for the wrong role or an unlisted approver', () =>
  withBroker(
    async (_b, call) => {
      const none = await call(undefined, 'GET', '/v1/approvals');
      assert.deepEqual([none.status, none.json['error']], [401, 'missing or invalid bearer token']);
      assert.equal((await call(ADMIN + 'x', 'GET', '/v1/approvals')).status, 401);
      assert.equal((await call('', 'POST', '/v1/approvals', body())).status, 401);
      assert.equal((await call(REQUESTER, 'GET', '/v1/approvals')).status, 403);
      assert.equal((await call(ADMIN, 'POST', '/v1/approvals', body())).status, 403);
      const id = (await call(REQUESTER, 'POST', '/v1/approvals', body())).json['id'] as string;
      assert.equal((await call(REQUESTER, 'POST', `/v1/approvals/${id}/approve`, { approver: 'dba' })).status, 403, 'sidecars cannot approve');
      const mallory = await call(ADMIN, 'POST', `/v1/approvals/${id}/approve`, { approver: 'mallory' });
      assert.equal(mallory.status, 403);
      assert.match(mallory.json['error'] as string, /"mallory" is not an approver for rule "writes-need-approval" \(approvers: dba\)/);
      const boss = await call(ADMIN, 'POST', `/v1/approvals/${id}/approve`, { approver: 'boss' });
      assert.deepEqual([boss.status, boss.json['decidedBy']], [200, 'boss'], 'super-approvers decide anything');
    },
    { superApprovers: ['boss'] },
  ));

test('404 for unknown or malformed ids and paths, without echoing them', () =>
  withBroker(async (_b, call) => {
    const unknown = await call(ADMIN, 'GET', '/v1/approvals/apr-zzzzzz');
    assert.deepEqual([unknown.status, unknown.json['error']], [404, 'no approval apr-zzzzzz']);
    const junk = await call(ADMIN, 'POST', '/v1/approvals/%3Cscript%3E/approve', { approver: 'dba' });
    assert.deepEqual([junk.status, junk.json['error']], [404, 'no such approval']);
    assert.equal((await call(ADMIN, 'GET', '/v2/things')).status, 404);
    assert.equal((await call(REQUESTER, 'GET', '/v1/approvals/apr-zzzzzz/wait?timeoutMs=10')).status, 404);
  }));

test('400 for invalid bodies and filters; 413 for bodies over 256 KiB (declared or streamed)', () =>
  withBroker(async (b, call) => {
    const bad = await call(REQUESTER, 'POST', '/v1/approvals', body({ approvers: 'dba' }));
    assert.equal(bad.status, 400);
    assert.match(bad.json['error'] as string, /^invalid approval request: approvers:/);
    assert.equal((await call(REQUESTER, 'POST', '/v1/approvals', '{not json')).status, 400);
    assert.equal((await call(REQUESTER, 'POST', '/v1/approvals', body({ timeoutMs: -1 }))).status, 400);
    assert.equal((await call(ADMIN, 'GET', '/v1/approvals?status=bogus')).status, 400);
    const id = (await call(REQUESTER, 'POST', '/v1/approvals', body())).json['id'] as string;
    const noApprover = await call(ADMIN, 'POST', `/v1/approvals/${id}/approve`, {});
    assert.equal(noApprover.status, 400);
    const big = await call(REQUESTER, 'POST', '/v1/approvals', body({ command: 'x'.repeat(4_000_000) }));
    assert.deepEqual([big.status, big.json['error']], [413, 'request body larger than 262144 bytes']);
    // Chunked (no content-length): the limit is enforced while reading.
    const chunked = await fetch(b.url + '/v1/approvals', {
      method: 'POST',
      headers: { authorization: `Bearer ${REQUESTER}` },
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < 40; i++) c.enqueue(new Uint8Array(8 * 1024).fill(120));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    assert.equal(chunked.status, 413);
  }));

test('beyond the pending bound creation is refused (429) and nothing is held', () =>
  withBroker(
    async (b, call) => {
      assert.equal((await call(REQUESTER, 'POST', '/v1/approvals', body())).status, 201);
      const refused = await call(REQUESTER, 'POST', '/v1/approvals', body());
      assert.deepEqual([refused.status, refused.json['error']], [429, 'too many pending approvals (limit 1); the command is not held']);
      assert.equal(await b.store.countPending(), 1);
    },
    { maxPending: 1 },
  ));

test('a long-poll whose client hangs up releases its waiter at once', () =>
  withBroker(async (b, call) => {
    const id = (await call(REQUESTER, 'POST', '/v1/approvals', body())).json['id'] as string;
    const port = Number(new URL(b.url).port);
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(`GET /v1/approvals/${id}/wait?timeoutMs=60000 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${REQUESTER}\r\n\r\n`);
    const waiters = () => b.store.waiterCount;
    for (let i = 0; i < 100 && waiters() === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(waiters(), 1);
    socket.destroy();
    for (let i = 0; i < 100 && waiters() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(waiters(), 0);
  }));

test('refuses weak or identical tokens at start', async () => {
  await assert.rejects(startApprovalBroker({ adminToken: 'short', requesterToken: REQUESTER }), /admin token must be at least 16 characters/);
  await assert.rejects(startApprovalBroker({ adminToken: ADMIN, requesterToken: ADMIN }), /must differ/);
});
