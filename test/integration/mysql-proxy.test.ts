// The MySQL adapter against the real MariaDB 10.11, driven by real clients: mysql2 (text protocol,
// prepared statements with binary rows) and the `mariadb` CLI. The client presents its CI token as
// its password (mysql_clear_password); sidegate logs in upstream with the target's credentials.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import mysql from 'mysql2/promise';
import { startHarness, basePolicy, mysqlTarget, run, type Harness } from '../support/sidegate-harness.js';

let h: Harness;

before(async () => {
  h = await startHarness({
    policy: (env) =>
      basePolicy(env, {
        rules: `  - name: ci-reads
    identities: [ci]
    when: { statements: [read, session, transaction, show] }
    action: allow
  - name: no-drops
    when: { statements: [drop] }
    action: deny
    message: dropping is never done from CI
  - name: writes-need-approval
    identities: [ci]
    when: { statements: [insert, update, delete] }
    action: approve
    approval: { approvers: [dba], timeout: 5s }`,
        masking: `  - name: pii
    columns: ["*.card"]
    detectors: [email]
    strategy: redact`,
      }).replace('targets:\n', `targets:\n${mysqlTarget(env.maria)}`),
  });
});

after(async () => {
  await h?.close();
});

async function connect(password?: string, extra: mysql.ConnectionOptions = {}): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: '127.0.0.1',
    port: h.myPort!,
    user: 'ci',
    password: password ?? (await h.token()),
    database: h.maria.database,
    // mysql2 sends a clear-text password only when told to (as for RDS IAM logins).
    enableCleartextPlugin: true,
    ...extra,
  });
}

test('mysql2 logs in with its token, reads with the text protocol, and sees masked values', async () => {
  const conn = await connect();
  try {
    const [rows] = await conn.query('SELECT id, name, email, card FROM customers ORDER BY id');
    const list = rows as Array<Record<string, unknown>>;
    assert.equal(list.length, 3);
    assert.equal(list[0]!['name'], 'Ada Lovelace');
    assert.equal(list[0]!['email'], '[REDACTED:email]');
    assert.equal(list[0]!['card'], '[REDACTED]');
    assert.equal(list[2]!['card'], null);
  } finally {
    await conn.end();
  }
});

test('prepared statements: parameters bound, binary rows decoded and masked', async () => {
  const conn = await connect();
  try {
    const [rows] = await conn.execute('SELECT id, name, email FROM customers WHERE id = ?', [2]);
    assert.deepEqual(rows, [{ id: 2, name: 'Alan Turing', email: '[REDACTED:email]' }]);
    // The same statement again, other parameters: decided again at execute.
    const [again] = await conn.execute('SELECT id, name, email FROM customers WHERE id = ?', [3]);
    assert.equal((again as Array<{ name: string }>)[0]!.name, 'Grace Hopper');
  } finally {
    await conn.end();
  }
});

test('a denied statement is an ERR naming the rule; the connection stays usable', async () => {
  const conn = await connect();
  try {
    await assert.rejects(conn.query('DROP TABLE customers'), (err: { errno?: number; sqlState?: string; message: string }) => {
      assert.equal(err.errno, 1142);
      assert.equal(err.sqlState, '42000');
      assert.match(err.message, /no-drops/);
      return true;
    });
    const [rows] = await conn.query('SELECT COUNT(*) AS n FROM customers');
    assert.equal(Number((rows as Array<{ n: number }>)[0]!.n), 3);
  } finally {
    await conn.end();
  }
});

test('a token that does not verify is refused with 1045 / 28000 and nothing reaches the target', async () => {
  await assert.rejects(connect('not-a-token'), (err: { errno?: number; sqlState?: string }) => {
    assert.equal(err.errno, 1045);
    assert.equal(err.sqlState, '28000');
    return true;
  });
});

test('the mariadb CLI runs a script through sidegate as it does directly', async () => {
  const token = await h.token();
  const r = await run('mariadb', ['-h', '127.0.0.1', '-P', String(h.myPort), '--protocol=TCP', '-u', 'ci', `-p${token}`, '-N', '-B', h.maria.database, '-e', 'SELECT name FROM customers ORDER BY id; SELECT 1 + 1'], {});
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'Ada Lovelace\nAlan Turing\nGrace Hopper\n2');
});
