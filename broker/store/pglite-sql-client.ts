// The embedded database: PGlite (PostgreSQL compiled to WebAssembly) in this process, in memory or
// in a data directory. One process owns it, so there is no LISTEN: the store wakes its own waiters.
import { PGlite } from '@electric-sql/pglite';
import type { SqlClient, SqlQueryable, SqlRow } from './sql-client.js';

/**
 * A freshly initialised in-memory cluster, kept compressed (~5 MB) after the first one: initdb
 * takes seconds, loading its dump about one, and tests and local mode open many stores.
 */
let blankCluster: Promise<Blob> | undefined;

/**
 * The store's tables are small: PostgreSQL's default 128 MB of shared buffers would roughly double
 * the process's memory for nothing (measured: 300 → 163 MB RSS opening a data directory).
 */
const SMALL = { postgresqlconf: ['shared_buffers = 16MB', 'work_mem = 1MB'] };

/** `dataDir` keeps the data across restarts; without it the database lives and dies in memory. */
export async function openPgliteClient(opts: { dataDir?: string } = {}): Promise<SqlClient> {
  return pgliteClient(opts.dataDir !== undefined ? await PGlite.create({ ...SMALL, dataDir: opts.dataDir }) : await blankInMemory());
}

async function blankInMemory(): Promise<PGlite> {
  if (blankCluster) {
    const dump = await blankCluster.catch(() => undefined);
    if (dump) return PGlite.create({ ...SMALL, loadDataDir: dump });
  }
  const db = await PGlite.create(SMALL);
  blankCluster ??= db.dumpDataDir('gzip');
  await blankCluster.catch(() => (blankCluster = undefined));
  return db;
}

function pgliteClient(db: PGlite): SqlClient {
  const queryable = (q: Pick<PGlite, 'query'>): SqlQueryable => ({
    query: async <T = SqlRow>(text: string, params: readonly unknown[] = []) => (await q.query<T>(text, [...params])).rows,
  });
  return {
    ...queryable(db),
    transaction: (fn) => db.transaction((tx) => fn(queryable(tx))),
    close: () => db.close(),
  };
}
