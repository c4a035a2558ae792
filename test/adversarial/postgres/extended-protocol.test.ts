// Classes 3, 4 and 5 of issue 12: extended-protocol state. Sidegate decides and masks by the
// prepared statements, portals and cursors the *server* holds, learnt from its replies in order
// (proxy-session.ts, server-names.ts, session-objects.ts); what it cannot attribute to a statement
// it decided is refused. Each case is one message order a client can send.
import assert from 'node:assert/strict';
import { corpus, fe, CANARY, type BackendMessage } from './corpus.js';

const c = corpus('extended-protocol');

const DELETE4 = 'DELETE FROM orders WHERE id = 4';
const text = (v: Buffer | null | undefined) => (v === null || v === undefined ? null : v.toString('utf8'));
const types = (msgs: BackendMessage[]) => msgs.map((m) => m.type).join('');
/** Real names came back (not NULLed), and every e-mail is masked (the canary check sees clear ones). */
function namesAndMaskedEmails(rows: (Buffer | null)[][], names: string[]): void {
  assert.deepEqual(
    rows.map((r) => text(r[0])),
    names,
  );
  for (const r of rows) {
    assert.notEqual(r[1], null, 'the e-mail is masked, not NULL');
    assert.ok(!CANARY.emails.includes(text(r[1]) as never));
  }
}

// ───────────── class 3: prepared statements follow the server's replies ─────────────

c.case('issue repro: a denied re-Parse of "" does not leave the previous DELETE runnable undecided', async (t) => {
  const r = await t.raw();
  r.send(fe.parse('', DELETE4), fe.sync());
  t.expectOk(await r.untilReady());
  r.send(fe.parse('', 'SELECT * FROM secrets'), fe.sync());
  t.expectDenied(await r.untilReady(), 'no-secrets');
  r.send(fe.bind('', ''), fe.execute(''), fe.sync());
  const msgs = await r.untilReady();
  assert.ok(t.errors(msgs).length > 0, `the unnamed statement is gone, as after any failing Parse: ${types(msgs)}`);
  assert.ok(!msgs.some((m) => m.type === 'C'), 'nothing ran');
});

c.case('issue repro, pipelined in one write: the DELETE is never executed', async (t) => {
  const r = await t.raw();
  r.send(fe.parse('', DELETE4), fe.sync(), fe.parse('', 'SELECT * FROM secrets'), fe.sync(), fe.bind('', ''), fe.execute(''), fe.sync());
  await r.untilReady();
  t.expectDenied(await r.untilReady(), 'no-secrets');
  const msgs = await r.untilReady();
  assert.ok(t.errors(msgs).length > 0);
  assert.ok(!msgs.some((m) => m.type === 'C'));
});

c.case('a named statement re-Parsed (42P05 on the server) keeps its DELETE decision: held', async (t) => {
  const r = await t.raw();
  r.send(fe.parse('s', DELETE4), fe.sync());
  t.expectOk(await r.untilReady());
  r.send(fe.parse('s', 'SELECT 1'), fe.sync());
  assert.equal(t.errors(await r.untilReady())[0]?.['C'], '42P05');
  r.send(fe.bind('', 's'), fe.execute(''), fe.sync());
  t.expectHeld(await r.untilReady());
});

c.case('re-Parse of a named statement in the same batch as its use: held, then held again next batch', async (t) => {
  const r = await t.raw();
  r.send(fe.parse('s', DELETE4), fe.sync());
  t.expectOk(await r.untilReady());
  r.send(fe.parse('s', 'SELECT 1'), fe.bind('', 's'), fe.execute(''), fe.sync(), fe.bind('', 's'), fe.execute(''), fe.sync());
  assert.equal(t.errors(await r.untilReady())[0]?.['C'], '42P05');
  t.expectHeld(await r.untilReady());
});

c.case('a denied Parse of an existing named statement leaves it what the server holds: held', async (t) => {
  const r = await t.raw();
  r.send(fe.parse('s', DELETE4), fe.sync());
  t.expectOk(await r.untilReady());
  r.send(fe.parse('s', 'SELECT value FROM secrets'), fe.sync());
  t.expectDenied(await r.untilReady(), 'no-secrets');
  r.send(fe.bind('', 's'), fe.execute(''), fe.sync());
  t.expectHeld(await r.untilReady());
});

