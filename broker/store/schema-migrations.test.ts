// Migrations against the test PostgreSQL 15 (a scratch database): replicas starting together
// apply each migration once, and a broker older than its database refuses to start.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { MIGRATIONS, migrate } from './schema-migrations.js';
import { openPostgresClient } from './postgres-sql-client.js';
import { SqlApprovalStore } from './sql-approval-store.js';
import { openPgliteClient } from './pglite-sql-client.js';
import { createScratchDatabase, type ScratchDatabase } from '../../test/support/scratch-postgres-database.js';

let db: ScratchDatabase;
before(async () => {
  db = await createScratchDatabase('sidegate_broker_test');
});
after(() => db.drop());

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  const c = new pg.Client(db.connection);
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

test('four replicas migrating a fresh database at once: each migration applied once, all of them start', async () => {
  const clients = Array.from({ length: 4 }, () => openPostgresClient(db.connection));
  try {
    const applied = await Promise.all(clients.map((c) => migrate(c)));
    const all = MIGRATIONS.map((m) => m.version);
    assert.deepEqual(applied.flat().sort(), all, `applied once in all: ${JSON.stringify(applied)}`);
    assert.equal(applied.filter((a) => a.length > 0).length, 1, 'by exactly one replica');
    assert.deepEqual((await rows('SELECT version FROM sidegate_broker_migrations ORDER BY version')).map((r) => r['version']), all);
    assert.deepEqual(await Promise.all(clients.map((c) => migrate(c))), [[], [], [], []], 'a second start applies nothing');
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
  // And whole stores opening together on it work (migrate, LISTEN, sweep).
  const stores = await Promise.all([1, 2].map(() => SqlApprovalStore.open(openPostgresClient(db.connection))));
  await Promise.all(stores.map((s) => s.close()));
});

test('a database migrated by a newer broker is refused, naming the version', async () => {
  const sql = await openPgliteClient();
  try {
    await migrate(sql);
    await sql.query(`INSERT INTO sidegate_broker_migrations (version, name) VALUES (999, 'from the future')`);
    await assert.rejects(migrate(sql), /schema version 999, newer than this broker knows/);
  } finally {
    await sql.close();
  }
});

test('a migration that fails leaves nothing behind (one transaction)', async () => {
  const sql = await openPgliteClient();
  try {
    const broken = [...MIGRATIONS, { version: 99, name: 'broken', statements: ['CREATE TABLE half_done (x int)', 'SELECT no_such_function()'] }];
    await assert.rejects(migrate(sql, broken), /no_such_function/);
    assert.deepEqual(await sql.query(`SELECT to_regclass('half_done') AS t, to_regclass('sidegate_approval_requests') AS r`), [{ t: null, r: null }]);
    assert.deepEqual(await migrate(sql), MIGRATIONS.map((m) => m.version));
  } finally {
    await sql.close();
  }
});

for (const kind of ['pglite', 'postgres'] as const) {
  test(`${kind}: a database of schema version 1 is upgraded in place; its requests stay, without a span context`, async () => {
    const scratch = kind === 'postgres' ? await createScratchDatabase('sidegate_broker_upgrade') : undefined;
    const open = () => (scratch ? openPostgresClient(scratch.connection) : undefined);
    const sql = open() ?? (await openPgliteClient());
    try {
      assert.deepEqual(await migrate(sql, MIGRATIONS.filter((m) => m.version === 1)), [1]);
      await sql.query(
        `INSERT INTO sidegate_approval_requests (id, status, created_at, expires_at, requester_issuer, requester_subject, requester,
           target, protocol, command, shown, hash, rule, approvers, groups, threshold, session_id)
         VALUES ('01JOLDREQUEST0000000000000', 'pending', now(), now() + interval '1 hour', 'https://ci', 'ci', '{"subject":"ci","issuer":"https://ci","identities":[]}',
           'db', 'postgres', 'DELETE FROM t', '{}', 'sha256:' || repeat('a', 64), 'r', '[]', '[]', 1, 's1')`,
      );
      const store = await SqlApprovalStore.open(sql, { ownsClient: false });
      try {
        const old = await store.get('01JOLDREQUEST0000000000000');
        assert.equal(old.status, 'pending');
        assert.equal(old.traceparent, undefined);
        const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
        const created = await store.create({
          requester: { subject: 'ci', issuer: 'https://ci', identities: [] },
          target: 'db', protocol: 'postgres', command: 'DELETE FROM t', hash: `sha256:${'b'.repeat(64)}`, rule: 'r', sessionId: 's2', timeoutMs: 60_000, traceparent,
        });
        assert.equal((await store.get(created.id)).traceparent, traceparent);
      } finally {
        await store.close();
      }
    } finally {
      await sql.close();
      await scratch?.drop();
    }
  });
}
