// Class 5 of issue 12 (and class 3 through SQL EXECUTE) under a policy where reading customers
// needs an approval: a cursor or an EXECUTE runs the statement that created it, so it is decided
// as that statement (held until a human approves that run), never as a harmless-looking FETCH.
import assert from 'node:assert/strict';
import { corpus, corpusPolicy, fe } from './corpus.js';

const c = corpus('cursor-decisions', {
  policy: (env) =>
    corpusPolicy(env).replace(
      'rules:\n',
      `rules:
  - name: customer-reads-need-approval
    identities: [ci]
    when: { statements: [read], tables: [customers] }
    action: approve
    approval: { approvers: [dba], timeout: 20s }
  - name: execute-allowed
    identities: [ci]
    when: { statements: [execute] }
    action: allow
`,
    ),
});

const PII = 'SELECT name, email FROM customers ORDER BY id';
const names = (rows: (Buffer | null)[][]) => rows.map((r) => r[0]?.toString('utf8'));

c.case('FETCH on a portal bound from an approve-class read is held', async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN'));
  await r.untilReady();
  r.send(fe.parse('s', PII), fe.bind('c', 's'), fe.sync());
  t.expectOk(await r.untilReady());
  r.send(fe.query('FETCH ALL FROM c'));
  t.expectHeld(await r.untilReady());
  assert.equal(t.approvals[0]?.command, 'FETCH ALL FROM c');
  assert.match(String(t.approvals[0]?.['context'] ?? ''), /SELECT name, email FROM customers/, 'the approver sees the statement the cursor runs');
  r.send(fe.query('ROLLBACK'));
  await r.untilReady();
});

c.case('MOVE on a portal bound from an approve-class read is held', async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN'));
  await r.untilReady();
  r.send(fe.parse('s', PII), fe.bind('c', 's'), fe.sync(), fe.query('MOVE 2 IN c'));
  t.expectOk(await r.untilReady());
  t.expectHeld(await r.untilReady());
  r.send(fe.query('ROLLBACK'));
  await r.untilReady();
});

c.case('an approved FETCH clears the portal: later FETCHes continue that run without a new hold', { approve: true }, async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN'));
  await r.untilReady();
  r.send(fe.parse('s', PII), fe.bind('c', 's'), fe.sync());
  t.expectOk(await r.untilReady());
  r.send(fe.query('FETCH 1 FROM c'));
  const first = await r.untilReady();
  t.expectOk(first);
  r.send(fe.query('FETCH ALL FROM c'));
  const rest = await r.untilReady();
  t.expectOk(rest);
  assert.deepEqual(names([...t.rows(first), ...t.rows(rest)]), ['Ada', 'Bob', 'Cy']);
  assert.equal(t.approvals.length, 1);
  r.send(fe.query('ROLLBACK'));
  await r.untilReady();
});

c.case('a DECLARE of an approve-class read is held; denied, FETCH finds no cursor sidegate knows', async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN'));
  await r.untilReady();
  r.send(fe.query(`DECLARE c CURSOR FOR ${PII}`));
  t.expectHeld(await r.untilReady());
  r.send(fe.query('ROLLBACK'), fe.query('BEGIN'), fe.query('FETCH ALL FROM c'));
  await r.untilReady();
  await r.untilReady();
  t.expectDenied(await r.untilReady(), 'unattributed-cursor');
  r.send(fe.query('ROLLBACK'));
  await r.untilReady();
});

c.case('a DECLARE approved once: its FETCHes are that approved run, masked', { approve: true }, async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN'), fe.query(`DECLARE c CURSOR FOR ${PII}`));
  await r.untilReady();
  t.expectOk(await r.untilReady());
  r.send(fe.query('FETCH 2 FROM c'), fe.query('FETCH ALL FROM c'));
  const a = await r.untilReady();
  const b = await r.untilReady();
  assert.deepEqual(names([...t.rows(a), ...t.rows(b)]), ['Ada', 'Bob', 'Cy']);
  assert.equal(t.approvals.length, 1);
  r.send(fe.query('COMMIT'));
  await r.untilReady();
});

c.case('a portal approved at its Execute (maxRows) continues through SQL FETCH without a new hold', { approve: true }, async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN'));
  await r.untilReady();
  r.send(fe.parse('s', PII), fe.bind('c', 's'), fe.execute('c', 1), fe.sync());
  const first = await r.untilReady();
  t.expectOk(first);
  r.send(fe.query('FETCH ALL FROM c'));
  const rest = await r.untilReady();
  assert.deepEqual(names([...t.rows(first), ...t.rows(rest)]), ['Ada', 'Bob', 'Cy']);
  assert.equal(t.approvals.length, 1);
  r.send(fe.query('ROLLBACK'));
  await r.untilReady();
});

c.case('SQL EXECUTE of a protocol-prepared approve-class read is held, the approver sees what it runs', async (t) => {
  const r = await t.raw();
  r.send(fe.parse('s', PII), fe.sync());
  t.expectOk(await r.untilReady());
  r.send(fe.query('EXECUTE s'));
  t.expectHeld(await r.untilReady());
  assert.match(String(t.approvals[0]?.['context'] ?? ''), /SELECT name, email FROM customers/);
});

c.case('FETCH through the extended protocol on a bound approve-class portal: held, parameters shown', async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN'));
  await r.untilReady();
  r.send(fe.parse('s', 'SELECT name, email FROM customers WHERE id = $1'), fe.bind('c', 's', ['2']), fe.parse('f', 'FETCH ALL FROM c'), fe.bind('', 'f'), fe.execute(''), fe.sync());
  t.expectHeld(await r.untilReady());
  assert.equal(t.approvals[0]?.command, 'FETCH ALL FROM c');
  assert.match(String(t.approvals[0]?.['context'] ?? ''), /WHERE id = \$1\n  with \$1 = "2"/);
  r.send(fe.query('ROLLBACK'));
  await r.untilReady();
});

c.case('EXPLAIN ANALYZE EXECUTE of an approve-class statement is held', async (t) => {
  const r = await t.raw();
  r.send(fe.parse('s', PII), fe.sync());
  t.expectOk(await r.untilReady());
  r.send(fe.query('EXPLAIN ANALYZE EXECUTE s'));
  t.expectHeld(await r.untilReady());
});

c.case('SQL EXECUTE of a statement sidegate never saw prepared is refused', async (t) => {
  const r = await t.raw();
  r.send(fe.query('EXECUTE nowhere'));
  t.expectDenied(await r.untilReady(), 'unattributed-statement');
});
