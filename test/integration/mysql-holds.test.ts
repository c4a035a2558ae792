// Decisions and holds through the MySQL adapter, with mysql2 against the real MariaDB: a held
// statement leaves its client waiting with nothing (other connections flow), the approver sees its
// exact text and parameters, and it runs once approved; denial, timeout and `KILL QUERY` from a
// second connection end it as an ERR with nothing run. What ran is always checked as root.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, basePolicy, type Harness } from '../support/sidegate-harness.js';
import { IT_DATABASE, approvalRecord, connectVia, createItDatabase, itTarget, outcome, rootSql, settledFlag } from '../support/mariadb-side-by-side.js';
import { waitForPending } from '../support/sidegate-harness.js';

let h: Harness;

before(async () => {
  h = await startHarness({
    policy: (env) =>
      basePolicy(env, {
        rules: `  - name: ci-reads
    identities: [ci]
    when: { statements: [read, session, transaction] }
    action: allow
  - name: ci-cancels-own
    identities: [ci]
    when: { statements: [kill] }
    action: allow
  - name: no-drops
    when: { statements: [drop] }
    action: deny
    message: dropping is never done from CI
  - name: quick-hold
    identities: [ci]
    when: { statements: [delete], tables: ["hold_quick"] }
    action: approve
    approval: { approvers: [dba], timeout: 2s }
  - name: writes-need-approval
    identities: [ci]
    when: { statements: [insert, update, delete], tables: ["hold_items"] }
    action: approve
    approval: { approvers: [dba], timeout: 30s }`,
      }).replace('targets:\n', `targets:\n${itTarget(env.maria)}`),
  });
  await createItDatabase(h.maria);
  await rootSql(
    h.maria,
    `USE ${IT_DATABASE};
     DROP TABLE IF EXISTS hold_items, hold_quick;
     CREATE TABLE hold_items (id INT PRIMARY KEY, note VARCHAR(100));
     CREATE TABLE hold_quick (id INT PRIMARY KEY);
     INSERT INTO hold_quick VALUES (1), (2);`,
  );
});

after(async () => {
  await h?.close();
});

const rowsOf = (id: number) => rootSql(h.maria, `SELECT id, note FROM ${IT_DATABASE}.hold_items WHERE id = ${id}`);

/** Waits `ms` and says whether the client still has nothing. */
async function stillWaiting(settled: () => boolean, ms = 400): Promise<boolean> {
  await new Promise((r) => setTimeout(r, ms));
  return !settled();
}

test('held, then approved: the client sees nothing meanwhile, other connections flow, then it runs once', async () => {
  const held = await connectVia(h);
  const other = await connectVia(h);
  try {
    const sql = "INSERT INTO hold_items (id, note) VALUES (1, 'approved by a human')";
    const pending = held.query(sql);
    const settled = settledFlag(pending);
    const approval = await waitForPending(h, (a) => a.rule === 'writes-need-approval' && a.command.includes('(1,'));
    // The approver sees exactly the text that will run, literals included.
    assert.equal(approval.command, sql);
    assert.ok(await stillWaiting(settled), 'the held client must get no reply before the decision');
    assert.equal(await rowsOf(1), '', 'nothing ran before approval');
    // Another connection of the same identity is not blocked by the hold.
    const t0 = Date.now();
    const [rows] = await other.query('SELECT COUNT(*) AS n FROM hold_quick');
    assert.deepEqual(rows, [{ n: 2 }]);
    assert.ok(Date.now() - t0 < 2000);
    assert.ok(!settled());
    const res = await h.approvals.decide(approval.id, 'approve', 'dba');
    assert.equal(res.status, 200, await res.text());
    const [ok] = (await pending) as unknown as [{ affectedRows: number }];
    assert.equal(ok.affectedRows, 1);
    assert.equal(await rowsOf(1), '1\tapproved by a human');
    // The held connection carries on.
    const [after] = await held.query('SELECT 5 AS five');
    assert.deepEqual(after, [{ five: 5 }]);
    assert.ok((await approvalRecord(h, approval.id)).consumedAt, 'the approval was used');
  } finally {
    await held.end();
    await other.end();
  }
});