c.case('messages skipped after a mid-pipeline Parse error (Close, re-Parse) never happened: held', async (t) => {
  const r = await t.raw();
  r.send(fe.parse('s', DELETE4), fe.sync());
  t.expectOk(await r.untilReady());
  r.send(fe.parse('x', 'SELECT * FROM no_such_table'), fe.close('S', 's'), fe.parse('s', 'SELECT 1'), fe.sync());
  assert.equal(t.errors(await r.untilReady())[0]?.['C'], '42P01');
  r.send(fe.bind('', 's'), fe.execute(''), fe.sync());
  t.expectHeld(await r.untilReady());
});

c.case('a simple Query inside a failed extended batch is skipped and the session stays in step', async (t) => {
  const r = await t.raw();
  r.send(fe.parse('x', 'SELECT * FROM no_such_table'), fe.query('SELECT 1'), fe.parse('s', 'SELECT 2'), fe.sync());
  const msgs = await r.untilReady();
  assert.equal(t.errors(msgs).length, 1);
  assert.equal(t.rows(msgs).length, 0, 'the Query was skipped');
  r.send(fe.query('SELECT 42'));
  const next = await r.untilReady();
  assert.deepEqual(t.rows(next).map((row) => text(row[0])), ['42']);
});

c.case('Close then Parse of the same name: the new statement is the one that runs', async (t) => {
  const r = await t.raw();
  r.send(fe.parse('s', DELETE4), fe.sync(), fe.close('S', 's'), fe.parse('s', 'SELECT 7'), fe.sync(), fe.bind('', 's'), fe.execute(''), fe.sync());
  await r.untilReady();
  t.expectOk(await r.untilReady());
  const msgs = await r.untilReady();
  t.expectOk(msgs);
  assert.deepEqual(t.rows(msgs).map((row) => text(row[0])), ['7']);
});

c.case('Close of a statement closes its portals: a later Execute of the portal is refused', async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN'));
  await r.untilReady();
  r.send(fe.parse('s', 'SELECT 1'), fe.bind('p', 's'), fe.close('S', 's'), fe.sync());
  t.expectOk(await r.untilReady());
  r.send(fe.execute('p'), fe.sync());
  t.expectRefused(await r.untilReady(), '42501');
  r.send(fe.query('ROLLBACK'));
  await r.untilReady();
});

c.case('Bind to a denied statement, then Execute: only the denial, nothing runs', async (t) => {
  const r = await t.raw();
  r.send(fe.parse('d', 'SELECT value FROM secrets'), fe.bind('', 'd'), fe.execute(''), fe.sync());
  const msgs = await r.untilReady();
  t.expectDenied(msgs, 'no-secrets');
  assert.equal(t.errors(msgs).length, 1);
  r.send(fe.bind('', 'd'), fe.execute(''), fe.sync());
  const again = await r.untilReady();
  assert.ok(t.errors(again).length > 0);
  assert.equal(t.rows(again).length, 0);
});

c.case('Execute of a portal never bound is refused by sidegate, not forwarded', async (t) => {
  const r = await t.raw();
  r.send(fe.execute('nope'), fe.sync());
  const msgs = await r.untilReady();
  t.expectRefused(msgs, '42501');
  assert.match(t.errors(msgs)[0]?.['M'] ?? '', /unattributed-portal/);
});

c.case('the unnamed portal does not outlive its implicit transaction: Execute after Sync is refused', async (t) => {
  const r = await t.raw();
  r.send(fe.parse('', 'SELECT 1'), fe.bind('', ''), fe.sync(), fe.execute(''), fe.sync());
  t.expectOk(await r.untilReady());
  t.expectRefused(await r.untilReady(), '42501');
});

