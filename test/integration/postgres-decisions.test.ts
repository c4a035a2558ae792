// allow / deny / hold-then-approve / hold-then-deny / hold-then-timeout, through a real
// PostgreSQL 15 with real clients, and what the audit trail says about each.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startHarness, basePolicy, psql, run, waitForPending, type Harness } from '../support/sidegate-harness.js';

let h: Harness;

before(async () => {
  h = await startHarness({
    policy: (env) =>
      basePolicy(env, {
        rules: `  - name: ci-reads
    identities: [ci]
    when: { statements: [read, session, transaction] }
    action: allow
  - name: no-ddl
    identities: [ci]
    when: { statements: [ddl] }
    action: deny
    message: schema changes go through migrations
  - name: orders-writes-need-approval
    identities: [ci]
    when: { statements: [insert, update, delete], tables: ["public.orders"] }
    action: approve
    approval: { approvers: [dba], timeout: 20s }
  - name: quick-hold
    identities: [ci]
    when: { statements: [delete], tables: ["audit_only.events"] }
    action: approve
    approval: { approvers: [dba], timeout: 2s }
  - name: never-events
    identities: [ci]
    when: { schemas: [audit_only], statements: [read] }
    action: deny
  - name: no-forbidden-literal
    identities: [ci]
    when: { text: "forbidden-literal" }
    action: deny`,
      }),
    // Heartbeats every 150 ms instead of 30 s, so a test sees a waiting client hear them.
    env: { SIDEGATE_HOLD_HEARTBEAT_MS: '150' },
  });
});

after(async () => {
  await h?.close();
});

async function client(token?: string): Promise<pg.Client> {
  const c = new pg.Client({ host: '127.0.0.1', port: h.port, user: 'ci', database: h.pg.database, password: token ?? (await h.token()) });
  await c.connect();
  return c;
}

test('psql: an allowed SELECT returns the rows the database has', async () => {
  const r = await psql(h, await h.token(), 'SELECT count(*) AS n FROM orders;\n', ['-tA']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), '50');
});

test('a denied statement gets SQLSTATE 42501 naming the rule, and the session stays usable', async () => {
  const c = await client();
  try {
    await assert.rejects(c.query('DROP TABLE orders'), (err: Error & { code?: string }) => {
      assert.equal(err.code, '42501');
      assert.match(err.message, /no-ddl/);
      return true;
    });
    const r = await c.query('SELECT 1 AS one');
    assert.equal(r.rows[0].one, 1);
    // The table is still there.
    const n = await c.query('SELECT count(*)::int AS n FROM orders');
    assert.equal(n.rows[0].n, 50);
  } finally {
    await c.end();
  }
});

test('default deny: a statement no rule allows is denied with rule "default"', async () => {
  const c = await client();
  try {
    await assert.rejects(c.query("INSERT INTO customers (name, email) VALUES ('x', 'x@example.com')"), (err: Error & { code?: string }) => {
      assert.equal(err.code, '42501');
      assert.match(err.message, /default/);
      return true;
    });
  } finally {
    await c.end();
  }
});

test('a multi-statement string with one denied statement runs none of it', async () => {
  const c = await client();
  try {
    // No parameters: node-postgres sends this as one simple Query message with three statements.
    await assert.rejects(c.query('SELECT 1; DROP TABLE orders; SELECT 2'), (err: Error & { code?: string }) => {
      assert.equal(err.code, '42501');
      assert.match(err.message, /no-ddl/);
      return true;
    });
    assert.equal((await c.query('SELECT count(*)::int AS n FROM orders')).rows[0].n, 50);
  } finally {
    await c.end();
  }
});

