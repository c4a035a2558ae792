// The audit trail of MySQL sessions as a real OTLP/HTTP receiver gets it: a session span, one
// child span per command with OpenTelemetry's database conventions for MariaDB (literal-free
// query text, the MySQL error number as the status code) and sidegate's decision attributes,
// hash-chained; and no value a client sent or received in any exported span.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, basePolicy, type Harness } from '../support/sidegate-harness.js';
import type { ReceivedSpan } from '../support/otlp-receiver.js';
import { verifyChain } from '../../core/audit/index.js';
import { IT_DATABASE, connectVia, createItDatabase, itTarget, outcome, rootSql } from '../support/mariadb-side-by-side.js';

let h: Harness;

/** Values that must never reach the audit trail: one a detector masks, one nothing recognises. */
const CANARY_EMAIL = 'canary.7d41e9@example.com';
const CANARY_PLAIN = 'canary-plain-52c8f0a3';

before(async () => {
  h = await startHarness({
    policy: (env) =>
      basePolicy(env, {
        rules: `  - name: ci-reads
    identities: [ci]
    when: { statements: [read, session, transaction] }
    action: allow
  - name: ci-audit-writes
    identities: [ci]
    when: { statements: [insert], tables: ["audit_items"] }
    action: allow
  - name: no-drops
    when: { statements: [drop] }
    action: deny`,
        masking: `  - name: emails
    detectors: [email]
    strategy: redact`,
      }).replace('targets:\n', `targets:\n${itTarget(env.maria)}`),
  });
  await createItDatabase(h.maria);
  await rootSql(
    h.maria,
    `USE ${IT_DATABASE};
     DROP TABLE IF EXISTS audit_items;
     CREATE TABLE audit_items (id INT PRIMARY KEY, note VARCHAR(100) UNIQUE);
     INSERT INTO audit_items VALUES (42, '${CANARY_EMAIL}'), (43, '${CANARY_PLAIN}');`,
  );
});

after(async () => {
  await h?.close();
});

/** The session span of the connection sidegate greeted with `threadId`, and its children in start order, once it ended. */
async function sessionOf(threadId: number): Promise<{ session: ReceivedSpan; commands: ReceivedSpan[] }> {
  await h.sidecar.audit.flush();
  const session = await h.receiver.waitForSpans((spans) => spans.find((s) => !s.parentSpanId && s.attributes['sidegate.mysql.connection_id'] === threadId));
  const commands = h.receiver
    .spans()
    .filter((s) => s.parentSpanId === session.spanId)
    .sort((a, b) => (BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1));
  return { session, commands };
}

test('a session span with one child span per command, OTel attributes for MariaDB, decisions and error numbers', async () => {
  const c = await connectVia(h, { multipleStatements: true });
  const threadId = c.threadId!;
  await c.query('SELECT id, note FROM audit_items WHERE id = 42');
  await c.execute('SELECT note FROM audit_items WHERE id = ?', [43]);
  assert.ok('error' in (await outcome(c.query('SELECT nosuchcolumn FROM audit_items'))));
  assert.ok('error' in (await outcome(c.query('DROP TABLE audit_items'))));
  await c.query("SELECT 1; SELECT COUNT(*) FROM audit_items WHERE note <> 'x'");
  await c.end();

  const { session, commands } = await sessionOf(threadId);
  assert.equal(session.attributes['db.system.name'], 'mariadb');
  assert.equal(session.attributes['db.namespace'], IT_DATABASE);
  assert.equal(session.attributes['sidegate.ci.repository'], 'acme/api');
  for (const command of commands) assert.equal(command.attributes['sidegate.ci.pipeline'], '4242', 'the CI run is on every command span');
  // Exactly one span per command (a multi-statement string: one per statement); none for the prepare.
  assert.deepEqual(
    commands.map((s) => [s.attributes['db.operation.name'], s.attributes['db.query.text'], s.attributes['sidegate.decision'], s.attributes['sidegate.rule'], s.attributes['db.response.status_code']]),
    [
      ['SELECT', 'SELECT id, note FROM audit_items WHERE id = ?', 'allow', 'ci-reads', undefined],
      ['SELECT', 'SELECT note FROM audit_items WHERE id = ?', 'allow', 'ci-reads', undefined],
      ['SELECT', 'SELECT nosuchcolumn FROM audit_items', 'allow', 'ci-reads', '1054'],
      ['DROP TABLE', 'DROP TABLE audit_items', 'deny', 'no-drops', '1142'],
      ['SELECT', 'SELECT ?', 'allow', 'ci-reads', undefined],
      ['SELECT', 'SELECT COUNT(*) FROM audit_items WHERE note <> ?', 'allow', 'ci-reads', undefined],
    ],
  );
  for (const s of commands) {
    assert.equal(s.attributes['db.system.name'], 'mariadb', s.name);
    assert.equal(s.attributes['db.namespace'], IT_DATABASE, s.name);
  }
  assert.equal(commands[0]!.attributes['db.collection.name'], 'audit_items');
  assert.equal(commands[0]!.attributes['sidegate.rows_returned'], 1);
  assert.equal(commands[2]!.status?.code, 2, 'a server error is an error span');
  assert.equal(commands[3]!.attributes['sidegate.executed'], false);
  assert.equal(verifyChain(h.receiver.spans()).ok, true);
});