c.case('a named portal of a DELETE does not outlive COMMIT: Execute after it is refused', async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN'));
  await r.untilReady();
  r.send(fe.parse('s', DELETE4), fe.bind('p', 's'), fe.sync());
  t.expectOk(await r.untilReady());
  r.send(fe.query('COMMIT'));
  await r.untilReady();
  r.send(fe.execute('p'), fe.sync());
  t.expectRefused(await r.untilReady(), '42501');
});

c.case('a simple Query drops the unnamed statement: a later Bind of "" runs nothing', async (t) => {
  const r = await t.raw();
  r.send(fe.parse('', DELETE4), fe.sync(), fe.query('SELECT 1'), fe.bind('', ''), fe.execute(''), fe.sync());
  await r.untilReady();
  await r.untilReady();
  const msgs = await r.untilReady();
  assert.ok(t.errors(msgs).length > 0);
  assert.ok(!msgs.some((m) => m.type === 'C'));
});

c.case('a rebind of an existing named portal (refused by the server) keeps the DELETE portal: held', async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN'));
  await r.untilReady();
  r.send(fe.parse('d', DELETE4), fe.parse('a', 'SELECT 1'), fe.bind('p', 'd'), fe.sync());
  t.expectOk(await r.untilReady());
  r.send(fe.bind('p', 'a'), fe.sync());
  assert.equal(t.errors(await r.untilReady())[0]?.['C'], '42P03');
  r.send(fe.query('ROLLBACK'), fe.query('BEGIN'));
  await r.untilReady();
  await r.untilReady();
  r.send(fe.parse('d2', DELETE4), fe.parse('a2', 'SELECT 1'), fe.bind('p', 'd2'), fe.sync(), fe.bind('p', 'a2'), fe.sync(), fe.execute('p'), fe.sync());
  t.expectOk(await r.untilReady());
  assert.equal(t.errors(await r.untilReady())[0]?.['C'], '42P03');
  t.expectHeld(await r.untilReady());
  r.send(fe.query('ROLLBACK'));
  await r.untilReady();
});

c.case('Parse, Sync, Bind, Execute in one write: the Bind waits for the ParseComplete and the DELETE is held', async (t) => {
  const r = await t.raw();
  r.send(fe.parse('', DELETE4), fe.sync(), fe.bind('', ''), fe.execute(''), fe.sync());
  t.expectOk(await r.untilReady());
  t.expectHeld(await r.untilReady());
});

c.case('an approve-class portal executed with maxRows is held once, its suspension continues the approved run', { mutates: true, approve: true }, async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN'));
  await r.untilReady();
  r.send(fe.parse('s', 'DELETE FROM orders WHERE id IN (4, 6) RETURNING id'), fe.bind('p', 's'), fe.execute('p', 1), fe.sync());
  const first = await r.untilReady();
  t.expectOk(first);
  assert.ok(first.some((m) => m.type === 's'), 'PortalSuspended');
  r.send(fe.execute('p', 1), fe.sync());
  const second = await r.untilReady();
  t.expectOk(second);
  assert.equal(t.rows(second).length, 1);
  assert.equal(t.approvals.length, 1, 'continuing the approved portal is the same run');
  r.send(fe.query('ROLLBACK'));
  await r.untilReady();
});

c.case('a rebind of the unnamed portal to an approve-class statement is held again', async (t) => {
  const r = await t.raw();
  r.send(fe.parse('a', 'SELECT 1'), fe.parse('d', DELETE4), fe.bind('', 'a'), fe.execute(''), fe.bind('', 'd'), fe.execute(''), fe.sync());
  const msgs = await r.untilReady();
  assert.deepEqual(t.rows(msgs).map((row) => text(row[0])), ['1']);
  t.expectHeld(msgs);
});

// ───────────── class 4: a result's shape belongs to the message it answers ─────────────

const HARMLESS = 'SELECT 1 AS n';
const PII = 'SELECT 1 AS n, email, card FROM customers ORDER BY id';