test('a held prepared statement shows its text and parameters, and runs with them once approved', async () => {
  const c = await connectVia(h);
  try {
    const pending = c.execute('INSERT INTO hold_items (id, note) VALUES (?, ?)', [2, 'bound parameter']);
    const settled = settledFlag(pending);
    const approval = await waitForPending(h, (a) => a.rule === 'writes-need-approval' && /VALUES \(\?, \?\)/.test(a.command));
    const record = await approvalRecord(h, approval.id);
    assert.equal(record.command, 'INSERT INTO hold_items (id, note) VALUES (?, ?)');
    assert.deepEqual(
      record.parameters?.map((p) => [p.position, p.value]),
      [
        [1, '2'],
        [2, 'bound parameter'],
      ],
    );
    assert.ok(await stillWaiting(settled));
    assert.equal(await rowsOf(2), '');
    await h.approvals.decide(approval.id, 'approve', 'dba');
    const [ok] = (await pending) as unknown as [{ affectedRows: number }];
    assert.equal(ok.affectedRows, 1);
    assert.equal(await rowsOf(2), '2\tbound parameter');
  } finally {
    await c.end();
  }
});

test('held, then denied by the approver: ERR 1142 / 42000 naming the approval, nothing ran', async () => {
  const c = await connectVia(h);
  try {
    const pending = outcome(c.query("INSERT INTO hold_items (id, note) VALUES (3, 'denied')"));
    const approval = await waitForPending(h, (a) => a.rule === 'writes-need-approval' && a.command.includes('(3,'));
    await h.approvals.decide(approval.id, 'deny', 'dba');
    const got = await pending;
    assert.ok('error' in got, 'a denied statement is an error');
    assert.equal(got.error.errno, 1142);
    assert.equal(got.error.sqlState, '42000');
    assert.match(got.error.sqlMessage ?? '', new RegExp(approval.id));
    assert.equal(await rowsOf(3), '');
    const [rows] = await c.query('SELECT 1 AS one');
    assert.deepEqual(rows, [{ one: 1 }]);
  } finally {
    await c.end();
  }
});

test('held until the timeout: an ERR saying so, nothing ran, the connection stays usable', async () => {
  const c = await connectVia(h);
  try {
    const t0 = Date.now();
    const got = await outcome(c.query('DELETE FROM hold_quick WHERE id = 1'));
    assert.ok('error' in got);
    assert.equal(got.error.errno, 1142);
    assert.equal(got.error.sqlState, '42000');
    assert.match(got.error.sqlMessage ?? '', /timed out|expired/i);
    assert.ok(Date.now() - t0 >= 1900, 'the client waited for the hold');
    assert.equal(await rootSql(h.maria, `SELECT COUNT(*) FROM ${IT_DATABASE}.hold_quick`), '2');
    const [rows] = await c.query('SELECT 2 AS two');
    assert.deepEqual(rows, [{ two: 2 }]);
  } finally {
    await c.end();
  }
});

test('KILL QUERY from a second connection cancels a held statement: an ERR, nothing ran, the hold cancelled', async () => {
  const held = await connectVia(h);
  const killer = await connectVia(h);
  try {
    const pending = outcome(held.query("UPDATE hold_items SET note = 'killed' WHERE id = 1"));
    const approval = await waitForPending(h, (a) => a.rule === 'writes-need-approval' && a.command.includes("'killed'"));
    // mysql2's threadId is the connection id sidegate greeted the held client with.
    const [ok] = (await killer.query(`KILL QUERY ${held.threadId}`)) as unknown as [{ affectedRows: number }];
    assert.equal(typeof ok.affectedRows, 'number');
    const got = await pending;
    assert.ok('error' in got, 'the cancelled statement is an error');
    assert.equal(got.error.errno, 1317);
    assert.equal(got.error.sqlState, '70100');
    assert.equal(await rowsOf(1), '1\tapproved by a human', 'the UPDATE never ran');
    assert.equal((await approvalRecord(h, approval.id)).status, 'cancelled');
    // A late approval of the cancelled hold does nothing.
    const late = await h.approvals.decide(approval.id, 'approve', 'dba');
    assert.notEqual(late.status, 200);
    assert.equal(await rowsOf(1), '1\tapproved by a human');
    // Both connections carry on.
    assert.deepEqual((await held.query('SELECT 3 AS three'))[0], [{ three: 3 }]);
    assert.deepEqual((await killer.query('SELECT 4 AS four'))[0], [{ four: 4 }]);
  } finally {
    await held.end();
    await killer.end();
  }
});

