// The corpus harness itself: each check it makes after a case can fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoCanary, CANARY, corpus, fe } from './corpus.js';
import { BackendReader } from './backend.js';

test('the canary check finds a canary in clear, hex, base64, reversed and upper case, in buffers and objects', () => {
  const secret = CANARY.secrets[0];
  for (const form of [secret, Buffer.from(secret).toString('hex'), Buffer.from(secret).toString('base64'), [...secret].reverse().join(''), secret.toLowerCase()]) {
    assert.throws(() => assertNoCanary([{ rows: [{ v: `x${form}y` }] }], 'test'), /canary/);
    assert.throws(() => assertNoCanary(Buffer.from(`..${form}..`, 'latin1'), 'test'), /canary/);
  }
  assertNoCanary(['nothing here', Buffer.from('c***@example.com')], 'test');
});

test('the backend reader cuts messages, skips an SSL answer byte and decodes fields and rows', () => {
  const r = new BackendReader();
  const msg = (type: string, body: Buffer) => Buffer.concat([Buffer.from(type), Buffer.from([0, 0, 0, 4 + body.length].map((x, i) => (i === 3 ? x : 0))), body]);
  const row = Buffer.concat([Buffer.from([0, 2]), Buffer.from([0, 0, 0, 2]), Buffer.from('ab'), Buffer.from([0xff, 0xff, 0xff, 0xff])]);
  const all = Buffer.concat([Buffer.from('N'), msg('E', Buffer.from('C42501\0Msidegate: no\0\0')), msg('D', row), msg('Z', Buffer.from('I'))]);
  for (const b of all) r.push(Buffer.from([b]));
  assert.deepEqual(r.messages.map((m) => m.type), ['E', 'D', 'Z']);
  assert.equal(r.messages[0]!.fields!['C'], '42501');
  assert.deepEqual(r.messages[1]!.values, [Buffer.from('ab'), null]);
});

const c = corpus('smoke');

c.case('an allowed read of orders runs and a read of secrets is denied', async (t) => {
  const r = await t.raw();
  r.send(fe.query('SELECT id, total FROM orders ORDER BY id LIMIT 2'));
  const ok = await r.untilReady();
  t.expectOk(ok);
  assert.equal(t.rows(ok).length, 2);
  r.send(fe.query('SELECT value FROM secrets'));
  t.expectDenied(await r.untilReady(), 'no-secrets');
});

c.case('a held DELETE is denied by the automatic approver and what it saw is recorded', async (t) => {
  const r = await t.raw();
  r.send(fe.query('DELETE FROM orders WHERE id = 1'));
  t.expectHeld(await r.untilReady());
  assert.equal(t.approvals.length, 1);
  assert.match(t.approvals[0]!.command, /DELETE FROM orders/);
});

c.case('an approved write runs (mutates)', { mutates: true, approve: true }, async (t) => {
  const r = await t.raw();
  r.send(fe.query('UPDATE orders SET total = total + 1 WHERE id = 2'));
  t.expectOk(await r.untilReady());
  const after = await t.admin('SELECT total FROM orders WHERE id = 2');
  assert.equal(after.rows[0].total, '21.00');
});

c.case('masked columns come back masked through node-postgres and psql', async (t) => {
  const client = await t.pg();
  const res = await client.query('SELECT email, card, notes FROM customers ORDER BY id');
  assert.equal(res.rows.length, 3);
  const out = await t.psql('SELECT email, card, notes FROM customers ORDER BY id;');
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /@example\.(com|org)/);
});

c.case('the checksum sees a changed row, a new sequence value, a new function and a large object', async (t) => {
  const base = await t.checksum();
  const changes: [string, string][] = [
    ["UPDATE orders SET status = 'x' WHERE id = 3", "UPDATE orders SET status = 'shipped' WHERE id = 3"],
    ["SELECT nextval('order_numbers')", "SELECT setval('order_numbers', 1, false)"],
    ['CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$', 'DROP FUNCTION f()'],
    ["SELECT lo_from_bytea(4242, 'x')", 'SELECT lo_unlink(4242)'],
  ];
  for (const [change, undo] of changes) {
    await t.admin(change);
    assert.notEqual(await t.checksum(), base, change);
    await t.admin(undo);
    assert.equal(await t.checksum(), base, undo);
  }
});