for (const format of [0, 1]) {
  const fmt = format === 1 ? 'binary' : 'text';
  c.case(`issue repro (${fmt}): Describe of the harmless portal, rebind to PII, Flush, Execute after the RowDescription — masked`, async (t) => {
    const r = await t.raw();
    r.send(fe.parse('h', HARMLESS), fe.parse('x', PII), fe.bind('', 'h', [], { resultFormats: [format] }), fe.describe('P', ''), fe.bind('', 'x', [], { resultFormats: [format] }), fe.flush());
    await r.until((m) => m.type === 'T');
    r.send(fe.execute(''), fe.sync());
    const msgs = await r.untilReady();
    t.expectOk(msgs);
    assert.equal(t.rows(msgs).length, 3);
  });

  c.case(`the same order in one write (${fmt}): masked`, async (t) => {
    const r = await t.raw();
    r.send(fe.parse('h', HARMLESS), fe.parse('x', PII), fe.bind('', 'h', [], { resultFormats: [format] }), fe.describe('P', ''), fe.bind('', 'x', [], { resultFormats: [format] }), fe.execute(''), fe.sync());
    const msgs = await r.untilReady();
    t.expectOk(msgs);
    assert.equal(t.rows(msgs).length, 3);
  });

  c.case(`raw pipelining of three queries with masking (${fmt}): each gets its own shape, no NULLs`, async (t) => {
    const r = await t.raw();
    const frames: Buffer[] = [];
    for (const id of ['1', '2', '3']) {
      frames.push(fe.parse('', 'SELECT name, email FROM customers WHERE id = $1'), fe.bind('', '', [id], { resultFormats: [format] }), fe.describe('P', ''), fe.execute(''), fe.sync());
    }
    r.send(...frames);
    const rows: (Buffer | null)[][] = [];
    for (let i = 0; i < 3; i++) rows.push(...t.rows(await r.untilReady()));
    namesAndMaskedEmails(rows, ['Ada', 'Bob', 'Cy']);
  });

  c.case(`raw pipelining without Describe (${fmt}): sidegate describes each generation itself`, async (t) => {
    const r = await t.raw();
    const frames: Buffer[] = [fe.parse('q', 'SELECT name, email FROM customers WHERE id = $1')];
    for (const id of ['1', '2', '3']) frames.push(fe.bind('', 'q', [id], { resultFormats: [format] }), fe.execute(''));
    r.send(...frames, fe.sync());
    namesAndMaskedEmails(t.rows(await r.untilReady()), ['Ada', 'Bob', 'Cy']);
  });

  c.case(`two named portals of different shapes described, then executed in reverse (${fmt}): each masked by its own shape`, async (t) => {
    const r = await t.raw();
    r.send(fe.query('BEGIN'));
    await r.untilReady();
    r.send(
      fe.parse('a', 'SELECT name, email FROM customers ORDER BY id'),
      fe.parse('b', 'SELECT card, name FROM customers ORDER BY id'),
      fe.bind('pa', 'a', [], { resultFormats: [format] }),
      fe.bind('pb', 'b', [], { resultFormats: [format] }),
      fe.describe('P', 'pa'),
      fe.describe('P', 'pb'),
      fe.execute('pb'),
      fe.execute('pa'),
      fe.sync(),
    );
    const msgs = await r.untilReady();
    t.expectOk(msgs);
    const rows = t.rows(msgs);
    assert.deepEqual(rows.slice(0, 3).map((row) => text(row[1])), ['Ada', 'Bob', 'Cy']);
    namesAndMaskedEmails(rows.slice(3), ['Ada', 'Bob', 'Cy']);
    r.send(fe.query('ROLLBACK'));
    await r.untilReady();
  });
}

c.case('Execute before the client Describe of the same portal: masked', async (t) => {
  const r = await t.raw();
  r.send(fe.parse('', 'SELECT name, email FROM customers ORDER BY id'), fe.bind('', ''), fe.execute(''), fe.describe('P', ''), fe.sync());
  namesAndMaskedEmails(t.rows(await r.untilReady()), ['Ada', 'Bob', 'Cy']);
});

