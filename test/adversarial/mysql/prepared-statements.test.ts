// MySQL corpus, class 3: prepared-statement id confusion. sidegate decides a statement at prepare
// and enforces it at every execute, so the id a client executes must be the statement sidegate
// decided: ids come from the server's replies, an id sidegate cannot attribute is refused (1243),
// and nothing the server would run under an id is something sidegate never saw. Binary rows of
// prepared statements are in masking.test.ts.
import assert from 'node:assert/strict';
import { corpus, describeReply } from './corpus.js';
import { COM, LONG_DATA, stmtExecute, type Reply } from '../../support/mysql-raw-client.js';

const c = corpus('prepared');

/** The id MariaDB gives "the statement just prepared" (MariaDB's direct execution). */
const LAST = 0xffffffff;

function unknownHandler(t: { expectRefused(got: unknown, code?: number): void }, got: Reply): void {
  assert.ok(got.error, `expected an ERR, got ${describeReply(got)}`);
  assert.equal(got.error.code, 1243, describeReply(got));
}

c.case('executing an id never prepared is refused (1243); nothing runs', async (t) => {
  const r = await t.raw();
  for (const id of [0, 1, 2, 7, 0x7fffffff]) unknownHandler(t, await r.execute(id));
  assert.equal((await r.query('SELECT 1')).error, undefined);
});

c.case('an id whose prepare was denied is unknown (1243), even the id the server would have given', async (t) => {
  const r = await t.raw();
  const p = await r.prepare('DELETE FROM customers WHERE id = 3');
  t.expectDenied(p.error);
  for (const id of [1, 2, 0]) unknownHandler(t, await r.execute(id));
});

c.case('id -1 after a denied prepare (nothing prepared before) is refused, nothing runs', async (t) => {
  const r = await t.raw();
  t.expectDenied((await r.prepare('DELETE FROM customers WHERE id = 3')).error);
  const got = await r.execute(LAST);
  assert.ok(got.error, describeReply(got));
});

c.case('id -1 after an allowed prepare and a denied one runs the allowed statement or nothing', async (t) => {
  const r = await t.raw();
  const ok = await r.prepare('SELECT id FROM orders WHERE id = 1');
  assert.equal(ok.error, undefined);
  t.expectDenied((await r.prepare('DELETE FROM customers WHERE id = 3')).error);
  const got = await r.execute(LAST);
  if (!got.error) {
    assert.equal(got.results.length, 1, describeReply(got));
    assert.deepEqual(got.results[0]!.columns.map((col) => col.name), ['id']);
  }
});

c.case('id -1 after a held-kind prepare (forwarded) is decided as that statement: held and denied', async (t) => {
  const r = await t.raw();
  const p = await r.prepare('DELETE FROM orders WHERE id = 1');
  assert.equal(p.error, undefined, 'a statement needing approval is prepared; its executes are held');
  t.expectHeld(await r.execute(LAST));
});

c.case('pipelined prepare + execute -1 (direct execution) of a denied DELETE: both refused', async (t) => {
  const r = await t.raw();
  r.write(Buffer.concat([frame(Buffer.concat([Buffer.from([COM.STMT_PREPARE]), Buffer.from('DELETE FROM customers WHERE id = 3')])), frame(stmtExecute(LAST, []))]));
  const first = await r.readReply(false);
  t.expectDenied(first);
  const second = await r.readReply(true);
  assert.ok(second.error, describeReply(second));
});

c.case('pipelined prepare + execute -1 of an orders DELETE: the execute is held and denied', async (t) => {
  const r = await t.raw();
  r.write(Buffer.concat([frame(Buffer.concat([Buffer.from([COM.STMT_PREPARE]), Buffer.from('DELETE FROM orders WHERE id = 2')])), frame(stmtExecute(LAST, []))]));
  const prep = await r.next();
  assert.equal(prep.payload[0], 0x00, 'prepared');
  // The prepare reply has no params or columns for this DELETE: the next reply is the execute's.
  t.expectHeld(await r.readReply(true));
});

