// The store's tables, as a versioned list of migrations applied on start. Every replica runs
// them: one transaction under an advisory lock, so replicas starting together apply each
// migration once and the others see it done. Migrations are append-only: a released one is never
// edited, a change is a new version.
import type { SqlClient } from './sql-client.js';

export interface Migration {
  version: number;
  name: string;
  /** One statement each (the extended query protocol runs one at a time). */
  statements: string[];
}

/** Arbitrary, fixed: the advisory lock key migrations hold ('sgmi' in ASCII). */
const MIGRATION_LOCK = 0x73676d69;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'approval requests and votes',
    statements: [
      `CREATE TABLE sidegate_approval_requests (
        id text PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        status text NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'cancelled')),
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        decided_at timestamptz,
        decided_by text,
        reason text,
        consumed_at timestamptz,
        requester_issuer text NOT NULL,
        requester_subject text NOT NULL,
        requester jsonb NOT NULL,
        target text NOT NULL,
        protocol text NOT NULL,
        command text NOT NULL,
        shown jsonb NOT NULL,
        hash text NOT NULL,
        rule text NOT NULL,
        approvers jsonb NOT NULL,
        groups jsonb NOT NULL,
        threshold integer NOT NULL CHECK (threshold >= 1),
        session_id text NOT NULL
      )`,
      `CREATE INDEX sidegate_approval_requests_pending_expiry ON sidegate_approval_requests (expires_at) WHERE status = 'pending'`,
      `CREATE INDEX sidegate_approval_requests_status ON sidegate_approval_requests (status, seq)`,
      `CREATE TABLE sidegate_approval_votes (
        request_id text NOT NULL REFERENCES sidegate_approval_requests (id) ON DELETE CASCADE,
        approver_issuer text NOT NULL,
        approver_subject text NOT NULL,
        approver_name text NOT NULL,
        approver_groups jsonb NOT NULL,
        verdict text NOT NULL CHECK (verdict IN ('approved', 'denied')),
        reason text,
        cast_at timestamptz NOT NULL,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        PRIMARY KEY (request_id, approver_issuer, approver_subject)
      )`,
    ],
  },
  {
    version: 2,
    name: 'the held statement\'s span context',
    // W3C traceparent of the sidecar's span for the held statement: decision spans link to it.
    // Null for requests made before it was sent (and by sidecars that send none).
    statements: [`ALTER TABLE sidegate_approval_requests ADD COLUMN traceparent text`],
  },
  {
    version: 3,
    name: 'signed-out approver sessions',
    // Sessions live in sealed cookies; a sign-out must reach every replica, so it is kept here
    // (revoked-sessions.ts) until the session would have expired anyway.
    statements: [
      `CREATE TABLE sidegate_revoked_sessions (
        session_hash text PRIMARY KEY,
        expires_at timestamptz NOT NULL
      )`,
      `CREATE INDEX sidegate_revoked_sessions_expiry ON sidegate_revoked_sessions (expires_at)`,
    ],
  },
];

/** Applies the migrations `sql` lacks; returns the versions this call applied (none when up to date). */
export async function migrate(sql: SqlClient, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  return sql.transaction(async (tx) => {
    // Before anything else, even CREATE TABLE IF NOT EXISTS: two of those at once can collide.
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.query(`CREATE TABLE IF NOT EXISTS sidegate_broker_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await tx.query<{ version: number }>('SELECT version FROM sidegate_broker_migrations')).map((r) => Number(r.version)));
    const known = new Set(migrations.map((m) => m.version));
    const unknown = [...done].filter((v) => !known.has(v));
    if (unknown.length) throw new Error(`the broker database has schema version ${Math.max(...unknown)}, newer than this broker knows; upgrade the broker`);
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      for (const statement of m.statements) await tx.query(statement);
      await tx.query('INSERT INTO sidegate_broker_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    return applied;
  });
}