test('no canary value reaches an exported span: literals, parameters, echoed errors, unparsable and denied text', async () => {
  const c = await connectVia(h);
  const threadId = c.threadId!;
  await c.query(`SELECT id FROM audit_items WHERE note = '${CANARY_EMAIL}'`);
  await c.execute('SELECT id FROM audit_items WHERE note = ? OR note = ?', [CANARY_PLAIN, CANARY_EMAIL]);
  await c.query(`SELECT note FROM audit_items WHERE id IN (42, 43)`);
  // The server echoes the values in its errors.
  const dupPlain = await outcome(c.query(`INSERT INTO audit_items VALUES (1, '${CANARY_PLAIN}')`));
  assert.ok('error' in dupPlain && dupPlain.error.errno === 1062, JSON.stringify(dupPlain));
  const dupEmail = await outcome(c.execute('INSERT INTO audit_items VALUES (?, ?)', [2, CANARY_EMAIL]));
  assert.ok('error' in dupEmail && dupEmail.error.errno === 1062, JSON.stringify(dupEmail));
  assert.ok(!(dupEmail.error.sqlMessage ?? '').includes(CANARY_EMAIL), 'the client gets the echoed e-mail masked');
  const badCast = await outcome(c.query(`SELECT CAST('${CANARY_PLAIN}' AS INT) + nosuch FROM audit_items`));
  assert.ok('error' in badCast);
  const unparsable = await outcome(c.query(`SELEC '${CANARY_PLAIN}', '${CANARY_EMAIL}'`));
  assert.ok('error' in unparsable && unparsable.error.errno === 1142);
  // No rule allows a DELETE: denied by default, its text still in the span.
  const denied = await outcome(c.query(`DELETE FROM audit_items WHERE note = '${CANARY_PLAIN}'`));
  assert.ok('error' in denied && denied.error.errno === 1142);
  await c.end();

  const { session, commands } = await sessionOf(threadId);
  assert.equal(commands.length, 8);
  assert.equal(session.attributes['db.system.name'], 'mariadb');
  assertNoCanary();
});

function assertNoCanary(): void {
  const exported = JSON.stringify(h.receiver.spans());
  for (const canary of [CANARY_EMAIL, CANARY_PLAIN, CANARY_PLAIN.slice(7), CANARY_EMAIL.split('@')[0]!]) {
    assert.ok(!exported.includes(canary), `"${canary}" appears in the exported spans: …${spanWith(canary)}`);
  }
}

function spanWith(value: string): string {
  const all = JSON.stringify(h.receiver.spans());
  const at = all.indexOf(value);
  return all.slice(Math.max(0, at - 400), at + 100);
}

test('after USE, command spans name the database the statement ran in', async () => {
  const c = await connectVia(h);
  const threadId = c.threadId!;
  await c.query(`USE ${h.maria.database}`);
  const [rows] = await c.query('SELECT COUNT(*) AS n FROM customers');
  assert.deepEqual(rows, [{ n: 3 }], 'the statement ran in the other database');
  await c.end();
  const { commands } = await sessionOf(threadId);
  const select = commands.find((s) => s.attributes['db.collection.name'] === 'customers');
  assert.ok(select);
  assert.equal(select.attributes['db.namespace'], h.maria.database);
});

test('comments, which can carry values (sqlcommenter tags, a pasted secret), do not reach an exported span', async () => {
  const c = await connectVia(h);
  const threadId = c.threadId!;
  const [rows] = await c.query(`SELECT id FROM audit_items /* ${CANARY_PLAIN} */ WHERE id = 43 -- ${CANARY_EMAIL}\n`);
  assert.deepEqual(rows, [{ id: 43 }]);
  await c.query(`SELECT id FROM audit_items # ${CANARY_PLAIN}\n WHERE id = 42`);
  await c.end();
  const { commands } = await sessionOf(threadId);
  assert.equal(commands.length, 2);
  assertNoCanary();
});