c.case('Describe of a statement, rebinding, Flush between every message: masked', async (t) => {
  const r = await t.raw();
  r.send(fe.parse('s', 'SELECT name, email FROM customers ORDER BY id'), fe.describe('S', 's'), fe.flush());
  await r.until((m) => m.type === 'T');
  r.send(fe.bind('', 's', [], { resultFormats: [1] }), fe.flush());
  await r.until((m) => m.type === '2');
  r.send(fe.execute('', 2), fe.flush());
  const first = await r.until((m) => m.type === 's');
  r.send(fe.execute(''), fe.sync());
  const rest = await r.untilReady();
  namesAndMaskedEmails([...t.rows(first), ...t.rows(rest)], ['Ada', 'Bob', 'Cy']);
});

c.case('portal suspension with maxRows 1 keeps masking every part of the result', async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN'));
  await r.untilReady();
  r.send(fe.parse('', 'SELECT name, email FROM customers ORDER BY id'), fe.bind('p', ''), fe.execute('p', 1), fe.execute('p', 1), fe.execute('p', 1), fe.sync());
  namesAndMaskedEmails(t.rows(await r.untilReady()), ['Ada', 'Bob', 'Cy']);
  r.send(fe.query('ROLLBACK'));
  await r.untilReady();
});

c.case('pipelined simple queries with masking: each result masked by its own shape', async (t) => {
  const r = await t.raw();
  r.send(fe.query("SELECT name, email FROM customers WHERE id = 1"), fe.query('SELECT 1 AS n, 2 AS m'), fe.query("SELECT name, email FROM customers WHERE id IN (2, 3) ORDER BY id"));
  const a = t.rows(await r.untilReady());
  const b = t.rows(await r.untilReady());
  const rest = t.rows(await r.untilReady());
  assert.deepEqual(b.map((row) => row.map(text)), [['1', '2']]);
  namesAndMaskedEmails([...a, ...rest], ['Ada', 'Bob', 'Cy']);
});

for (const binary of [false, true]) {
  c.case(`node-postgres pipeline mode (${binary ? 'binary' : 'text'}): every pipelined query gets real, masked values`, async (t) => {
    const client = await t.pg({ pipeline: true, binary } as never);
    const results = await Promise.all(['1', '2', '3'].map((id) => client.query('SELECT name, email FROM customers WHERE id = $1', [id])));
    const rows = results.map((res) => res.rows[0] as { name: string; email: string | null });
    assert.deepEqual(
      rows.map((row) => row.name),
      ['Ada', 'Bob', 'Cy'],
    );
    for (const row of rows) assert.notEqual(row.email, null, 'masked, not NULL');
  });
}

// ───────────── class 5: cursors inherit the decision of what created them ─────────────

c.case('issue repro: FETCH on a portal bound from a held DELETE is held', async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN'));
  await r.untilReady();
  r.send(fe.parse('s', `${DELETE4} RETURNING *`), fe.bind('c', 's'), fe.sync());
  t.expectOk(await r.untilReady());
  r.send(fe.query('FETCH ALL FROM c'));
  t.expectHeld(await r.untilReady());
  r.send(fe.query('ROLLBACK'));
  await r.untilReady();
});

c.case('MOVE ALL on a portal bound from a held DELETE is held', async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN'));
  await r.untilReady();
  r.send(fe.parse('s', DELETE4), fe.bind('c', 's'), fe.sync());
  t.expectOk(await r.untilReady());
  r.send(fe.query('MOVE ALL IN c'));
  t.expectHeld(await r.untilReady());
  r.send(fe.query('ROLLBACK'));
  await r.untilReady();
});

c.case('FETCH through the extended protocol on a DELETE portal is held', async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN'));
  await r.untilReady();
  r.send(fe.parse('s', `${DELETE4} RETURNING id`), fe.bind('c', 's'), fe.parse('f', 'FETCH 1 FROM c'), fe.bind('', 'f'), fe.execute(''), fe.sync());
  t.expectHeld(await r.untilReady());
  r.send(fe.query('ROLLBACK'));
  await r.untilReady();
});

c.case('FETCH in a simple Query inside the open extended batch that bound the DELETE portal is held', async (t) => {
  const r = await t.raw();
  r.send(fe.parse('s', `${DELETE4} RETURNING id`), fe.bind('c', 's'), fe.query('FETCH ALL FROM c'), fe.sync());
  t.expectHeld(await r.untilReady());
  await r.untilReady();
});