test('held then approved: exactly that statement runs, the approver is recorded, other sessions keep flowing', async () => {
  const held = await client();
  const other = await client();
  try {
    const before = (await other.query('SELECT total FROM orders WHERE id = 7')).rows[0].total as string;
    const notices: string[] = [];
    held.on('notice', (n) => notices.push(n.message ?? ''));
    const pending = held.query('UPDATE orders SET total = total + 1 WHERE id = 7');
    const approval = await waitForPending(h, (a) => a.rule === 'orders-writes-need-approval');
    assert.match(approval.id, /\S/);
    // The approver sees the statement exactly as it will run, literals included.
    assert.equal(approval.command, 'UPDATE orders SET total = total + 1 WHERE id = 7');
    // While one statement is held, another session is unaffected.
    const t0 = Date.now();
    assert.equal((await other.query('SELECT 1 AS x')).rows[0].x, 1);
    assert.ok(Date.now() - t0 < 5000);
    // The waiting client was told why nothing happens, with the approval id.
    for (let i = 0; i < 50 && notices.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.match(notices[0] ?? '', new RegExp(`held for approval ${approval.id}.*orders-writes-need-approval.*waiting for a decision from dba`));
    // While it waits, it keeps hearing that it waits (a client in silence looks hung).
    for (let i = 0; i < 100 && notices.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    assert.match(notices[1] ?? '', new RegExp(`still waiting for approval ${approval.id} \\(\\d+s so far\\)`));
    const res = await h.approvals.decide(approval.id, 'approve', 'dba');
    assert.equal(res.status, 200, await res.text());
    const done = await pending;
    assert.equal(done.rowCount, 1);
    const after = (await other.query('SELECT total FROM orders WHERE id = 7')).rows[0].total as string;
    assert.equal(Number(after), Number(before) + 1);
    // The same statement again needs a new approval: approval released exactly one execution.
    const again = held.query('UPDATE orders SET total = total - 1 WHERE id = 7');
    const second = await waitForPending(h, (a) => a.rule === 'orders-writes-need-approval' && a.id !== approval.id);
    await h.approvals.decide(second.id, 'approve', 'dba');
    await again;
    await h.sidecar.audit.flush();
    const span = await h.receiver.waitForSpans(
      // The statement's span (a child of its session), not the embedded broker's decision spans beside it.
      (spans) => spans.find((s) => s.parentSpanId !== undefined && s.attributes['sidegate.approval.id'] === approval.id && s.attributes['sidegate.approval.approver'] === 'dba'),
      10_000,
    );
    assert.ok(span);
    // The completion's tag and its row count, as PostgreSQL reported them.
    assert.equal(span.attributes['sidegate.command_tag'], 'UPDATE 1');
    assert.equal(span.attributes['sidegate.rows_affected'], 1);
  } finally {
    await held.end();
    await other.end();
  }
});

test('held then denied by the approver: 42501 with the approval id, nothing changed', async () => {
  const c = await client();
  try {
    const pending = c.query('DELETE FROM orders WHERE id = 3');
    const approval = await waitForPending(h, (a) => a.rule === 'orders-writes-need-approval' && /DELETE/.test(a.command));
    await h.approvals.decide(approval.id, 'deny', 'dba');
    await assert.rejects(pending, (err: Error & { code?: string }) => {
      assert.equal(err.code, '42501');
      assert.match(err.message, new RegExp(approval.id));
      assert.match(err.message, /denied/);
      return true;
    });
    assert.equal((await c.query('SELECT count(*)::int AS n FROM orders WHERE id = 3')).rows[0].n, 1);
  } finally {
    await c.end();
  }
});

test('held then timed out: 42501 saying so; the session is usable afterwards', async () => {
  const c = await client();
  try {
    await assert.rejects(c.query('DELETE FROM audit_only.events'), (err: Error & { code?: string }) => {
      assert.equal(err.code, '42501');
      assert.match(err.message, /timed out/);
      return true;
    });
    assert.equal((await c.query('SELECT 2 AS two')).rows[0].two, 2);
  } finally {
    await c.end();
  }
});

test('a statement hidden in a prepared statement is checked at Parse', async () => {
  const c = await client();
  try {
    await assert.rejects(c.query({ name: 'sneaky', text: 'DROP TABLE orders' }), (err: Error & { code?: string }) => {
      assert.equal(err.code, '42501');
      return true;
    });
    // Parameterised reads through the extended protocol are fine.
    const r = await c.query({ name: 'by-id', text: 'SELECT id, total FROM orders WHERE id = $1', values: [5] });
    assert.equal(r.rows[0].id, 5);
    const again = await c.query({ name: 'by-id', text: 'SELECT id, total FROM orders WHERE id = $1', values: [6] });
    assert.equal(again.rows[0].id, 6);
  } finally {
    await c.end();
  }
});

test('a denied statement inside a transaction aborts it the way a PostgreSQL error would', async () => {
  const c = await client();
  try {
    await c.query('BEGIN');
    await assert.rejects(c.query('DROP TABLE orders'), { code: '42501' });
    await assert.rejects(c.query('SELECT 1'), { code: '25P02' });
    await c.query('ROLLBACK');
    assert.equal((await c.query('SELECT 3 AS x')).rows[0].x, 3);
  } finally {
    await c.end();
  }
});

test('the audit trail has a session span with one child span per statement and OTel db attributes', async () => {
  const r = await psql(h, await h.token(), "SELECT id FROM orders WHERE total > 10 AND id < 4; DROP TABLE customers;\n", ['-tA']);
  assert.match(r.stderr, /42501/);
  await h.sidecar.audit.flush();
  const denied = await h.receiver.waitForSpans(
    (spans) => spans.find((s) => s.attributes['db.query.text'] === 'DROP TABLE customers' && s.attributes['sidegate.decision'] === 'deny'),
    10_000,
  );
  const spans = h.receiver.spans();
  const session = spans.find((s) => s.spanId === denied.parentSpanId);
  assert.ok(session, 'the statement span has its session span as parent');
  assert.equal(session.traceId, denied.traceId);
  assert.equal(session.attributes['db.system.name'], 'postgresql');
  const select = spans.find((s) => s.parentSpanId === session.spanId && s.attributes['db.operation.name'] === 'SELECT');
  assert.ok(select);
  assert.equal(select.attributes['db.query.text'], 'SELECT id FROM orders WHERE total > ? AND id < ?');
  assert.equal(select.attributes['db.collection.name'], 'orders');
  const tag = String(select.attributes['sidegate.command_tag']);
  assert.match(tag, /^SELECT \d+$/);
  assert.equal(select.attributes['db.response.returned_rows'], Number(tag.slice('SELECT '.length)));
  assert.equal(select.attributes['db.namespace'], h.pg.database);
  assert.equal(select.attributes['server.port'], h.pg.port);
  assert.equal(select.attributes['sidegate.identity.issuer'], h.issuer.issuer);
  assert.equal(denied.attributes['sidegate.rule'], 'no-ddl');
  assert.equal(denied.attributes['db.response.status_code'], '42501');
  // The CI run on the session and on every command span, under the names the broker and the
  // token exchange use (a GitLab project is the run's repository).
  for (const span of [session, select, denied]) {
    assert.equal(span.attributes['sidegate.ci.system'], 'gitlab');
    assert.equal(span.attributes['sidegate.ci.repository'], 'acme/api');
    assert.equal(span.attributes['sidegate.ci.ref'], 'main');
    assert.equal(span.attributes['sidegate.ci.pipeline'], '4242');
  }
});

test('statements of one shape that differ only in their literals each keep their own decision and rule in the audit trail', async () => {
  const c = await client();
  const texts = ["SELECT id FROM orders WHERE id = 1 OR 'x' = 'forbidden-literal'", "SELECT id FROM orders WHERE id = 2 OR 'x' = 'y'", "SELECT id FROM orders WHERE id = 3 OR 'x' = 'z'"];
  try {
    // Simple protocol (no parameters): one shape, the first denied by a text rule.
    await assert.rejects(c.query(texts[0]!), (err: Error & { code?: string }) => err.code === '42501' && /no-forbidden-literal/.test(err.message));
    assert.deepEqual((await c.query(texts[1]!)).rows, [{ id: 2 }]);
    assert.deepEqual((await c.query(texts[2]!)).rows, [{ id: 3 }]);
  } finally {
    await c.end();
  }
  await h.sidecar.audit.flush();
  const shape = 'SELECT id FROM orders WHERE id = ? OR ? = ?';
  const spans = await h.receiver.waitForSpans((all) => {
    const mine = all.filter((s) => s.attributes['db.query.text'] === shape);
    return mine.length === 3 && mine;
  });
  spans.sort((a, b) => (BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1));
  assert.deepEqual(
    spans.map((s) => [s.attributes['sidegate.decision'], s.attributes['sidegate.rule'], s.attributes['sidegate.policy.action']]),
    [
      ['deny', 'no-forbidden-literal', 'deny'],
      ['allow', 'ci-reads', 'allow'],
      ['allow', 'ci-reads', 'allow'],
    ],
  );
  assert.equal(new Set(spans.map((s) => s.parentSpanId)).size, 1, 'one session');
});

test('a statement span starts when the command arrives and ends when its reply is written; a session that drops mid-statement still ends it', async () => {
  const c = await client();
  const before = BigInt(Date.now()) * 1_000_000n;
  await c.query("SELECT pg_sleep(0.2), 'span-timing' AS marker");
  const after = BigInt(Date.now()) * 1_000_000n;
  await c.end();
  await h.sidecar.audit.flush();
  const timed = await h.receiver.waitForSpans((spans) => spans.find((s) => String(s.attributes['db.query.text']).includes("'span-timing'") || String(s.attributes['db.query.text']).includes('pg_sleep(?), ? AS marker')));
  const start = BigInt(timed.startTimeUnixNano);
  const end = BigInt(timed.endTimeUnixNano);
  // Clocks: the span's is wall time at start-up plus a monotonic clock; allow a few ms either way.
  const slack = 5_000_000n;
  assert.ok(start >= before - slack && start <= before + 100_000_000n, `span starts when the command was sent (${start - before} ns after)`);
  assert.ok(end - start >= 200_000_000n, `span covers the statement's own 200 ms (${end - start} ns)`);
  assert.ok(end <= after + slack, 'span ends by the time the client has the reply');
  assert.equal(timed.attributes['sidegate.rows_returned'], 1);
  // The decision travels in the statement's shared attributes, not in per-run marks.
  assert.equal(timed.attributes['sidegate.decision'], 'allow');
  assert.equal(timed.attributes['sidegate.policy.action'], 'allow');
  assert.equal(timed.attributes['sidegate.rule'], 'ci-reads');

  // The client sends a long statement and vanishes: the statement's span still ends, saying why.
  const token = await h.token();
  const dropped = new pg.Client({ host: '127.0.0.1', port: h.port, user: 'ci', database: h.pg.database, password: token });
  dropped.on('error', () => {});
  await dropped.connect();
  dropped.query("SELECT pg_sleep(2), 'dropped-mid-statement' AS marker").catch(() => {});
  await new Promise((r) => setTimeout(r, 300));
  (dropped as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
  await new Promise((r) => setTimeout(r, 300));
  await h.sidecar.audit.flush();
  const cut = await h.receiver.waitForSpans((spans) => spans.find((s) => s.attributes['db.operation.name'] === 'SELECT' && s.status?.code === 2 && /connection closed/.test(s.status.message ?? '')));
  assert.equal(cut.attributes['sidegate.executed'], false);
  assert.ok(BigInt(cut.endTimeUnixNano) >= BigInt(cut.startTimeUnixNano));
});

test('changing search_path does not hide a schema from a deny rule; a startup option setting it is refused', async () => {
  const c = await client();
  try {
    // Allowed: unqualified means public while the search_path is untouched.
    assert.equal((await c.query('SELECT count(*)::int AS n FROM orders')).rows[0].n, 50);
    await c.query('SET search_path = audit_only, public');
    await assert.rejects(c.query('SELECT * FROM events'), (err: Error & { code?: string }) => {
      assert.equal(err.code, '42501');
      assert.match(err.message, /never-events/);
      return true;
    });
  } finally {
    await c.end();
  }
  // PGOPTIONS would set search_path (or a role) with no statement for policy to see: refused by name.
  const withOptions = await run(
    'psql',
    ['-X', '-tA', '-h', '127.0.0.1', '-p', String(h.port), '-U', 'ci', '-d', h.pg.database, '-c', 'SHOW search_path'],
    { PGPASSWORD: await h.token(), PGSSLMODE: 'disable', PGOPTIONS: '-c search_path=audit_only' },
  );
  assert.notEqual(withOptions.code, 0, withOptions.stdout);
  assert.match(withOptions.stderr, /sidegate: setting "search_path" in options/);
});

test('standard_conforming_strings = off cannot smuggle a statement past inspection inside a string literal', async () => {
  const c = await client();
  const exists = async () => (await c.query("SELECT count(*)::int AS n FROM pg_class WHERE relname = 'smuggled_x'")).rows[0].n;
  try {
    // Meaning is kept with the default setting: the backslash is an ordinary character.
    assert.equal((await c.query("SELECT 'C:\\temp' AS p")).rows[0].p, 'C:\\temp');
    await c.query('SET standard_conforming_strings = off');
    // One harmless string to sidegate's (and PostgreSQL's default) reading; with the setting off
    // the server would read \' as an escaped quote and run the CREATE the policy denies.
    const smuggle = "SELECT 'x\\''; CREATE TABLE smuggled_x (); --' AS v";
    const r = await c.query(smuggle);
    assert.equal((r as unknown as pg.QueryResult).rows[0].v, "x\\'; CREATE TABLE smuggled_x (); --");
    assert.equal(await exists(), 0, 'the smuggled statement did not run');
    // The same through a prepared statement (Parse).
    const p = await c.query({ text: "SELECT $1::text || 'y\\' AS v", values: ['a'] });
    assert.equal(p.rows[0].v, 'ay\\');
    // Literals without a backslash, and E'' literals, are untouched and mean what they say.
    assert.equal((await c.query("SELECT 'plain' || E'\\t' AS v")).rows[0].v, 'plain\t');
    // N'' cannot be written setting-independently: refused.
    await assert.rejects(c.query("SELECT N'a\\b'"), (err: Error & { code?: string }) => {
      assert.equal(err.code, '42501');
      assert.match(err.message, /ambiguous-string-literal/);
      return true;
    });
    assert.equal(await exists(), 0);
  } finally {
    await c.end();
  }
});
