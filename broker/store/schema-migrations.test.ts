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
    const broken = [...MIGRATIONS, { version: 2, name: 'broken', statements: ['CREATE TABLE half_done (x int)', 'SELECT no_such_function()'] }];
    await assert.rejects(migrate(sql, broken), /no_such_function/);
    assert.deepEqual(await sql.query(`SELECT to_regclass('half_done') AS t, to_regclass('sidegate_approval_requests') AS r`), [{ t: null, r: null }]);
    assert.deepEqual(await migrate(sql), [1]);
  } finally {
    await sql.close();
  }
});
