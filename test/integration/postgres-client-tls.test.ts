// TLS toward the client: SSLRequest answered 'S' when sidegate has a certificate, and psql and
// node-postgres verify it (verify-full) before sending their token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { startHarness, basePolicy, run, type Harness } from '../support/sidegate-harness.js';

let h: Harness;

before(async () => {
  h = await startHarness({ policy: (env) => basePolicy(env), clientTls: true });
});

after(async () => {
  await h?.close();
});

test('psql with sslmode=verify-full connects over TLS through sidegate', async () => {
  const r = await run(
    'psql',
    ['-X', '-tA', '-c', 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()', `host=127.0.0.1 port=${h.port} user=ci dbname=${h.pg.database} sslmode=verify-full sslrootcert=${h.pg.caFile}`],
    { PGPASSWORD: await h.token() },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 't', 'the upstream leg is TLS too');
});

test('node-postgres with a verified TLS connection', async () => {
  const c = new pg.Client({
    host: '127.0.0.1',
    port: h.port,
    user: 'ci',
    database: h.pg.database,
    password: await h.token(),
    ssl: { ca: await readFile(h.pg.caFile, 'utf8'), servername: 'localhost' },
  });
  await c.connect();
  try {
    assert.equal((await c.query('SELECT 1 AS x')).rows[0].x, 1);
  } finally {
    await c.end();
  }
});

test('a plaintext client is still served: TLS is offered, not forced', async () => {
  const plain = await run('psql', ['-X', '-tA', '-c', 'SELECT 2', `host=127.0.0.1 port=${h.port} user=ci dbname=${h.pg.database} sslmode=disable`], {
    PGPASSWORD: await h.token(),
  });
  assert.equal(plain.stdout.trim(), '2', plain.stderr);
});
