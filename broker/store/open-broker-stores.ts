// The broker service's stores over one database: its approval requests and its signed-out
// approver sessions share the connection pool (PostgreSQL) or the one embedded PGlite (whose data
// directory a second opener could not share), and close together.
import type { ApprovalStore } from './approval-store.js';
import type { ApprovalDatabase } from './open-approval-store.js';
import { openPgliteClient } from './pglite-sql-client.js';
import { openPostgresClient } from './postgres-sql-client.js';
import { SqlRevokedSessions, type RevokedSessions } from './revoked-sessions.js';
import { SqlApprovalStore, type SqlApprovalStoreOptions } from './sql-approval-store.js';

export interface BrokerStores {
  approvals: ApprovalStore;
  revokedSessions: RevokedSessions;
  /** Closes the approval store (answering its waiters), then the database. */
  close(): Promise<void>;
}

export async function openBrokerStores(database: ApprovalDatabase = { kind: 'memory' }, opts: SqlApprovalStoreOptions = {}): Promise<BrokerStores> {
  const sql =
    database.kind === 'postgres'
      ? openPostgresClient(database.connection)
      : await openPgliteClient(database.kind === 'pglite' ? { dataDir: database.dataDir } : {});
  let approvals: ApprovalStore | undefined;
  try {
    approvals = await SqlApprovalStore.open(sql, { ...opts, ownsClient: false });
    const revokedSessions = await SqlRevokedSessions.open(sql);
    const opened = approvals;
    return {
      approvals: opened,
      revokedSessions,
      close: async () => {
        try {
          await opened.close();
        } finally {
          await sql.close();
        }
      },
    };
  } catch (err) {
    await approvals?.close().catch(() => undefined);
    await sql.close().catch(() => undefined);
    throw err;
  }
}