c.case('FETCH on a cursor sidegate never saw created is refused', async (t) => {
  const r = await t.raw();
  r.send(fe.query('FETCH ALL FROM nowhere'));
  const msgs = await r.untilReady();
  t.expectDenied(msgs, 'unattributed-cursor');
});

c.case('DECLARE of a denied read creates nothing; FETCH from it is refused', async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN'));
  await r.untilReady();
  r.send(fe.query('DECLARE c CURSOR FOR SELECT value FROM secrets'));
  t.expectDenied(await r.untilReady(), 'no-secrets');
  r.send(fe.query('ROLLBACK'), fe.query('BEGIN'), fe.query('FETCH ALL FROM c'));
  await r.untilReady();
  await r.untilReady();
  t.expectDenied(await r.untilReady(), 'unattributed-cursor');
  r.send(fe.query('ROLLBACK'));
  await r.untilReady();
});

c.case('simple-protocol cursor of an allowed read: FETCH n, MOVE, FETCH ALL masked; after CLOSE refused', async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN; DECLARE c SCROLL CURSOR FOR SELECT name, email FROM customers ORDER BY id'));
  t.expectOk(await r.untilReady());
  r.send(fe.query('FETCH 2 FROM c'));
  const two = t.rows(await r.untilReady());
  r.send(fe.query('MOVE ABSOLUTE 2 IN c'));
  t.expectOk(await r.untilReady());
  r.send(fe.query('FETCH ALL FROM c'));
  namesAndMaskedEmails([...two, ...t.rows(await r.untilReady())], ['Ada', 'Bob', 'Cy']);
  // A cursor is a portal: the protocol's Close drops it as CLOSE does (which the corpus policy denies).
  r.send(fe.close('P', 'c'), fe.sync(), fe.query('FETCH ALL FROM c'));
  t.expectOk(await r.untilReady());
  t.expectDenied(await r.untilReady(), 'unattributed-cursor');
  r.send(fe.query('ROLLBACK'));
  await r.untilReady();
});

c.case('DECLARE and FETCH in one simple Query: the cursor it declares is its own', async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN; DECLARE c CURSOR FOR SELECT name, email FROM customers ORDER BY id; FETCH ALL FROM c; COMMIT'));
  const msgs = await r.untilReady();
  t.expectOk(msgs);
  namesAndMaskedEmails(t.rows(msgs), ['Ada', 'Bob', 'Cy']);
});

c.case('a WITH HOLD cursor survives COMMIT and stays masked', async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN'), fe.query('DECLARE h CURSOR WITH HOLD FOR SELECT name, email FROM customers ORDER BY id'), fe.query('COMMIT'), fe.query('FETCH ALL FROM h'));
  for (let i = 0; i < 3; i++) t.expectOk(await r.untilReady());
  const msgs = await r.untilReady();
  t.expectOk(msgs);
  namesAndMaskedEmails(t.rows(msgs), ['Ada', 'Bob', 'Cy']);
});

c.case('a cursor without HOLD ends with its transaction: FETCH after COMMIT is refused', async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN'), fe.query('DECLARE c CURSOR FOR SELECT name FROM customers'), fe.query('COMMIT'));
  for (let i = 0; i < 3; i++) t.expectOk(await r.untilReady());
  r.send(fe.query('FETCH ALL FROM c'));
  t.expectDenied(await r.untilReady(), 'unattributed-cursor');
  // Pipelined behind the COMMIT the FETCH may reach the server (a removal is learnt late, which
  // is safe): the server has no such cursor either, nothing runs.
  r.send(fe.query('BEGIN'), fe.query('DECLARE c CURSOR FOR SELECT name FROM customers'), fe.query('COMMIT'), fe.query('FETCH ALL FROM c'));
  for (let i = 0; i < 3; i++) t.expectOk(await r.untilReady());
  const late = await r.untilReady();
  assert.equal(t.errors(late).length, 1);
  assert.equal(t.rows(late).length, 0);
});

