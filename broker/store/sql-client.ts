// The little the approval store needs from a SQL database, so one store runs on embedded PGlite
// (local mode, a single replica) and on PostgreSQL (several replicas): parameterised queries,
// transactions, and optionally notifications between processes sharing the database.
export type SqlRow = Record<string, unknown>;

export interface SqlQueryable {
  query<T = SqlRow>(text: string, params?: readonly unknown[]): Promise<T[]>;
}

export interface SqlClient extends SqlQueryable {
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  /**
   * Calls `onPayload` for every NOTIFY on `channel` from any session (other replicas included).
   * Absent when only this process uses the database: there is nobody else to hear from.
   */
  listen?(channel: string, onPayload: (payload: string) => void): Promise<void>;
  close(): Promise<void>;
}