c.case('pipelined allowed prepare, denied prepare, execute -1: never the denied one', async (t) => {
  const r = await t.raw();
  r.write(
    Buffer.concat([
      frame(Buffer.concat([Buffer.from([COM.STMT_PREPARE]), Buffer.from('SELECT 1 AS one')])),
      frame(Buffer.concat([Buffer.from([COM.STMT_PREPARE]), Buffer.from('DELETE FROM customers WHERE id = 3')])),
      frame(stmtExecute(LAST, [])),
    ]),
  );
  const first = await r.next();
  assert.equal(first.payload[0], 0x00);
  await r.next(); // column definition
  await r.next(); // EOF
  t.expectDenied(await r.readReply(false));
  const exec = await r.readReply(true);
  if (!exec.error) assert.deepEqual(exec.results[0]!.columns.map((col) => col.name), ['one']);
});

c.case('COM_STMT_CLOSE then execute of the closed id is refused', async (t) => {
  const r = await t.raw();
  const p = await r.prepare('SELECT id FROM orders WHERE id = ?');
  r.closeStatement(p.statementId);
  unknownHandler(t, await r.execute(p.statementId, [1]));
});

c.case('COM_STMT_CLOSE of a held-kind statement then execute -1 does not run it', async (t) => {
  const r = await t.raw();
  const p = await r.prepare('DELETE FROM orders WHERE id = 3');
  r.closeStatement(p.statementId);
  const got = await r.execute(LAST);
  assert.ok(got.error, describeReply(got));
});

c.case('a closed id reused by the server for a new statement is decided as the new one', async (t) => {
  const r = await t.raw();
  const a = await r.prepare('SELECT id FROM orders WHERE id = ?');
  r.closeStatement(a.statementId);
  const b = await r.prepare('DELETE FROM orders WHERE id = ?');
  assert.equal(b.error, undefined);
  unknownHandler(t, await r.execute(a.statementId === b.statementId ? 0x7ffffffe : a.statementId, [4]));
  t.expectHeld(await r.execute(b.statementId, [4]));
});

c.case('COM_RESET_CONNECTION then execute of an earlier id is refused', async (t) => {
  const r = await t.raw();
  const p = await r.prepare('SELECT id FROM orders WHERE id = ?');
  const reset = await r.simple(COM.RESET_CONNECTION);
  assert.equal(reset.error, undefined, describeReply(reset));
  unknownHandler(t, await r.execute(p.statementId, [1]));
  const got = await r.execute(LAST);
  assert.ok(got.error, describeReply(got));
});

c.case('after COM_RESET_CONNECTION a new held-kind statement is held at execute, whatever its id', async (t) => {
  const r = await t.raw();
  await r.prepare('SELECT id FROM orders WHERE id = ?');
  await r.simple(COM.RESET_CONNECTION);
  const p = await r.prepare('UPDATE orders SET state = ? WHERE id = 5');
  assert.equal(p.error, undefined);
  t.expectHeld(await r.execute(p.statementId, ['void']));
});

c.case('long data to an unknown id is dropped; a later statement with that id does not get it', async (t) => {
  const r = await t.raw();
  r.sendLongData(1, 0, Buffer.from('void'));
  r.sendLongData(LAST, 0, Buffer.from('void'));
  const p = await r.prepare('SELECT ? AS v');
  const got = await r.execute(p.statementId, ['plain']);
  assert.equal(got.error, undefined, describeReply(got));
  assert.ok(got.results[0]!.binaryRows[0]!.includes(Buffer.from('plain')), 'the bound value, not the dropped long data');
});

c.case('long data to a denied prepare id is not attached to anything that runs', async (t) => {
  const r = await t.raw();
  t.expectDenied((await r.prepare('DELETE FROM customers WHERE name = ?')).error);
  r.sendLongData(1, 0, Buffer.from('Cy'));
  unknownHandler(t, await r.execute(1, [null]));
});

