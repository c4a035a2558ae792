// Approver sessions signed out before their expiry, in the database every replica shares. A
// session lives in a sealed cookie any replica accepts (broker/web/approver-session.ts), so a
// sign-out holds only once every replica refuses it: it is written here before the sign-out is
// answered, and every page request looks its session up here. There is no cache: the lookup is one
// primary-key read on a page that queries the database anyway, and so no replica is ever stale.
// A record lasts until its session would have expired anyway; expired ones are swept at open and
// at each sign-out, by whichever replica.
import { createHash } from 'node:crypto';
import { migrate } from './schema-migrations.js';
import type { SqlClient } from './sql-client.js';

export interface RevokedSessions {
  /** Refuses session `sessionId` on every replica until `expiresAt` (ms since the epoch); resolves once committed. */
  revoke(sessionId: string, expiresAt: number): Promise<void>;
  /** Whether `sessionId` was signed out. Rejects when the database does not answer: callers fail closed. */
  isRevoked(sessionId: string): Promise<boolean>;
  /** Deletes the records of sessions past their expiry (with SKEW_MARGIN_MS); how many. */
  sweep(): Promise<number>;
}

/**
 * Records outlive their session's expiry by this much before they are swept: the expiry comes from
 * the replica that signed the session out, the sweep runs on the database's clock, and the replicas
 * check expiry on theirs. Clocks further apart than this would reopen a signed-out session early.
 */
export const SKEW_MARGIN_MS = 15 * 60_000;

/**
 * The key a session is kept under: a hash, so the table (and its backups) holds nothing a session
 * cookie carries, only what recognises one.
 */
export function revokedSessionKey(sessionId: string): string {
  return createHash('sha256').update('sidegate revoked session\0').update(sessionId).digest('base64url');
}

export class SqlRevokedSessions implements RevokedSessions {
  private constructor(private readonly sql: SqlClient) {}

  /** Migrates the schema if needed (every replica may) and sweeps what expired meanwhile. */
  static async open(sql: SqlClient): Promise<SqlRevokedSessions> {
    await migrate(sql);
    const sessions = new SqlRevokedSessions(sql);
    await sessions.sweep();
    return sessions;
  }

  async revoke(sessionId: string, expiresAt: number): Promise<void> {
    if (!Number.isFinite(expiresAt)) throw new Error('a revoked session needs a finite expiry');
    await this.sql.query(
      `INSERT INTO sidegate_revoked_sessions (session_hash, expires_at) VALUES ($1, to_timestamp($2::float8 / 1000))
       ON CONFLICT (session_hash) DO UPDATE SET expires_at = GREATEST(sidegate_revoked_sessions.expires_at, EXCLUDED.expires_at)`,
      [revokedSessionKey(sessionId), expiresAt],
    );
    // The sign-out is committed; a failed sweep only leaves rows for the next one.
    await this.sweep().catch(() => 0);
  }

  async isRevoked(sessionId: string): Promise<boolean> {
    const rows = await this.sql.query('SELECT 1 FROM sidegate_revoked_sessions WHERE session_hash = $1', [revokedSessionKey(sessionId)]);
    return rows.length > 0;
  }

  async sweep(): Promise<number> {
    const rows = await this.sql.query(`DELETE FROM sidegate_revoked_sessions WHERE expires_at < now() - $1::float8 * interval '1 millisecond' RETURNING 1`, [SKEW_MARGIN_MS]);
    return rows.length;
  }
}
