import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startApprovalBroker, type ApprovalBroker } from '../../broker/server/broker-server.js';
import { ApprovalClient, approvalRequestOf } from './hold-client.js';
import { CreateApprovalBody } from '../../broker/api/broker-api-schema.js';
// The pipeline's side of the translation hold-client.ts makes: real held commands, not copies.
import type { HoldRequest } from '../pipeline/command-gate.js';
import { MAX_SHOWN_PARAM_BYTES, MAX_SHOWN_PARAMS, heldCommand } from '../pipeline/held-command.js';

const ADMIN = 'admin-token-0123456789';
const REQUESTER = 'requester-token-0123456789';

const req = (command = 'UPDATE orders SET total = ? WHERE id = ?'): HoldRequest => ({
  requester: { subject: 'ci', issuer: 'https://ci', identities: ['ci'], claims: { sub: 'ci' } },
  target: 'db',
  protocol: 'postgres',
  ...heldCommand({ sessionId: 's1', target: 'db', sql: Buffer.from(command) }),
  rule: 'writes-need-approval',
  approvers: ['dba'],
  groups: [],
  threshold: 1,
  sessionId: 's1',
});

test('the broker request carries every field of the gate\'s hold request, and the timeout', () => {
  const full: HoldRequest = {
    ...req(),
    groups: ['db-owners'],
    threshold: 2,
    ...heldCommand({
      sessionId: 's1',
      target: 'db',
      sql: Buffer.from([0x53, 0x45, 0x4c, 0x45, 0x43, 0x54, 0x20, 0x24, 0x31, 0xff]),
      parameters: { values: [Buffer.from('x'.repeat(MAX_SHOWN_PARAM_BYTES + 1)), null], formats: [0], types: [25], resultFormats: [1] },
      context: 'DECLARE c CURSOR FOR SELECT 1',
    }),
    heldSpan: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' },
  };
  assert.ok(full.commandEscaped && full.parameters?.[0]?.truncated && full.context, 'every optional field is set');
  const { claims: _claims, ...requester } = full.requester;
  const { heldSpan: _held, ...rest } = full;
  assert.deepEqual(approvalRequestOf(full, 5_000), { ...rest, requester, traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', timeoutMs: 5_000 });
});

test('a held span whose ids are not a valid span context is left out, not sent for the broker to refuse', () => {
  const body = approvalRequestOf({ ...req(), heldSpan: { traceId: '0'.repeat(32), spanId: '00f067aa0ba902b7' } }, 5_000);
  assert.equal(body.traceparent, undefined);
  assert.ok(CreateApprovalBody.safeParse(body).success);
});

test("the requester's CI context comes from its verified claims, and nothing else of them", () => {
  const claims = { sub: 'repo:acme/shop:ref:refs/heads/main', repository: 'acme/shop', run_id: '991', actor: 'octocat', secret_note: 'not for the broker' };
  const body = approvalRequestOf({ ...req(), requester: { subject: claims.sub, issuer: 'https://token.actions.githubusercontent.com', identities: ['ci'], claims } }, 5_000);
  assert.deepEqual(body.requester.ci, { system: 'github', repository: 'acme/shop', runId: '991', runUrl: 'https://github.com/acme/shop/actions/runs/991', actor: 'octocat' });
  assert.doesNotMatch(JSON.stringify(body), /not for the broker/);
});

test('the largest held command the pipeline shows fits the broker\'s schema', () => {
  const count = MAX_SHOWN_PARAMS + 7;
  const big = Buffer.alloc(MAX_SHOWN_PARAM_BYTES * 4, 0xab);
  const held = heldCommand({
    sessionId: 's1',
    target: 'db',
    sql: Buffer.from('SELECT ' + Array.from({ length: count }, (_, i) => `$${i + 1}`).join(', ')),
    parameters: { values: Array.from({ length: count }, () => big), formats: [1], types: [17], resultFormats: [0] },
  });
  const parsed = CreateApprovalBody.safeParse(approvalRequestOf({ ...req(), ...held }, 60_000));
  assert.ok(parsed.success, parsed.error?.message);
  assert.equal(parsed.data.parameters?.length, MAX_SHOWN_PARAMS);
  assert.equal(parsed.data.parametersOmitted, 7);
});

async function withBroker(fn: (b: ApprovalBroker, client: ApprovalClient, decide: Decide) => Promise<void>, opts: { maxPending?: number } = {}) {
  const b = await startApprovalBroker({ adminToken: ADMIN, requesterToken: REQUESTER, ...opts });
  // Another person, at another terminal: the admin API.
  const decide: Decide = (id, verdict, approver, reason) =>
    fetch(`${b.url}/v1/approvals/${id}/${verdict}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ approver, reason }),
    }).then((r) => r.status);
  try {
    await fn(b, new ApprovalClient({ url: b.url, token: REQUESTER }), decide);
  } finally {
    await b.close();
  }
}
type Decide = (id: string, verdict: 'approve' | 'deny', approver: string, reason?: string) => Promise<number>;

function created(): { onCreated: (id: string) => void; id: Promise<string> } {
  let resolve!: (id: string) => void;
  const id = new Promise<string>((r) => (resolve = r));
  return { onCreated: resolve, id };
}

test('hold tells the id as soon as it exists and resolves approved when someone approves', () =>
  withBroker(async (b, client, decide) => {
    const c = created();
    const held = client.hold(req(), { timeoutMs: 10_000, onCreated: c.onCreated });
    const id = await c.id;
    assert.match(id, /^apr-[a-z2-9]{6}$/);
    assert.equal((await b.store.get(id)).status, 'pending');
    assert.equal((await b.store.get(id)).command, 'UPDATE orders SET total = ? WHERE id = ?');
    assert.equal(await decide(id, 'approve', 'dba', 'ticket OPS-7'), 200);
    assert.deepEqual(await held, { id, status: 'approved', approver: 'dba', reason: 'ticket OPS-7', hash: req().hash });
    assert.ok((await b.store.get(id)).consumedAt, 'the approval was used at the broker before it was reported');
  }));

test('an approval is used once: the broker refuses a second use', () =>
  withBroker(async (b, client, decide) => {
    const c = created();
    const held = client.hold(req(), { timeoutMs: 10_000, onCreated: c.onCreated });
    const id = await c.id;
    await decide(id, 'approve', 'dba');
    assert.equal((await held).status, 'approved');
    const again = await fetch(`${b.url}/v1/approvals/${id}/consume`, {
      method: 'POST',
      headers: { authorization: `Bearer ${REQUESTER}`, 'content-type': 'application/json' },
      body: JSON.stringify({ hash: req().hash }),
    });
    assert.equal(again.status, 409);
    assert.match(((await again.json()) as { error: string }).error, /already used/);
  }));

/** A broker that approves everything at once, as `record` (lets a test make it lie). */
async function withLyingBroker(record: (body: { hash: string }, path: string) => object, fn: (client: ApprovalClient, calls: string[]) => Promise<void>) {
  const calls: string[] = [];
  const server = http.createServer((r, res) => {
    let text = '';
    r.on('data', (d: Buffer) => (text += d.toString()));
    r.on('end', () => {
      calls.push(`${r.method} ${r.url}`);
      const body = (text ? JSON.parse(text) : {}) as { hash: string };
      res.writeHead(r.url === '/v1/approvals' ? 201 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(r.url === '/v1/approvals' ? { id: 'apr-aaaaaa', status: 'pending' } : record(body, r.url ?? '')));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  try {
    await fn(new ApprovalClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: REQUESTER }), calls);
  } finally {
    await new Promise((ok) => server.close(ok));
  }
}

test('an approval for another statement (another hash) does not run this one, and is not used', () =>
  withLyingBroker(
    () => ({ id: 'apr-aaaaaa', status: 'approved', decidedBy: 'dba', hash: req('DELETE FROM orders WHERE id = 1').hash }),
    async (client, calls) => {
      const out = await client.hold(req('DELETE FROM orders'), { timeoutMs: 5_000 });
      assert.deepEqual(out, { id: 'apr-aaaaaa', status: 'mismatched' });
      assert.ok(!calls.some((c) => c.includes('/consume')), 'a mismatched approval is never consumed');
      assert.ok(calls.some((c) => c.includes('/cancel')), 'and is revoked');
    },
  ));

test('a replayed answer (another request\'s approval, same hash) is a mismatch, never used', () =>
  withLyingBroker(
    () => ({ id: 'apr-bbbbbb', status: 'approved', decidedBy: 'dba', hash: req().hash }),
    async (client, calls) => {
      assert.deepEqual(await client.hold(req(), { timeoutMs: 5_000 }), { id: 'apr-aaaaaa', status: 'mismatched' });
      assert.ok(!calls.some((c) => c.includes('/consume')));
    },
  ));

test('a consume answer naming another hash is a mismatch too', () =>
  withLyingBroker(
    (_body, path) => ({ id: 'apr-aaaaaa', status: 'approved', decidedBy: 'dba', hash: path.includes('/consume') ? req('other').hash : req().hash, consumedAt: new Date().toISOString() }),
    async (client) => {
      assert.equal((await client.hold(req(), { timeoutMs: 5_000 })).status, 'mismatched');
    },
  ));

test('hold resolves denied with the approver and reason', () =>
  withBroker(async (_b, client, decide) => {
    const c = created();
    const held = client.hold(req(), { timeoutMs: 10_000, onCreated: c.onCreated });
    const id = await c.id;
    await decide(id, 'deny', 'dba', 'not during business hours');
    assert.deepEqual(await held, { id, status: 'denied', approver: 'dba', reason: 'not during business hours' });
  }));

test('no decision before the timeout → expired, and the broker has expired it too', () =>
  withBroker(async (b, client) => {
    const started = Date.now();
    const out = await client.hold(req(), { timeoutMs: 150 });
    assert.equal(out.status, 'expired');
    assert.ok(Date.now() - started >= 140, 'did not give up early');
    assert.ok(Date.now() - started < 3_000);
    assert.equal((await b.store.get(out.id)).status, 'expired');
  }));

test('two concurrent holds do not block each other', () =>
  withBroker(async (_b, client, decide) => {
    const a = created();
    const c = created();
    const first = client.hold(req('A'), { timeoutMs: 10_000, onCreated: a.onCreated });
    const second = client.hold(req('B'), { timeoutMs: 10_000, onCreated: c.onCreated });
    const [idA, idB] = await Promise.all([a.id, c.id]);
    assert.notEqual(idA, idB);
    await decide(idB, 'deny', 'dba');
    assert.equal((await second).status, 'denied', 'the second resolves while the first still waits');
    let firstDone = false;
    void first.then(() => (firstDone = true));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(firstDone, false);
    await decide(idA, 'approve', 'dba');
    assert.equal((await first).status, 'approved');
  }));

test('an aborted hold (client disconnected) is cancelled at the broker', () =>
  withBroker(async (b, client, decide) => {
    const c = created();
    const abort = new AbortController();
    const held = client.hold(req(), { timeoutMs: 10_000, signal: abort.signal, onCreated: c.onCreated });
    const id = await c.id;
    abort.abort();
    assert.deepEqual(await held, { id, status: 'cancelled' });
    assert.equal((await b.store.get(id)).status, 'cancelled');
    assert.equal(await decide(id, 'approve', 'dba'), 409, 'nobody can approve a command that will not run');
    const early = new AbortController();
    early.abort();
    assert.equal((await client.hold(req(), { timeoutMs: 10_000, signal: early.signal })).status, 'cancelled');
    assert.equal((await b.store.list()).length, 1, 'an already-aborted hold creates nothing');
  }));

test('an abort while the request is being created still cancels it at the broker (no orphan to approve)', () =>
  withBroker(async (b, client, decide) => {
    const abort = new AbortController();
    const held = client.hold(req(), { timeoutMs: 10_000, signal: abort.signal });
    abort.abort(); // the create is on its way
    const out = await held;
    assert.equal(out.status, 'cancelled');
    const records = await b.store.list();
    assert.equal(records.length, 1);
    assert.equal(records[0]!.status, 'cancelled');
    assert.equal(out.id, records[0]!.id);
    assert.equal(await decide(out.id, 'approve', 'dba'), 409);
  }));

test('broker unreachable → unavailable (the caller denies)', async () => {
  const b = await startApprovalBroker({ adminToken: ADMIN, requesterToken: REQUESTER });
  const url = b.url;
  await b.close();
  const out = await new ApprovalClient({ url, token: REQUESTER }).hold(req(), { timeoutMs: 5_000 });
  assert.deepEqual(out, { id: '-', status: 'unavailable', reason: `cannot reach the approval broker at ${url}` });
});

test('a statement too long to show an approver is refused before it is sent, with a reason', () =>
  withBroker(async (b, client) => {
    const out = await client.hold(req('SELECT ' + '?,'.repeat(20_000) + '?'), { timeoutMs: 5_000 });
    assert.deepEqual(out, { id: '-', status: 'unavailable', reason: 'the statement is too long to be held for approval (limit 32768 characters)' });
    assert.equal((await b.store.list()).length, 0);
  }));

test('broker refusing (wrong token, pending bound full) → unavailable', () =>
  withBroker(
    async (b, client) => {
      const wrong = await new ApprovalClient({ url: b.url, token: 'not-the-token-at-all' }).hold(req(), { timeoutMs: 5_000 });
      assert.deepEqual(wrong, { id: '-', status: 'unavailable', reason: 'missing or invalid bearer token' });
      const c = created();
      void client.hold(req(), { timeoutMs: 10_000, onCreated: c.onCreated });
      await c.id;
      assert.deepEqual(await client.hold(req(), { timeoutMs: 5_000 }), {
        id: '-',
        status: 'unavailable',
        reason: 'too many pending approvals (limit 1); the command is not held',
      });
    },
    { maxPending: 1 },
  ));

test('a broker that stops answering mid-hold → unavailable, not a hang', () =>
  withBroker(async (b, client) => {
    const c = created();
    const held = client.hold(req(), { timeoutMs: 30_000, onCreated: c.onCreated });
    await c.id;
    const started = Date.now();
    await b.close(); // open long-polls are answered "pending", later polls cannot connect
    assert.equal((await held).status, 'unavailable');
    assert.ok(Date.now() - started < 5_000);
  }));

test('a peer that accepts and never answers → unavailable after the request timeout', async () => {
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((s) => sockets.add(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const started = Date.now();
    const out = await new ApprovalClient({ url, token: REQUESTER, requestTimeoutMs: 200 }).hold(req(), { timeoutMs: 30_000 });
    assert.equal(out.status, 'unavailable');
    assert.ok(Date.now() - started < 2_000);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  }
});

test('a peer answering 500s or non-JSON → unavailable', async () => {
  const broken = http.createServer((_req, res) => {
    res.writeHead(_req.url === '/v1/approvals' ? 201 : 500, { 'content-type': 'text/html' });
    res.end('<html>oops</html>');
  });
  await new Promise<void>((r) => broken.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(broken.address() as AddressInfo).port}`;
    assert.equal((await new ApprovalClient({ url, token: REQUESTER }).hold(req(), { timeoutMs: 5_000 })).status, 'unavailable');
  } finally {
    await new Promise((r) => broken.close(r));
  }
});

test('a token read at every call: a rotated one is used at once, an unreadable one fails closed', () =>
  withBroker(async (b, _client, decide) => {
    let current = 'expired-token-0123456789';
    const client = new ApprovalClient({ url: b.url, token: async () => current });
    // The old token is refused by the broker: the hold cannot be asked for, so it is not held.
    assert.equal((await client.hold(req(), { timeoutMs: 5_000 })).status, 'unavailable');
    // The kubelet rotated the file: the next call presents the new token.
    current = REQUESTER;
    const c = created();
    const held = client.hold(req(), { timeoutMs: 10_000, onCreated: c.onCreated });
    await decide(await c.id, 'approve', 'dba');
    assert.equal((await held).status, 'approved');
    const unreadable = new ApprovalClient({ url: b.url, token: () => Promise.reject(new Error('token file /x is empty')) });
    const outcome = await unreadable.hold(req(), { timeoutMs: 5_000 });
    assert.equal(outcome.status, 'unavailable');
    assert.match(outcome.reason ?? '', /broker token could not be read: token file \/x is empty/);
  }));
