// Signed-out sessions against both databases the broker runs on: embedded PGlite (one replica) and
// the test PostgreSQL 15 (a scratch database) shared by two replicas, each with its own client.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPgliteClient } from './pglite-sql-client.js';
import { openPostgresClient } from './postgres-sql-client.js';
import { SKEW_MARGIN_MS, SqlRevokedSessions, revokedSessionKey } from './revoked-sessions.js';
import type { SqlClient } from './sql-client.js';
import { createScratchDatabase, type ScratchDatabase } from '../../test/support/scratch-postgres-database.js';

const sid = () => randomBytes(24).toString('base64url');
const HOUR = 3600_000;

let scratch: ScratchDatabase;
before(async () => {
  scratch = await createScratchDatabase('sidegate_revoked_sessions');
});
after(() => scratch.drop());

interface Replicas {
  /** The replica that signs out, and another one (the same process for PGlite). */
  clients: [SqlClient, SqlClient];
}

const backends: { name: string; open(): Promise<Replicas> }[] = [
  {
    name: 'PGlite',
    async open() {
      const sql = await openPgliteClient();
      return { clients: [sql, sql] };
    },
  },
  {
    name: 'PostgreSQL, two replicas',
    async open() {
      return { clients: [openPostgresClient(scratch.connection), openPostgresClient(scratch.connection)] };
    },
  },
];

for (const backend of backends) {
  describe(backend.name, () => {
    let clients: [SqlClient, SqlClient];
    let here: SqlRevokedSessions;
    let there: SqlRevokedSessions;
    before(async () => {
      ({ clients } = await backend.open());
      // Both open at once: each migrates (under the advisory lock) and sweeps.
      [here, there] = await Promise.all(clients.map((c) => SqlRevokedSessions.open(c))) as [SqlRevokedSessions, SqlRevokedSessions];
    });
    after(async () => {
      await Promise.all([...new Set(clients)].map((c) => c.close()));
    });

    test('a session revoked by one replica is revoked for the other at once; others are not', async () => {
      const signedOut = sid();
      const other = sid();
      assert.equal(await there.isRevoked(signedOut), false);
      await here.revoke(signedOut, Date.now() + 8 * HOUR);
      assert.equal(await there.isRevoked(signedOut), true, 'no cache anywhere: the next read sees it');
      assert.equal(await here.isRevoked(signedOut), true);
      assert.equal(await there.isRevoked(other), false);
      await there.revoke(signedOut, Date.now() + 8 * HOUR);
      assert.equal(await here.isRevoked(signedOut), true, 'signing out twice (another replica, a retry) is fine');
    });

    test('the table keeps a hash of the session id, never the id', async () => {
      const signedOut = sid();
      await here.revoke(signedOut, Date.now() + HOUR);
      const rows = await clients[0].query<{ session_hash: string }>('SELECT session_hash FROM sidegate_revoked_sessions');
      assert.ok(rows.some((r) => r.session_hash === revokedSessionKey(signedOut)));
      assert.ok(!rows.some((r) => r.session_hash.includes(signedOut)));
      assert.match(revokedSessionKey(signedOut), /^[A-Za-z0-9_-]{43}$/);
    });

    test('records are swept once their session is past its expiry and the skew margin, not before', async () => {
      const long = sid();
      const withinMargin = sid();
      const live = sid();
      await here.revoke(long, Date.now() - SKEW_MARGIN_MS - 60_000);
      await here.revoke(withinMargin, Date.now() - 60_000);
      await here.revoke(live, Date.now() + HOUR);
      // The last sign-out swept on its way; the first record went with it.
      assert.equal(await there.isRevoked(long), false, 'swept: its cookie has been refused on its own expiry for a while');
      assert.equal(await there.isRevoked(withinMargin), true, 'kept while another clock might still call it live');
      assert.equal(await there.isRevoked(live), true);
      assert.equal(await there.sweep(), 0);
      await assert.rejects(here.revoke(sid(), Number.NaN), /finite expiry/);
    });
  });
}

test('a sign-out outlives a restart of a one-replica broker (PGlite in a data directory)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-revoked-'));
  try {
    const signedOut = sid();
    const first = await openPgliteClient({ dataDir: dir });
    await (await SqlRevokedSessions.open(first)).revoke(signedOut, Date.now() + HOUR);
    await first.close();
    const second = await openPgliteClient({ dataDir: dir });
    try {
      assert.equal(await (await SqlRevokedSessions.open(second)).isRevoked(signedOut), true);
    } finally {
      await second.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a database that does not answer: the lookup rejects (callers fail closed), it never says "not revoked"', async () => {
  const sql = await openPgliteClient();
  const sessions = await SqlRevokedSessions.open(sql);
  await sql.close();
  await assert.rejects(sessions.isRevoked(sid()));
  await assert.rejects(sessions.revoke(sid(), Date.now() + HOUR));

  const pg = openPostgresClient({ ...scratch.connection, port: 1, connectionTimeoutMillis: 2000 });
  try {
    await assert.rejects(SqlRevokedSessions.open(pg));
  } finally {
    await pg.close();
  }
});