c.case('a cursor declared through the extended protocol, executed as a portal: masked', async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN'));
  await r.untilReady();
  r.send(fe.parse('', 'DECLARE c CURSOR FOR SELECT name, email FROM customers ORDER BY id'), fe.bind('', ''), fe.execute(''), fe.sync());
  t.expectOk(await r.untilReady());
  r.send(fe.execute('c', 2), fe.execute('c'), fe.sync());
  namesAndMaskedEmails(t.rows(await r.untilReady()), ['Ada', 'Bob', 'Cy']);
  r.send(fe.query('ROLLBACK'));
  await r.untilReady();
});

c.case('FETCH from a portal bound from an allowed read: masked by the FETCH result shape', async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN'));
  await r.untilReady();
  r.send(fe.parse('s', 'SELECT name, email FROM customers ORDER BY id'), fe.bind('c', 's'), fe.sync(), fe.query('FETCH ALL FROM c'));
  t.expectOk(await r.untilReady());
  namesAndMaskedEmails(t.rows(await r.untilReady()), ['Ada', 'Bob', 'Cy']);
  r.send(fe.query('ROLLBACK'));
  await r.untilReady();
});

c.case('DEALLOCATE through SQL forgets the statement: a later Bind of it runs nothing', async (t) => {
  const r = await t.raw();
  r.send(fe.parse('s', 'SELECT 1'), fe.sync(), fe.query('DEALLOCATE s'), fe.bind('', 's'), fe.execute(''), fe.sync());
  t.expectOk(await r.untilReady());
  t.expectOk(await r.untilReady());
  const msgs = await r.untilReady();
  assert.ok(t.errors(msgs).length > 0);
  assert.equal(t.rows(msgs).length, 0);
});

c.case('psql with FETCH_COUNT (cursors under the hood) gets masked rows', async (t) => {
  const out = await t.psql('SELECT name, email FROM customers ORDER BY id;', { args: ['-v', 'FETCH_COUNT=1'] });
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /Ada/);
  assert.match(out.stdout, /Cy/);
});

c.case('a WITH HOLD cursor of a transaction rolled back is gone: FETCH is refused', async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN'), fe.query('DECLARE h CURSOR WITH HOLD FOR SELECT name FROM customers'), fe.query('ROLLBACK'));
  for (let i = 0; i < 3; i++) t.expectOk(await r.untilReady());
  // Made to look held over: the failed block ends in ROLLBACK after an error.
  r.send(fe.query('BEGIN'), fe.query('DECLARE h2 CURSOR WITH HOLD FOR SELECT name FROM customers'), fe.query('SELECT 1/0'), fe.query('COMMIT'));
  for (let i = 0; i < 2; i++) t.expectOk(await r.untilReady());
  await r.untilReady();
  await r.untilReady();
  r.send(fe.query('FETCH ALL FROM h'));
  t.expectDenied(await r.untilReady(), 'unattributed-cursor');
  r.send(fe.query('FETCH ALL FROM h2'));
  t.expectDenied(await r.untilReady(), 'unattributed-cursor');
});

c.case('executing a declared cursor portal twice keeps fetching, it is not declared again', async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN'), fe.query('DECLARE c CURSOR FOR SELECT name, email FROM customers ORDER BY id'));
  await r.untilReady();
  t.expectOk(await r.untilReady());
  r.send(fe.execute('c', 1), fe.sync(), fe.execute('c', 1), fe.sync(), fe.execute('c', 1), fe.sync());
  const rows = [...t.rows(await r.untilReady()), ...t.rows(await r.untilReady()), ...t.rows(await r.untilReady())];
  namesAndMaskedEmails(rows, ['Ada', 'Bob', 'Cy']);
  r.send(fe.query('ROLLBACK'));
  await r.untilReady();
});

c.case('a statement prepared by SQL PREPARE runs through the protocol under its own decision, masked', async (t) => {
  const r = await t.raw();
  r.send(fe.query('PREPARE x AS SELECT name, email FROM customers ORDER BY id'));
  t.expectOk(await r.untilReady());
  r.send(fe.bind('', 'x', [], { resultFormats: [1] }), fe.execute(''), fe.sync());
  namesAndMaskedEmails(t.rows(await r.untilReady()), ['Ada', 'Bob', 'Cy']);
});

