// The broker's two stores opened on one embedded database: both work, and closing closes the
// database under both (a data directory is then free for the next process).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBrokerStores } from './open-broker-stores.js';

test('approvals and sign-outs share one data directory, and it is released on close', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-stores-'));
  try {
    const first = await openBrokerStores({ kind: 'pglite', dataDir: dir });
    await first.revokedSessions.revoke('s'.repeat(32), Date.now() + 60_000);
    assert.equal(await first.approvals.countPending(), 0);
    await first.close();
    await assert.rejects(first.revokedSessions.isRevoked('s'.repeat(32)), 'closed with the approval store');
    const second = await openBrokerStores({ kind: 'pglite', dataDir: dir });
    try {
      assert.equal(await second.revokedSessions.isRevoked('s'.repeat(32)), true);
    } finally {
      await second.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
