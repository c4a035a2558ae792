// Who a MySQL client is, and how it reaches sidegate: in a pod, a client presenting no password is
// the pod itself (its projected token); a CI token as the password is that token's identity;
// anything else is refused with MySQL's 1045 / 28000. With a certificate configured, clients that
// ask for TLS (mysql2, the mariadb CLI) get it, verified against the test CA, and the session works.
// (A clear-text token over a non-TLS connection from a non-local address is refused, but every
// address here is local: that refusal cannot be shown on loopback.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import tls from 'node:tls';
import { startHarness, basePolicy, run, type Harness } from '../support/sidegate-harness.js';
import { IT_DATABASE, connectVia, createItDatabase, itTarget, outcome } from '../support/mariadb-side-by-side.js';

let h: Harness;
const POD_SUBJECT = 'system:serviceaccount:ci:runner-7f9c';

before(async () => {
  h = await startHarness({
    policy: (env) => basePolicy(env).replace('targets:\n', `targets:\n${itTarget(env.maria)}`),
    podToken: { sub: POD_SUBJECT, project_path: 'acme/pod' },
    clientTls: true,
  });
  await createItDatabase(h.maria);
});

after(async () => {
  await h?.close();
});

/** The subject of the session sidegate greeted with `threadId`, from its audit span. */
async function subjectOf(threadId: number): Promise<unknown> {
  await h.sidecar.audit.flush();
  const session = await h.receiver.waitForSpans((spans) => spans.find((s) => !s.parentSpanId && s.attributes['sidegate.mysql.connection_id'] === threadId));
  return session.attributes['sidegate.identity.subject'];
}

test('mysql2 with an empty password is the pod; with a CI token it is that token', async () => {
  const pod = await connectVia(h, { password: '' });
  const podId = pod.threadId!;
  assert.deepEqual((await pod.query('SELECT DATABASE() AS db'))[0], [{ db: IT_DATABASE }]);
  await pod.end();
  assert.equal(await subjectOf(podId), POD_SUBJECT);

  const ci = await connectVia(h);
  const ciId = ci.threadId!;
  assert.deepEqual((await ci.query('SELECT 1 AS one'))[0], [{ one: 1 }]);
  await ci.end();
  assert.equal(await subjectOf(ciId), 'project_path:acme/api:ref_type:branch:ref:main');
});

test('the mariadb CLI without a password is the pod', async () => {
  const r = await run('mariadb', ['-h', '127.0.0.1', '-P', String(h.myPort), '--protocol=TCP', '-u', 'ci', '-N', '-B', IT_DATABASE, '-e', 'SELECT DATABASE()'], {});
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), IT_DATABASE);
});

test('a password that is not a token is refused with 1045 / 28000, by mysql2 and by the CLI', async () => {
  const refused = await outcome(connectVia(h, { password: 'hunter2' }));
  assert.ok('error' in refused, 'a non-token password must not log in');
  assert.equal(refused.error.errno, 1045);
  assert.equal(refused.error.sqlState, '28000');
  const expired = await outcome(connectVia(h, { password: await h.token({ iat: Math.floor(Date.now() / 1000) - 900, exp: Math.floor(Date.now() / 1000) - 600 }) }));
  assert.ok('error' in expired);
  assert.equal(expired.error.errno, 1045);
  const cli = await run('mariadb', ['-h', '127.0.0.1', '-P', String(h.myPort), '--protocol=TCP', '-u', 'ci', '-pWrongPass-91c3', IT_DATABASE, '-e', 'SELECT 1'], {});
  assert.equal(cli.code, 1);
  assert.match(cli.stderr, /ERROR 1045 \(28000\)/);
  assert.ok(h.logs.some((l) => /login rejected/.test(l)), 'the refusal is logged');
  assert.ok(!h.logs.some((l) => l.includes('hunter2') || l.includes('WrongPass-91c3')), 'the presented secret is never logged');
});

test('TLS toward clients: mysql2 verifies sidegate against the CA and the session works over it', async () => {
  const ca = await readFile(h.pg.caFile);
  for (const host of ['localhost', '127.0.0.1']) {
    const c = await connectVia(h, { host, ssl: { ca, rejectUnauthorized: true } });
    try {
      const stream = (c as unknown as { connection: { stream: unknown } }).connection.stream;
      assert.ok(stream instanceof tls.TLSSocket, 'the client leg is TLS');
      assert.equal(stream.authorized, true);
      assert.match(String(stream.getProtocol()), /^TLSv1\.[23]$/);
      const [rows] = await c.execute('SELECT ? + 1 AS n', [41]);
      assert.deepEqual(rows, [{ n: 42 }]);
    } finally {
      await c.end();
    }
  }
  // The pod's identity over TLS as well.
  const pod = await connectVia(h, { password: '', ssl: { ca, rejectUnauthorized: true } });
  assert.deepEqual((await pod.query('SELECT 2 AS two'))[0], [{ two: 2 }]);
  await pod.end();
});

test('TLS toward clients: a CA that did not sign sidegate\'s certificate is refused by the client', async () => {
  const wrongCa = await readFile(h.maria.caFile);
  await assert.rejects(connectVia(h, { host: 'localhost', ssl: { ca: wrongCa, rejectUnauthorized: true } }), /certificate|self.signed|unable to verify/i);
});

test('TLS toward clients: the mariadb CLI with --ssl-verify-server-cert reports its cipher and runs', async () => {
  const r = await run(
    'mariadb',
    ['-h', 'localhost', '-P', String(h.myPort), '--protocol=TCP', '-u', 'ci', `-p${await h.token()}`, '--ssl-ca', h.pg.caFile, '--ssl-verify-server-cert', IT_DATABASE, '-e', 'status; SELECT 40 + 2'],
    {},
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /SSL:\s+Cipher in use is \S+/);
  assert.match(r.stdout, /\n42\n/);
});