c.case('SQL PREPARE of a DELETE is held; refused, nothing of that name can be executed', async (t) => {
  const r = await t.raw();
  r.send(fe.query(`PREPARE x AS ${DELETE4}`));
  t.expectHeld(await r.untilReady());
  r.send(fe.bind('', 'x'), fe.execute(''), fe.sync());
  const msgs = await r.untilReady();
  assert.ok(t.errors(msgs).length > 0);
  assert.ok(!msgs.some((m) => m.type === 'C'));
});

c.case('a failing DECLARE of an existing cursor name inside an extended batch does not rename the DELETE portal', async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN'));
  await r.untilReady();
  r.send(fe.parse('s', `${DELETE4} RETURNING id`), fe.bind('c', 's'), fe.sync());
  t.expectOk(await r.untilReady());
  r.send(fe.parse('f', 'FETCH ALL FROM c'), fe.query('DECLARE c CURSOR FOR SELECT 1'), fe.bind('', 'f'), fe.execute(''), fe.sync());
  const declare = await r.untilReady();
  assert.equal(t.errors(declare)[0]?.['C'], '42P03');
  const fetch = await r.untilReady();
  assert.ok(t.errors(fetch).length > 0);
  assert.ok(!fetch.some((m) => m.type === 'C' || m.type === 'D'), 'nothing fetched from the DELETE portal');
  r.send(fe.query('ROLLBACK'));
  await r.untilReady();
});

c.case('an Execute waiting on an earlier batch that failed is skipped with it, the session does not stall', async (t) => {
  const r = await t.raw();
  r.send(fe.parse('', DELETE4), fe.sync());
  t.expectOk(await r.untilReady());
  // The Query ends a batch the failing Parse already doomed: the Bind after it refers to "" changed
  // in that batch and must not wait for a reply that only the later Sync brings.
  r.send(fe.parse('x', 'SELECT * FROM no_such_table'), fe.parse('', 'SELECT 1'), fe.query('SELECT 2'), fe.bind('', ''), fe.execute(''), fe.sync());
  const msgs = await r.untilReady(5000);
  assert.equal(t.errors(msgs)[0]?.['C'], '42P01');
  assert.equal(t.rows(msgs).length, 0);
  r.send(fe.bind('', ''), fe.execute(''), fe.sync());
  t.expectHeld(await r.untilReady());
});

c.case('node-postgres pipeline mode with a named statement: later queries wait for its ParseComplete, all masked', async (t) => {
  const client = await t.pg({ pipeline: true } as never);
  const results = await Promise.all(
    ['1', '2', '3', '1'].map((id) => client.query({ name: 'by-id', text: 'SELECT name, email FROM customers WHERE id = $1', values: [id] })),
  );
  const rows = results.map((res) => res.rows[0] as { name: string; email: string | null });
  assert.deepEqual(
    rows.map((row) => row.name),
    ['Ada', 'Bob', 'Cy', 'Ada'],
  );
  for (const row of rows) assert.notEqual(row.email, null);
});

c.case('node-postgres pipeline mode: a held DELETE among pipelined reads is held, the reads still answer', async (t) => {
  const client = await t.pg({ pipeline: true } as never);
  const [a, del, b] = await Promise.allSettled([
    client.query('SELECT name FROM customers WHERE id = $1', ['1']),
    client.query('DELETE FROM orders WHERE id = $1', ['4']),
    client.query('SELECT name FROM customers WHERE id = $1', ['2']),
  ]);
  assert.equal(a.status, 'fulfilled');
  assert.equal(del.status, 'rejected');
  assert.match(String((del as PromiseRejectedResult).reason), /approval .* was denied/);
  assert.equal(b.status, 'fulfilled');
  assert.equal((b as PromiseFulfilledResult<{ rows: { name: string }[] }>).value.rows[0]!.name, 'Bob');
});