c.case('long data the approver must see: the held UPDATE shows the streamed value', async (t) => {
  const r = await t.raw();
  const p = await r.prepare('UPDATE orders SET state = ? WHERE id = 6');
  r.sendLongData(p.statementId, 0, Buffer.from('LONGDATA-MARKER-'));
  r.sendLongData(p.statementId, 0, Buffer.from('second-chunk'));
  t.expectHeld(await r.execute(p.statementId, [LONG_DATA]));
  assert.match(JSON.stringify(t.approvals), /LONGDATA-MARKER-second-chunk/, `the approver saw ${JSON.stringify(t.approvals.map((a) => a['parameters']))}`);
});

c.case('long data with the NULL bit also set: what the approver approves is what runs', { approve: true, mutates: true }, async (t) => {
  // The server takes a parameter's long data over its NULL bit; the approver must be shown that.
  const r = await t.raw();
  const p = await r.prepare('UPDATE orders SET state = ? WHERE id = 8');
  r.sendLongData(p.statementId, 0, Buffer.from('LD-UNDER-NULL'));
  const got = await r.execute(p.statementId, [null]);
  const rows = (await t.admin('SELECT state FROM orders WHERE id = 8')) as Array<{ state: string }>;
  const shown = JSON.stringify(t.approvals.map((a) => a['parameters']));
  await t.admin("UPDATE orders SET state = 'open' WHERE id = 8");
  if (!got.error) {
    assert.equal(t.approvals.length, 1, 'the UPDATE was not held');
    assert.ok(shown.includes(rows[0]!.state), `ran with state ${JSON.stringify(rows[0]!.state)}; the approver was shown ${shown}`);
  }
});

c.case('COM_STMT_FETCH of an id with no cursor, and of an unknown id, is refused', async (t) => {
  const r = await t.raw();
  const p = await r.prepare('SELECT id FROM orders');
  for (const id of [p.statementId, 99]) {
    const body = Buffer.alloc(8);
    body.writeUInt32LE(id, 0);
    body.writeUInt32LE(10, 4);
    const got = await r.simple(COM.STMT_FETCH, body);
    assert.ok(got.error, describeReply(got));
  }
});

c.case('an execute whose parameter count disagrees with the prepare is refused, not forwarded blind', async (t) => {
  const r = await t.raw();
  const p = await r.prepare('SELECT id FROM orders WHERE id = ?');
  let got: Reply | string;
  try {
    got = await r.execute(p.statementId, []);
  } catch (e) {
    got = String(e);
  }
  if (typeof got !== 'string') assert.ok(got.error, describeReply(got));
});

c.case('a prepare of two statements is refused (the server prepares one), the DELETE never runs', async (t) => {
  const r = await t.raw();
  const p = await r.prepare('SELECT 1; DELETE FROM customers WHERE id = 3');
  assert.ok(p.error, 'prepared');
});

c.case('a prepared SELECT over secrets is denied at prepare', async (t) => {
  const r = await t.raw();
  t.expectDenied((await r.prepare('SELECT value FROM secrets WHERE id = ?')).error, 'no-secrets');
});

c.case('mysql2 execute() of a DELETE on customers is denied; of an orders UPDATE held and denied', async (t) => {
  const conn = await t.mysql();
  await assert.rejects(conn.execute('DELETE FROM customers WHERE id = ?', [3]), (e: unknown) => {
    t.expectDenied(e);
    return true;
  });
  await assert.rejects(conn.execute('UPDATE orders SET state = ? WHERE id = ?', ['void', 7]), (e: unknown) => {
    t.expectHeld(e);
    return true;
  });
});

function frame(payload: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUIntLE(payload.length, 0, 3);
  head[3] = 0;
  return Buffer.concat([head, payload]);
}
