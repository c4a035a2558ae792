// The proxy must be invisible to well-behaved clients: pgbench in every query mode (and its
// pipeline mode), COPY both ways, CancelRequest, LISTEN/NOTIFY, notices, errors and transaction
// state all behave as they do against PostgreSQL directly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { startHarness, basePolicy, psql, run, type Harness } from '../support/sidegate-harness.js';

let h: Harness;
let token: string;

before(async () => {
  h = await startHarness({
    policy: (env) =>
      basePolicy(env, {
        rules: `  - name: ci-everything
    identities: [ci]
    action: allow`,
      }),
  });
  token = await h.token();
});

after(async () => {
  await h?.close();
});

const env = () => ({ PGPASSWORD: token, PGSSLMODE: 'disable', PGHOST: '127.0.0.1', PGPORT: String(h.port), PGUSER: 'ci', PGDATABASE: h.pg.database });

test('pgbench -i initialises through the proxy (DDL, COPY FROM STDIN, VACUUM)', async () => {
  const r = await run('pgbench', ['-i', '-s', '1', '-q'], env(), undefined, 120_000);
  assert.equal(r.code, 0, r.stderr);
  const c = await psql(h, token, 'SELECT count(*) FROM pgbench_accounts;\n', ['-tA']);
  assert.equal(c.stdout.trim(), '100000');
});

for (const mode of ['simple', 'extended', 'prepared']) {
  test(`pgbench -M ${mode} runs every transaction without error`, async () => {
    const r = await run('pgbench', ['-n', '-M', mode, '-c', '4', '-j', '2', '-t', '100'], env(), undefined, 120_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /number of transactions actually processed: 400\/400/);
    assert.match(r.stdout, /number of failed transactions: 0/);
  });
}

test('pgbench -S -M prepared (select-only) completes', async () => {
  const r = await run('pgbench', ['-n', '-S', '-M', 'prepared', '-c', '2', '-t', '200'], env(), undefined, 120_000);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /actually processed: 400\/400/);
});

test('pgbench pipeline mode (extended protocol, many messages before one Sync)', async () => {
  const script = join(h.dir, 'pipeline.sql');
  await writeFile(script, '\\set aid random(1, 100000)\n\\startpipeline\nSELECT abalance FROM pgbench_accounts WHERE aid = :aid;\nSELECT 1;\nSELECT abalance FROM pgbench_accounts WHERE aid = :aid + 1;\n\\endpipeline\n');
  const r = await run('pgbench', ['-n', '-M', 'extended', '-f', script, '-t', '50'], env(), undefined, 60_000);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /actually processed: 50\/50/);
});

test('COPY FROM STDIN and COPY TO STDOUT move the data unchanged', async () => {
  const rows = Array.from({ length: 2000 }, (_, i) => `${i}\trow ${i} with tab-free text\n`).join('');
  const create = await psql(h, token, 'DROP TABLE IF EXISTS copy_test; CREATE TABLE copy_test (id int, body text);\n');
  assert.equal(create.code, 0, create.stderr);
  const load = await psql(h, token, `COPY copy_test FROM STDIN;\n${rows}\\.\n`);
  assert.equal(load.code, 0, load.stderr);
  const out = await psql(h, token, 'COPY (SELECT id, body FROM copy_test ORDER BY id) TO STDOUT;\n');
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, rows);
});

test('CancelRequest reaches the right upstream backend', async () => {
  const c = new pg.Client({ host: '127.0.0.1', port: h.port, user: 'ci', database: h.pg.database, password: token });
  await c.connect();
  try {
    const { processID, secretKey } = c as unknown as { processID: number; secretKey: number };
    const sleeping = c.query('SELECT pg_sleep(20)');
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    await new Promise<void>((resolve, reject) => {
      const s = net.connect(h.port, '127.0.0.1', () => {
        const buf = Buffer.alloc(16);
        buf.writeInt32BE(16, 0);
        buf.writeInt32BE(80877102, 4);
        buf.writeInt32BE(processID, 8);
        buf.writeInt32BE(secretKey, 12);
        s.end(buf);
      });
      s.on('close', () => resolve());
      s.on('error', reject);
    });
    await assert.rejects(sleeping, { code: '57014' });
    assert.ok(Date.now() - t0 < 10_000);
    assert.equal((await c.query('SELECT 1 AS x')).rows[0].x, 1);
  } finally {
    await c.end();
  }
});

test('LISTEN/NOTIFY notifications and NOTICE messages pass through', async () => {
  const listener = new pg.Client({ host: '127.0.0.1', port: h.port, user: 'ci', database: h.pg.database, password: token });
  const notifier = new pg.Client({ host: '127.0.0.1', port: h.port, user: 'ci', database: h.pg.database, password: token });
  await listener.connect();
  await notifier.connect();
  try {
    const got = new Promise<pg.Notification>((resolve) => listener.on('notification', resolve));
    const notices: string[] = [];
    notifier.on('notice', (n) => notices.push(n.message ?? ''));
    await listener.query('LISTEN sidegate_channel');
    await notifier.query("NOTIFY sidegate_channel, 'hello'");
    const n = await got;
    assert.equal(n.channel, 'sidegate_channel');
    assert.equal(n.payload, 'hello');
    await notifier.query("DO $$ BEGIN RAISE NOTICE 'notice from server'; END $$");
    assert.deepEqual(notices, ['notice from server']);
  } finally {
    await listener.end();
    await notifier.end();
  }
});

test('upstream errors, their SQLSTATE and transaction state pass through faithfully', async () => {
  const c = new pg.Client({ host: '127.0.0.1', port: h.port, user: 'ci', database: h.pg.database, password: token });
  await c.connect();
  try {
    await assert.rejects(c.query('SELECT * FROM no_such_table'), { code: '42P01' });
    await c.query('BEGIN');
    await c.query('CREATE TEMP TABLE t_state (x int)');
    await assert.rejects(c.query('SELECT 1/0'), { code: '22012' });
    await assert.rejects(c.query('SELECT 1'), { code: '25P02' });
    await c.query('ROLLBACK');
    const r = await c.query({ text: 'SELECT $1::int + 1 AS v', values: [41] });
    assert.equal(r.rows[0].v, 42);
    // Parameter errors in the extended protocol.
    await assert.rejects(c.query({ text: 'SELECT $1::int', values: ['not a number'] }), { code: '22P02' });
    assert.equal((await c.query('SELECT 7 AS x')).rows[0].x, 7);
  } finally {
    await c.end();
  }
});

test('an empty query and a comment-only query behave as upstream', async () => {
  const c = new pg.Client({ host: '127.0.0.1', port: h.port, user: 'ci', database: h.pg.database, password: token });
  await c.connect();
  try {
    const r = await c.query('');
    assert.equal(r.rowCount, null);
    const r2 = await c.query('-- only a comment');
    assert.equal(r2.rowCount, null);
    assert.equal((await c.query('SELECT 1 AS x')).rows[0].x, 1);
  } finally {
    await c.end();
  }
});
