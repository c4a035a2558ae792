// Class 12 — what the approver sees is exactly what will run.
// Rule: an approver is shown the full statement text as sidegate forwards it (after its own
// rewriting) and, for the extended protocol, every Bind parameter with its format and type; the
// approval is bound to a SHA-256 of those bytes (and the session and target), used once, and
// cancelled when the client cancels (CancelRequest → 57014) or goes away. Audit spans keep
// literal-free text (a control character in a comment does not collapse it to `?`) and record
// the approval id and hash, never parameter values.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { corpus, fe, type Approval, type BackendMessage, type CaseContext, type RawClient } from './corpus.js';

const c = corpus('approvals');

/** Waits until the automatic approver has seen `n` holds of this case. */
async function approvalsSeen(t: CaseContext, n: number, timeoutMs = 10_000): Promise<Approval[]> {
  const deadline = Date.now() + timeoutMs;
  while (t.approvals.length < n) {
    if (Date.now() > deadline) throw new Error(`expected ${n} approval request(s), saw ${t.approvals.length}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return t.approvals;
}

/** The hold notice (the hold exists at the broker once it arrives). */
const heldNotice = (r: RawClient) => r.until((m) => m.type === 'N' && /held for approval/.test(m.fields?.['M'] ?? ''));

/** Sends a CancelRequest with `key` from a second connection, as psql's Ctrl-C or pg_cancel_backend-style tools do. */
async function cancelFrom(t: CaseContext, key: { processId: number; secretKey: number }): Promise<void> {
  const canceller = await t.connect();
  canceller.send(fe.cancelRequest(key.processId, key.secretKey));
  assert.deepEqual(await canceller.closed(), [], 'nothing is answered to a CancelRequest');
}

/** A canceled hold: 57014 naming the approval, no denial, then ReadyForQuery. */
function expectCanceled(msgs: BackendMessage[], approvalId: string): void {
  const errors = msgs.filter((m) => m.type === 'E');
  assert.equal(errors.length, 1, JSON.stringify(errors.map((e) => e.fields)));
  assert.equal(errors[0]!.fields!['C'], '57014');
  assert.match(errors[0]!.fields!['M']!, new RegExp(`^sidegate: canceled while waiting for approval ${approvalId}`));
  assert.equal(msgs[msgs.length - 1]!.type, 'Z');
}

/** An approver deciding after the client went: refused, because nothing waits for it any more. */
async function lateApprove(t: CaseContext, id: string): Promise<void> {
  const res = await t.h.approvals.decide(id, 'approve', 'dba');
  assert.equal(res.status, 409, `a late approval must be refused, got ${res.status} ${await res.text()}`);
  assert.match(await t.h.approvals.list().then((l) => JSON.stringify(l)), /^\[\]$/, 'nothing left pending');
}

/** Every string attribute value of the case's spans, for literal checks. */
async function spanTexts(t: CaseContext): Promise<string> {
  return JSON.stringify((await t.spans()).map((s) => s.attributes));
}

async function queryTexts(t: CaseContext): Promise<string[]> {
  return (await t.spans()).map((s) => s.attributes['db.query.text']).filter((x): x is string => typeof x === 'string');
}

// ───────────── what the approver sees ─────────────

c.case('a DELETE whose literal decides its reach is shown in full, not as `status <> ?`', async (t) => {
  const sql = "DELETE FROM orders WHERE status <> 'x'";
  const r = await t.raw();
  r.send(fe.query(sql));
  t.expectHeld(await r.untilReady());
  const [a] = await approvalsSeen(t, 1);
  assert.equal(a!.command, sql);
  assert.match(String(a!['hash']), /^sha256:[0-9a-f]{64}$/);
});

c.case('the literal is shown to the approver but never exported in a span', async (t) => {
  const r = await t.raw();
  r.send(fe.query("UPDATE orders SET status = 'lit-7f3e-marker' WHERE id = 2"));
  t.expectHeld(await r.untilReady());
  assert.match((await approvalsSeen(t, 1))[0]!.command, /'lit-7f3e-marker'/);
  const spans = await spanTexts(t);
  assert.doesNotMatch(spans, /lit-7f3e-marker/);
  assert.ok((await queryTexts(t)).includes('UPDATE orders SET status = ? WHERE id = ?'));
});

c.case('the approver sees the text as forwarded, after sidegate rewrote a backslash literal', async (t) => {
  const r = await t.raw();
  r.send(fe.query("DELETE FROM orders WHERE status = 'a\\b'"));
  t.expectHeld(await r.untilReady());
  // What the server would have run (the same string under either standard_conforming_strings).
  assert.equal((await approvalsSeen(t, 1))[0]!.command, "DELETE FROM orders WHERE status = E'a\\\\b'");
});

c.case('a \\x01 in a comment: the approver sees it, the span keeps the text (not `?`)', async (t) => {
  const sql = "DELETE FROM orders /* \u0001 */ WHERE status <> 'x'";
  const r = await t.raw();
  r.send(fe.query(sql));
  t.expectHeld(await r.untilReady());
  assert.equal((await approvalsSeen(t, 1))[0]!.command, sql);
  assert.ok((await queryTexts(t)).includes('DELETE FROM orders /* \u0001 */ WHERE status <> ?'), JSON.stringify(await queryTexts(t)));
});

c.case('a \\x01 in a comment no longer skips the backslash-literal rewrite: no DELETE hidden from a standard_conforming_strings=off server', async (t) => {
  const r = await t.raw();
  r.send(fe.query('SET standard_conforming_strings = off'));
  await r.untilReady(); // allowed or refused: either way the statement below must not delete anything
  // sidegate (setting on) reads one SELECT of one string; a server with the setting off reads a
  // SELECT, a comment and a DELETE — unless the literal is forwarded in its E'' form.
  r.send(fe.query("SELECT 'x\\'' /* \u0001 */; DELETE FROM orders; --'"));
  const msgs = await r.untilReady();
  assert.ok(!msgs.some((m) => m.type === 'C' && m.body.toString('latin1').startsWith('DELETE')), 'a DELETE ran');
});

c.case('an allowed read with an escape sequence in a line comment keeps its span text, literals out', async (t) => {
  const r = await t.raw();
  r.send(fe.query("SELECT id FROM orders -- \u001b[2J\u0007\nWHERE status = 'open' AND id < 3"));
  t.expectOk(await r.untilReady());
  const texts = await queryTexts(t);
  assert.ok(texts.includes('SELECT id FROM orders -- \u001b[2J\u0007\nWHERE status = ? AND id < ?'), JSON.stringify(texts));
});

c.case('Parse/Bind/Execute: the approver sees the statement and each text parameter', async (t) => {
  const r = await t.raw();
  r.send(
    fe.parse('del', 'DELETE FROM orders WHERE status <> $1 AND id > $2'),
    fe.bind('', 'del', ['nothing-matches', '0']),
    fe.execute(''),
    fe.sync(),
  );
  t.expectHeld(await r.untilReady());
  const [a] = await approvalsSeen(t, 1);
  assert.equal(a!.command, 'DELETE FROM orders WHERE status <> $1 AND id > $2');
  assert.deepEqual(a!['parameters'], [
    { position: 1, format: 'text', typeOid: 0, value: 'nothing-matches', bytes: 15 },
    { position: 2, format: 'text', typeOid: 0, value: '0', bytes: 1 },
  ]);
  assert.deepEqual(a!['resultFormats'], []);
});

c.case('binary parameters are shown as hex with their type OID; NULL as null; result formats too', async (t) => {
  const r = await t.raw();
  r.send(
    fe.parse('', 'UPDATE orders SET status = $2 WHERE id = $1 RETURNING id', [23, 25]),
    fe.bind('', '', [Buffer.from([0, 0, 0, 5]), null], { paramFormats: [1, 0], resultFormats: [1] }),
    fe.execute(''),
    fe.sync(),
  );
  t.expectHeld(await r.untilReady());
  const [a] = await approvalsSeen(t, 1);
  assert.deepEqual(a!['parameters'], [
    { position: 1, format: 'binary', typeOid: 23, value: '00000005', hex: true, bytes: 4 },
    { position: 2, format: 'text', typeOid: 25, value: null, bytes: 0 },
  ]);
  assert.deepEqual(a!['resultFormats'], [1]);
});

c.case('a long parameter is shown cut with its full size; the span records the hash, not the value', async (t) => {
  const value = 'p'.repeat(300) + '-tail-9d1e';
  const r = await t.raw();
  r.send(fe.parse('', 'UPDATE orders SET status = $1 WHERE id = 3'), fe.bind('', '', [value]), fe.execute(''), fe.sync());
  t.expectHeld(await r.untilReady());
  const [a] = await approvalsSeen(t, 1);
  const [p] = a!['parameters'] as { value: string; bytes: number; truncated?: boolean }[];
  assert.equal(p!.bytes, value.length);
  assert.equal(p!.truncated, true);
  assert.ok(value.startsWith(p!.value));
  const spans = await t.spans();
  assert.ok(spans.some((s) => s.attributes['sidegate.approval.hash'] === a!['hash'] && s.attributes['sidegate.approval.id'] === a!.id));
  assert.doesNotMatch(JSON.stringify(spans.map((s) => [s.attributes, s.events])), /pppppppp|tail-9d1e/);
});

c.case('node-postgres parameterized DELETE: the approver sees its parameter, and a parameter full of control characters as it is', async (t) => {
  const client = await t.pg();
  const evil = 'x\u001b[2J\u0007\u202e';
  await assert.rejects(client.query('DELETE FROM orders WHERE id = $1 OR status = $2', [7, evil]), /approval .* was denied/);
  const [a] = await approvalsSeen(t, 1);
  assert.equal(a!.command, 'DELETE FROM orders WHERE id = $1 OR status = $2');
  assert.deepEqual((a!['parameters'] as { value: string; format: string }[]).map((p) => [p.format, p.value]), [
    ['text', '7'],
    ['text', evil],
  ]);
});

// ───────────── approved: exactly once, exactly these bytes ─────────────

c.case('approved: the simple DELETE runs once, exactly as shown, and the span names its approval and hash', { mutates: true, approve: true }, async (t) => {
  const r = await t.raw();
  r.send(fe.query("DELETE FROM orders WHERE id = 19 AND status = 'shipped'"));
  const msgs = await r.untilReady();
  t.expectOk(msgs);
  assert.ok(msgs.some((m) => m.type === 'C' && m.body.toString('latin1').startsWith('DELETE 1')));
  assert.equal((await t.admin('SELECT count(*)::int AS n FROM orders WHERE id = 19')).rows[0].n, 0);
  const [a] = await approvalsSeen(t, 1);
  assert.equal(a!.command, "DELETE FROM orders WHERE id = 19 AND status = 'shipped'");
  assert.match(String(a!['hash']), /^sha256:[0-9a-f]{64}$/);
  const spans = await t.spans();
  assert.ok(spans.some((s) => s.attributes['sidegate.approval.id'] === a!.id && s.attributes['sidegate.approval.hash'] === a!['hash'] && s.attributes['sidegate.approval.status'] === 'approved'));
});

c.case('approved: Parse/Bind/Execute runs with exactly the approved parameters', { mutates: true, approve: true }, async (t) => {
  const r = await t.raw();
  r.send(fe.parse('', 'UPDATE orders SET status = $1 WHERE id = $2'), fe.bind('', '', ['approved-once', '4']), fe.execute(''), fe.sync());
  t.expectOk(await r.untilReady());
  const [a] = await approvalsSeen(t, 1);
  assert.deepEqual((a!['parameters'] as { value: string }[]).map((p) => p.value), ['approved-once', '4']);
  const rows = (await t.admin("SELECT id FROM orders WHERE status = 'approved-once' ORDER BY id")).rows;
  assert.deepEqual(rows.map((x) => x.id), [4]);
});

c.case('an approval releases one execution: executing the same statement again is held again', { mutates: true, approve: true }, async (t) => {
  const before = Number((await t.admin('SELECT total FROM orders WHERE id = 6')).rows[0].total);
  const r = await t.raw();
  r.send(fe.parse('bump', 'UPDATE orders SET total = total + 1 WHERE id = $1'), fe.bind('', 'bump', ['6']), fe.execute(''), fe.sync());
  t.expectOk(await r.untilReady());
  r.send(fe.bind('', 'bump', ['6']), fe.execute(''), fe.sync());
  t.expectOk(await r.untilReady());
  const seen = await approvalsSeen(t, 2);
  assert.notEqual(seen[0]!.id, seen[1]!.id, 'two executions, two approvals');
  // Same session, same bytes: the same binding, but each approval was used once.
  assert.match(String(seen[0]!['hash']), /^sha256:[0-9a-f]{64}$/);
  assert.equal(seen[0]!['hash'], seen[1]!['hash']);
  assert.deepEqual((seen[1]!['parameters'] as { value: string }[]).map((p) => p.value), ['6']);
  assert.equal(Number((await t.admin('SELECT total FROM orders WHERE id = 6')).rows[0].total), before + 2);
});

c.case('two Binds of one statement with different parameters: each approval names its own values and hash', { mutates: true, approve: true }, async (t) => {
  const r = await t.raw();
  r.send(fe.parse('mark', 'UPDATE orders SET status = $1 WHERE id = $2'));
  r.send(fe.bind('', 'mark', ['first', '8']), fe.execute(''), fe.sync());
  t.expectOk(await r.untilReady());
  r.send(fe.bind('', 'mark', ['second', '10']), fe.execute(''), fe.sync());
  t.expectOk(await r.untilReady());
  const [a, b] = await approvalsSeen(t, 2);
  assert.deepEqual((a!['parameters'] as { value: string }[]).map((p) => p.value), ['first', '8']);
  assert.deepEqual((b!['parameters'] as { value: string }[]).map((p) => p.value), ['second', '10']);
  assert.notEqual(a!['hash'], b!['hash']);
  const rows = (await t.admin("SELECT id, status FROM orders WHERE status IN ('first', 'second') ORDER BY id")).rows;
  assert.deepEqual(rows, [{ id: 8, status: 'first' }, { id: 10, status: 'second' }]);
});

c.case('approved through node-postgres: the parameterized UPDATE runs once with the approved value', { mutates: true, approve: true }, async (t) => {
  const client = await t.pg();
  const res = await client.query('UPDATE orders SET status = $1 WHERE id = $2', ['via-pg', 12]);
  assert.equal(res.rowCount, 1);
  const [a] = await approvalsSeen(t, 1);
  assert.deepEqual((a!['parameters'] as { value: string }[]).map((p) => p.value), ['via-pg', '12']);
  assert.deepEqual((await t.admin("SELECT id FROM orders WHERE status = 'via-pg'")).rows, [{ id: 12 }]);
});

// ───────────── cancel and disconnect while held ─────────────

c.case('CancelRequest while a simple DELETE is held: 57014, the hold is cancelled, a later approve runs nothing, the session goes on', { pending: true }, async (t) => {
  const r = await t.raw();
  r.send(fe.query('DELETE FROM orders'));
  await heldNotice(r);
  const [a] = await approvalsSeen(t, 1);
  await cancelFrom(t, r.backendKey);
  expectCanceled(await r.untilReady(), a!.id);
  await lateApprove(t, a!.id);
  r.send(fe.query('SELECT 42'));
  const after = await r.untilReady();
  t.expectOk(after);
  assert.equal(t.rows(after)[0]![0]!.toString(), '42');
});

c.case('CancelRequest while an extended-protocol Execute is held: 57014 then ReadyForQuery at Sync; nothing runs', { pending: true }, async (t) => {
  const r = await t.raw();
  r.send(fe.parse('', 'DELETE FROM orders WHERE id > $1'), fe.bind('', '', ['0']), fe.execute(''), fe.sync());
  await heldNotice(r);
  const [a] = await approvalsSeen(t, 1);
  await cancelFrom(t, r.backendKey);
  expectCanceled(await r.untilReady(), a!.id);
  await lateApprove(t, a!.id);
  r.send(fe.parse('', 'SELECT 1'), fe.bind('', ''), fe.execute(''), fe.sync());
  t.expectOk(await r.untilReady());
});

c.case('a CancelRequest racing the approval: whichever wins, a client told 57014 ran nothing, and a DELETE that ran was approved', { pending: true }, async (t) => {
  for (let round = 0; round < 5; round++) {
    const id = 900 + round;
    await t.admin(`INSERT INTO orders (id, status) VALUES (${id}, 'race') ON CONFLICT (id) DO NOTHING`);
    const r = await t.raw();
    r.send(fe.query(`DELETE FROM orders WHERE id = ${id}`));
    await heldNotice(r);
    const [pending] = await t.h.approvals.list();
    // Both at once: the approver's click and the client's Ctrl-C.
    await Promise.all([t.h.approvals.decide(pending!.id, 'approve', 'dba').then((res) => res.text()), cancelFrom(t, r.backendKey)]);
    const msgs = await r.untilReady();
    const canceled = msgs.some((m) => m.type === 'E' && m.fields?.['C'] === '57014' && /waiting for approval/.test(m.fields?.['M'] ?? ''));
    const remaining = (await t.admin(`SELECT count(*)::int AS n FROM orders WHERE id = ${id}`)).rows[0].n as number;
    if (canceled) assert.equal(remaining, 1, `round ${round}: the client was told its DELETE was canceled, yet it ran`);
    else {
      t.expectOk(msgs);
      assert.equal(remaining, 0, `round ${round}: neither canceled nor run`);
    }
    await t.admin(`DELETE FROM orders WHERE id = ${id}`);
    r.send(fe.terminate());
  }
});

c.case('a CancelRequest with another key does not cancel the hold (the approver still decides)', { pending: true }, async (t) => {
  const r = await t.raw();
  r.send(fe.query('DELETE FROM orders WHERE id = 1'));
  await heldNotice(r);
  const [a] = await approvalsSeen(t, 1);
  await cancelFrom(t, { processId: r.backendKey.processId, secretKey: r.backendKey.secretKey ^ 1 });
  await new Promise((res) => setTimeout(res, 200));
  assert.equal((await t.h.approvals.list()).find((x) => x.id === a!.id)?.status, 'pending');
  assert.equal((await t.h.approvals.decide(a!.id, 'deny', 'dba')).status, 200);
  const msgs = await r.untilReady();
  assert.match(t.errors(msgs)[0]?.['M'] ?? '', new RegExp(`approval ${a!.id} .*was denied by dba`));
});

c.case('psql Ctrl-C (SIGINT) while held: psql prints the 57014 cancel, the approval is cancelled, nothing runs', { pending: true }, async (t) => {
  const token = await t.token();
  const child = spawn(
    'psql',
    ['-X', '-v', 'ON_ERROR_STOP=0', '-v', 'VERBOSITY=verbose', '-h', '127.0.0.1', '-p', String(t.h.port), '-U', 'ci', '-d', t.database, '-c', 'DELETE FROM orders'],
    { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', PGPASSWORD: token, PGSSLMODE: 'disable', PGCONNECT_TIMEOUT: '10' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((res) => child.on('close', res));
  try {
    const [a] = await approvalsSeen(t, 1, 15_000);
    child.kill('SIGINT');
    const code = await exited;
    t.saw(stdout);
    t.saw(stderr);
    assert.match(stderr, /57014/, `stderr: ${stderr} stdout: ${stdout} exit ${code}`);
    assert.match(stderr, new RegExp(`canceled while waiting for approval ${a!.id}`));
    // Non-interactive psql stops after a cancelled command (psql's own rule); it never ran the DELETE.
    assert.doesNotMatch(stdout, /DELETE \d/);
    await lateApprove(t, a!.id);
  } finally {
    child.kill('SIGKILL');
  }
});

c.case('the client disconnecting while held cancels the hold: a later approve runs nothing', { pending: true }, async (t) => {
  const r = await t.raw();
  r.send(fe.query('DELETE FROM orders WHERE id = 2'));
  await heldNotice(r);
  const [a] = await approvalsSeen(t, 1);
  r.end();
  const deadline = Date.now() + 5_000;
  while ((await t.h.approvals.list()).some((x) => x.id === a!.id)) {
    assert.ok(Date.now() < deadline, 'the hold was not cancelled after the client went away');
    await new Promise((res) => setTimeout(res, 25));
  }
  await lateApprove(t, a!.id);
});

c.case('Terminate while held cancels the hold just the same', { pending: true }, async (t) => {
  const r = await t.raw();
  r.send(fe.parse('', 'DELETE FROM orders WHERE id = $1'), fe.bind('', '', ['3']), fe.execute(''), fe.sync());
  await heldNotice(r);
  const [a] = await approvalsSeen(t, 1);
  r.send(fe.terminate());
  await r.closed();
  const deadline = Date.now() + 5_000;
  while ((await t.h.approvals.list()).some((x) => x.id === a!.id)) {
    assert.ok(Date.now() < deadline, 'the hold was not cancelled after Terminate');
    await new Promise((res) => setTimeout(res, 25));
  }
  await lateApprove(t, a!.id);
});
