// Which database the broker keeps its requests in: embedded PGlite in memory (local mode: the
// requests live as long as the process), PGlite in a data directory (one replica that survives
// restarts), or PostgreSQL (several replicas sharing one database).
import type pg from 'pg';
import type { ApprovalStore } from './approval-store.js';
import { openPgliteClient } from './pglite-sql-client.js';
import { openPostgresClient } from './postgres-sql-client.js';
import { SqlApprovalStore, type SqlApprovalStoreOptions } from './sql-approval-store.js';

export type ApprovalDatabase = { kind: 'memory' } | { kind: 'pglite'; dataDir: string } | { kind: 'postgres'; connection: pg.PoolConfig };

export async function openApprovalStore(database: ApprovalDatabase = { kind: 'memory' }, opts: SqlApprovalStoreOptions = {}): Promise<ApprovalStore> {
  const sql =
    database.kind === 'postgres'
      ? openPostgresClient(database.connection)
      : await openPgliteClient(database.kind === 'pglite' ? { dataDir: database.dataDir } : {});
  return SqlApprovalStore.open(sql, opts);
}
