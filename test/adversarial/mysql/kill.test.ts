// MySQL corpus, class 8 (holds and cancellation): a statement held for approval is cancelled by
// `KILL QUERY n` from a second connection of the same identity, naming the connection id
// sidegate greeted the first one with: nothing of it runs and no later approval can run it.
// Another identity's KILL must neither cancel the hold nor reach the first connection's upstream
// thread: a KILL is otherwise a way to end another pipeline's work.
import assert from 'node:assert/strict';
import { corpus, corpusPolicy, describeReply, sleep, type CaseContext } from './corpus.js';
import type { RawMysqlClient, Reply } from '../../support/mysql-raw-client.js';

// The corpus policy plus KILL for the ci identity (MariaDB itself lets the one target login kill
// any of its own threads; what sidegate adds is which identity may name which connection).
const c = corpus('kill', {
  policy: (env) =>
    corpusPolicy(env).replace(
      'rules:\n',
      `rules:
  - name: kill-allowed
    identities: [ci]
    when: { statements: [kill] }
    action: allow
`,
    ),
});

const OTHER = { sub: 'project_path:acme/web:ref_type:branch:ref:main', project_path: 'acme/web' };

/** Logs in a raw client and sends a held UPDATE; resolves once an approver has been shown it. */
async function heldUpdate(t: CaseContext): Promise<{ conn: RawMysqlClient; reply: Promise<Reply>; id: number }> {
  const conn = await t.raw();
  const id = conn.greeting!.connectionId;
  const reply = conn.query("UPDATE orders SET state = 'void' WHERE id = 9", 30_000);
  reply.catch(() => undefined);
  const deadline = Date.now() + 10_000;
  while (t.approvals.length === 0) {
    if (Date.now() > deadline) assert.fail('the UPDATE was never held');
    await sleep(25);
  }
  return { conn, reply, id };
}

async function pending(t: CaseContext): Promise<string[]> {
  return (await t.h.approvals.list()).map((a) => a.id);
}

c.case('KILL QUERY from a second connection of the same identity cancels the hold: ERR 1317, nothing ran', { pending: true }, async (t) => {
  const held = await heldUpdate(t);
  const killer = await t.raw();
  const k = await killer.query(`KILL QUERY ${held.id}`);
  assert.equal(k.error, undefined, describeReply(k));
  const got = await held.reply;
  assert.ok(got.error, describeReply(got));
  assert.equal(got.error.code, 1317, describeReply(got));
  // The approval is gone: approving it now cannot run the statement.
  assert.ok(!(await pending(t)).includes(t.approvals[0]!.id), 'the approval is still pending');
  const late = await t.h.approvals.decide(t.approvals[0]!.id, 'approve', 'dba');
  assert.ok(!late.ok || (await late.text()).length >= 0);
  await sleep(300);
  // The held connection is still usable and the row is untouched (the checksum confirms).
  assert.equal((await held.conn.query('SELECT 1')).error, undefined);
});

c.case('mysql2 KILL QUERY with the held connection threadId (the greeting id) cancels the hold', { pending: true }, async (t) => {
  const a = await t.mysql();
  const id = a.threadId!;
  const update = a.query("UPDATE orders SET state = 'void' WHERE id = 10");
  const outcome = update.then(
    () => 'ran',
    (e: unknown) => e,
  );
  const deadline = Date.now() + 10_000;
  while (t.approvals.length === 0) {
    if (Date.now() > deadline) assert.fail('not held');
    await sleep(25);
  }
  const b = await t.mysql();
  await b.query(`KILL QUERY ${id}`);
  const e = await outcome;
  assert.notEqual(e, 'ran');
  assert.equal((e as { errno?: number }).errno, 1317);
});

c.case('KILL QUERY from another identity does not cancel the hold; the approver decides', { pending: true }, async (t) => {
  const held = await heldUpdate(t);
  const other = await t.raw({ token: await t.token(OTHER) });
  const k = await other.query(`KILL QUERY ${held.id}`);
  assert.ok(k.error, `another identity's KILL succeeded: ${describeReply(k)}`);
  await sleep(300);
  assert.ok((await pending(t)).includes(t.approvals[0]!.id), 'the hold was cancelled by another identity');
  // The approver denies: the client gets the denial, not a cancel.
  await t.h.approvals.decide(t.approvals[0]!.id, 'deny', 'dba');
  t.expectHeld(await held.reply);
});

c.case('KILL (connection) from another identity does not end the held connection', { pending: true }, async (t) => {
  const held = await heldUpdate(t);
  const other = await t.raw({ token: await t.token(OTHER) });
  await other.query(`KILL ${held.id}`);
  await other.query(`KILL CONNECTION ${held.id}`);
  await sleep(300);
  assert.equal(held.conn.closed, false, 'another identity closed the connection');
  await t.h.approvals.decide(t.approvals[0]!.id, 'deny', 'dba');
  t.expectHeld(await held.reply);
});

c.case("another identity cannot KILL a running statement through its upstream thread id", async (t) => {
  const a = await t.raw();
  const running = a.query('SELECT SLEEP(3) AS s', 20_000);
  await sleep(300);
  const other = await t.raw({ token: await t.token(OTHER) });
  // What the other identity can learn: the target's own thread ids of the shared login.
  const list = await other.query("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(3)%'");
  const ids = list.results[0]?.rows.map((row) => row[0]!.toString()) ?? [];
  for (const id of ids) await other.query(`KILL QUERY ${id}`);
  const got = await running;
  assert.equal(got.error, undefined, `another identity interrupted the statement: ${describeReply(got)}`);
  // SLEEP returns 1 when it was interrupted, 0 when it slept in full.
  assert.equal(got.results[0]!.rows[0]![0]!.toString(), '0', 'SLEEP was interrupted by another identity');
});

c.case('KILL QUERY of an unknown id from the same identity does not touch any hold', { pending: true }, async (t) => {
  const held = await heldUpdate(t);
  const killer = await t.raw();
  await killer.query(`KILL QUERY ${(held.id % 0x7ffffff0) + 7}`);
  await sleep(300);
  assert.ok((await pending(t)).includes(t.approvals[0]!.id), 'an unrelated KILL cancelled the hold');
  await t.h.approvals.decide(t.approvals[0]!.id, 'deny', 'dba');
  t.expectHeld(await held.reply);
});

c.case('COM_QUIT while held abandons the hold; a later approval runs nothing', { pending: true }, async (t) => {
  const held = await heldUpdate(t);
  held.conn.sendCommand(0x01);
  await sleep(300);
  const res = await t.h.approvals.decide(t.approvals[0]!.id, 'approve', 'dba');
  void res;
  await sleep(500);
});