test("another identity's KILL QUERY does not cancel the hold", async () => {
  const held = await connectVia(h);
  const stranger = await connectVia(h, { password: await h.token({ sub: 'project_path:acme/other:ref_type:branch:ref:main', project_path: 'acme/other' }) });
  try {
    const pending = held.query("INSERT INTO hold_items (id, note) VALUES (4, 'survives a stranger')");
    const settled = settledFlag(pending);
    const approval = await waitForPending(h, (a) => a.rule === 'writes-need-approval' && a.command.includes('(4,'));
    // The id is not one the stranger owns: refused by sidegate, it never reaches MariaDB.
    const kill = await outcome(stranger.query(`KILL QUERY ${held.threadId}`));
    assert.ok('error' in kill, JSON.stringify(kill));
    assert.equal(kill.error.errno, 1142);
    assert.match(kill.error.sqlMessage ?? '', /mysql-kill/);
    assert.ok(await stillWaiting(settled, 200));
    assert.equal((await approvalRecord(h, approval.id)).status, 'pending');
    await h.approvals.decide(approval.id, 'approve', 'dba');
    await pending;
    assert.equal(await rowsOf(4), '4\tsurvives a stranger');
  } finally {
    await held.end();
    await stranger.end();
  }
});

test('a denied statement is ERR 1142 / 42000 naming the rule, and an unparsable one is denied by default', async () => {
  const c = await connectVia(h);
  try {
    const drop = await outcome(c.query('DROP TABLE hold_items'));
    assert.ok('error' in drop);
    assert.deepEqual([drop.error.errno, drop.error.sqlState], [1142, '42000']);
    assert.match(drop.error.sqlMessage ?? '', /no-drops.*dropping is never done from CI/);
    const garbled = await outcome(c.query('SELEC 1'));
    assert.ok('error' in garbled);
    assert.deepEqual([garbled.error.errno, garbled.error.sqlState], [1142, '42000']);
    assert.match(garbled.error.sqlMessage ?? '', /unparsable/);
    assert.equal(await rootSql(h.maria, `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '${IT_DATABASE}' AND table_name = 'hold_items'`), '1');
    assert.deepEqual((await c.query('SELECT 6 AS six'))[0], [{ six: 6 }]);
  } finally {
    await c.end();
  }
});

test("KILL naming another identity's upstream thread id does not reach that identity's connection", async () => {
  // Every session logs in upstream as the same MariaDB user, which may kill any of its own
  // threads: MariaDB cannot tell two pipelines apart, so sidegate must.
  const victim = await connectVia(h);
  const stranger = await connectVia(h, { password: await h.token({ sub: 'project_path:acme/other:ref_type:branch:ref:main', project_path: 'acme/other' }) });
  try {
    const [[{ id }]] = (await victim.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]];
    assert.notEqual(id, victim.threadId, 'the upstream thread id is not the one sidegate greeted with');
    const kill = await outcome(stranger.query(`KILL CONNECTION ${id}`));
    assert.ok('error' in kill, `KILL CONNECTION ${id} of another identity's upstream thread succeeded`);
    assert.deepEqual((await victim.query('SELECT 8 AS eight'))[0], [{ eight: 8 }], "the victim's session is intact");
  } finally {
    victim.destroy();
    stranger.destroy();
  }
});
