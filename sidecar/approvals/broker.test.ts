import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApprovalBroker } from './broker-server.js';
import { ApprovalClient } from './hold-client.js';
import { runApprovalsCommand } from './approvals-cli.js';
import type { HoldRequest } from '../pipeline/command-gate.js';

const req = (command = 'UPDATE orders SET total = ? WHERE id = ?'): HoldRequest => ({
  requester: { subject: 'ci', issuer: 'https://ci', identities: ['ci'] },
  target: 'db',
  protocol: 'postgres',
  command,
  rule: 'writes-need-approval',
  approvers: ['dba'],
  sessionId: 's1',
});

async function broker() {
  const b = await startApprovalBroker({ adminToken: 'admin-token', requesterToken: 'req-token' });
  const admin = (path: string, init: RequestInit = {}) =>
    fetch(b.url + path, { ...init, headers: { authorization: 'Bearer admin-token', 'content-type': 'application/json' } });
  return { b, admin, client: new ApprovalClient({ url: b.url, token: 'req-token' }) };
}

async function pendingId(admin: (p: string) => Promise<Response>): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const { approvals } = (await (await admin('/v1/approvals?status=pending')).json()) as { approvals: { id: string }[] };
    if (approvals[0]) return approvals[0].id;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('nothing pending');
}

test('hold resolves approved when an approver approves; the approver is recorded', async () => {
  const { b, admin, client } = await broker();
  try {
    let created = '';
    const held = client.hold(req(), { timeoutMs: 10_000, onCreated: (id) => (created = id) });
    const id = await pendingId(admin);
    assert.equal(created, id);
    assert.match(id, /^apr-[a-z2-9]{6}$/);
    const res = await admin(`/v1/approvals/${id}/approve`, { method: 'POST', body: JSON.stringify({ approver: 'dba' }) });
    assert.equal(res.status, 200);
    assert.deepEqual(await held, { id, status: 'approved', approver: 'dba', reason: undefined });
    const again = await admin(`/v1/approvals/${id}/deny`, { method: 'POST', body: JSON.stringify({ approver: 'dba' }) });
    assert.equal(again.status, 409, 'deciding twice is refused');
  } finally {
    await b.close();
  }
});

test('deny, timeout, and approval by someone not listed', async () => {
  const { b, admin, client } = await broker();
  try {
    const held = client.hold(req(), { timeoutMs: 10_000 });
    const id = await pendingId(admin);
    const wrong = await admin(`/v1/approvals/${id}/approve`, { method: 'POST', body: JSON.stringify({ approver: 'mallory' }) });
    assert.equal(wrong.status, 403);
    await admin(`/v1/approvals/${id}/deny`, { method: 'POST', body: JSON.stringify({ approver: 'dba', reason: 'not now' }) });
    assert.deepEqual(await held, { id, status: 'denied', approver: 'dba', reason: 'not now' });
    const expired = await client.hold(req(), { timeoutMs: 1000 });
    assert.equal(expired.status, 'expired');
  } finally {
    await b.close();
  }
});

test('two holds wait independently; an aborted hold is cancelled at the broker', async () => {
  const { b, admin, client } = await broker();
  try {
    const ids: string[] = [];
    const a = client.hold(req('A'), { timeoutMs: 10_000, onCreated: (id) => ids.push(id) });
    const abort = new AbortController();
    const c = client.hold(req('B'), { timeoutMs: 10_000, signal: abort.signal, onCreated: (id) => ids.push(id) });
    while (ids.length < 2) await new Promise((r) => setTimeout(r, 10));
    abort.abort();
    assert.equal((await c).status, 'cancelled');
    const first = ids[0]!;
    await admin(`/v1/approvals/${first}/approve`, { method: 'POST', body: JSON.stringify({ approver: 'dba' }) });
    assert.equal((await a).status, 'approved');
    const rec = (await (await admin(`/v1/approvals/${ids[1]}`)).json()) as { status: string };
    assert.equal(rec.status, 'cancelled');
  } finally {
    await b.close();
  }
});

test('a broker that cannot be reached resolves unavailable (the caller denies)', async () => {
  const { b } = await broker();
  const url = b.url;
  await b.close();
  const out = await new ApprovalClient({ url, token: 'req-token' }).hold(req(), { timeoutMs: 1000 });
  assert.equal(out.status, 'unavailable');
});

test('HTTP errors: 401 without a token, 403 for the wrong role, 404 unknown id, 413 oversized body', async () => {
  const { b, admin } = await broker();
  try {
    assert.equal((await fetch(b.url + '/v1/approvals')).status, 401);
    assert.equal((await fetch(b.url + '/v1/approvals', { headers: { authorization: 'Bearer req-token' } })).status, 403);
    assert.equal((await admin('/v1/approvals/apr-nope')).status, 404);
    const big = await fetch(b.url + '/v1/approvals', { method: 'POST', headers: { authorization: 'Bearer req-token' }, body: 'x'.repeat(70_000) });
    assert.equal(big.status, 413);
  } finally {
    await b.close();
  }
});

test('the approvals CLI lists and approves, with exit codes', async () => {
  const { b, client } = await broker();
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-cli-'));
  try {
    const tokenFile = join(dir, 'admin.token');
    await writeFile(tokenFile, 'admin-token\n', { mode: 0o600 });
    let createdId = '';
    const held = client.hold(req(), { timeoutMs: 10_000, onCreated: (id) => (createdId = id) });
    while (!createdId) await new Promise((r) => setTimeout(r, 10));
    const io = () => {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let out = '';
      stdout.on('data', (d: Buffer) => (out += d));
      stderr.on('data', (d: Buffer) => (out += d));
      return { io: { stdout, stderr, env: {} }, text: () => out };
    };
    const list = io();
    assert.equal(await runApprovalsCommand(['list', '--broker', b.url, '--token-file', tokenFile], list.io), 0);
    assert.match(list.text(), new RegExp(`${createdId}\\s+pending`));
    assert.match(list.text(), /UPDATE orders SET total = \?/);
    const approve = io();
    assert.equal(await runApprovalsCommand(['approve', createdId, '--as', 'dba', '--broker', b.url, '--token-file', tokenFile], approve.io), 0);
    assert.match(approve.text(), /approved by dba/);
    assert.equal((await held).status, 'approved');
    const again = io();
    assert.equal(await runApprovalsCommand(['deny', createdId, '--as', 'dba', '--broker', b.url, '--token-file', tokenFile], again.io), 1);
    assert.match(again.text(), /already approved/);
    const usage = io();
    assert.equal(await runApprovalsCommand(['frobnicate', '--broker', b.url, '--token-file', tokenFile], usage.io), 2);
  } finally {
    await b.close();
    await rm(dir, { recursive: true, force: true });
  }
});
