// The approval store over SQL, for embedded PGlite and for PostgreSQL shared by replicas. Every
// transition is one transaction that locks the request's row (SELECT … FOR UPDATE) or is a single
// conditional UPDATE, so two replicas can never both decide, consume or expire a request. After a
// transition the store releases its own waiters at once and NOTIFYs the other replicas; a periodic
// re-read covers a notification lost while a LISTEN connection was down. Expiry is an idempotent
// UPDATE any replica may run: on a timer per local request, and periodically for all of them.
import { newApprovalId } from '../api/approval-id.js';
import type { ApprovalRecord, ApprovalRequest, ApprovalStatus } from '../api/broker-api-schema.js';
import type { VerifiedApprover } from '../api/parties.js';
import {
  ApprovalError,
  CONSUME_WINDOW_MS,
  DEFAULT_MAX_PENDING,
  DEFAULT_MAX_RECORDS,
  DEFAULT_MAX_TIMEOUT_MS,
  type ApprovalStore,
  type ApprovalStoreOptions,
} from './approval-store.js';
import { NOW_MS, RECORD_COLUMNS, recordOf, shownOf, type RecordRow } from './approval-record-row.js';
import { ApprovalWaiters } from './approval-waiters.js';
import { judgeVote, superApprovers, type SuperApprovers, type Verdict } from './decision-rules.js';
import { migrate } from './schema-migrations.js';
import type { SqlClient, SqlQueryable } from './sql-client.js';

export interface SqlApprovalStoreOptions extends ApprovalStoreOptions {
  /** How often overdue requests are expired (any replica may). Default 1 s. */
  sweepIntervalMs?: number;
  /** How often waiting requests are re-read in case a notification was lost. Default 2 s. */
  recheckIntervalMs?: number;
  /** Whether `close()` closes the database client too (default: yes, the store owns it). */
  ownsClient?: boolean;
}

/** The NOTIFY channel; the payload is the id of a request that left pending. */
export const CHANGE_CHANNEL = 'sidegate_approval_changed';
/** Advisory lock key serialising creates, so the pending bound holds across replicas ('sgcr'). */
const CREATE_LOCK = 0x73676372;
const EXPIRED_REASON = 'no decision before the timeout';

const SELECT_RECORD = `SELECT ${RECORD_COLUMNS} FROM sidegate_approval_requests r WHERE r.id = $1`;
const NOTIFY = `SELECT pg_notify('${CHANGE_CHANNEL}', $1)`;

type Failure = { error: ApprovalError };

export class SqlApprovalStore implements ApprovalStore {
  private readonly waiters = new ApprovalWaiters();
  private readonly settledListeners = new Set<(record: ApprovalRecord) => void>();
  private readonly expiryTimers = new Map<string, NodeJS.Timeout>();
  private readonly maxPending: number;
  private readonly maxRecords: number;
  private readonly maxTimeoutMs: number;
  private readonly superApprovers: SuperApprovers;
  private readonly timers: NodeJS.Timeout[] = [];
  private sweeping: Promise<number> | undefined;
  private sweepAgain = false;
  private closed = false;

  private constructor(
    private readonly sql: SqlClient,
    private readonly opts: SqlApprovalStoreOptions,
  ) {
    this.maxPending = opts.maxPending ?? DEFAULT_MAX_PENDING;
    this.maxRecords = Math.max(opts.maxRecords ?? DEFAULT_MAX_RECORDS, this.maxPending);
    this.maxTimeoutMs = opts.maxTimeoutMs ?? DEFAULT_MAX_TIMEOUT_MS;
    this.superApprovers = superApprovers(opts.superApprovers);
  }

  /** Migrates the schema, subscribes to other replicas' changes and starts the sweeper. */
  static async open(sql: SqlClient, opts: SqlApprovalStoreOptions = {}): Promise<SqlApprovalStore> {
    const store = new SqlApprovalStore(sql, opts);
    try {
      await migrate(sql);
      await sql.listen?.(CHANGE_CHANNEL, (id) => void store.recheck([id]));
    } catch (err) {
      if (opts.ownsClient !== false) await sql.close().catch(() => undefined);
      throw err;
    }
    if (sql.listen) {
      // Shared by replicas: any of them may have gone away with requests pending, and a
      // notification can be missed while a LISTEN connection reconnects.
      store.every(opts.sweepIntervalMs ?? 5_000, () => store.expireOverdue());
      store.every(opts.recheckIntervalMs ?? 2_000, () => store.recheck(store.waiters.ids()));
    } else {
      // One process owns the database: a timer per pending request is the whole sweep (a
      // periodic query would cost an embedded database CPU all the time for nothing).
      await store.expireOverdue().catch(() => undefined);
      for (const record of await store.list({ status: 'pending' })) store.expireAt(record);
    }
    return store;
  }

  onSettled(listener: (record: ApprovalRecord) => void): () => void {
    this.settledListeners.add(listener);
    return () => this.settledListeners.delete(listener);
  }

  get waiterCount(): number {
    return this.waiters.count;
  }

  async create(input: ApprovalRequest): Promise<ApprovalRecord> {
    if (this.closed) throw new ApprovalError(503, 'the approval broker is shutting down');
    const timeoutMs = Math.min(Math.max(Math.floor(input.timeoutMs), 1), this.maxTimeoutMs);
    const result = await this.sql.transaction(async (tx): Promise<ApprovalRecord | Failure> => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [CREATE_LOCK]);
      const [{ n } = { n: 0 }] = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM sidegate_approval_requests WHERE status = 'pending'`);
      if (n >= this.maxPending) {
        return { error: new ApprovalError(429, `too many pending approvals (limit ${this.maxPending}); the command is not held`) };
      }
      await this.evictDecided(tx);
      for (;;) {
        const rows = await tx.query<{ id: string }>(
          `INSERT INTO sidegate_approval_requests (id, status, created_at, expires_at, requester_issuer, requester_subject, requester,
             target, protocol, command, shown, hash, rule, approvers, groups, threshold, session_id, traceparent)
           VALUES ($1, 'pending', ${NOW_MS}, ${NOW_MS} + $2::float8 * interval '1 millisecond', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
           ON CONFLICT (id) DO NOTHING RETURNING id`,
          [
            newApprovalId(() => false),
            timeoutMs,
            input.requester.issuer,
            input.requester.subject,
            JSON.stringify(input.requester),
            input.target,
            input.protocol,
            input.command,
            JSON.stringify(shownOf(input)),
            input.hash,
            input.rule,
            JSON.stringify(input.approvers ?? []),
            JSON.stringify(input.groups ?? []),
            input.threshold ?? 1,
            input.sessionId,
            input.traceparent ?? null,
          ],
        );
        // An id already taken (one in 8.9e8) is drawn again.
        if (rows[0]) return readRecord(tx, rows[0].id);
      }
    });
    if ('error' in result) throw result.error;
    this.expireAt(result);
    return result;
  }

  async get(id: string): Promise<ApprovalRecord> {
    return readRecord(this.sql, id);
  }

  async list(filter: { status?: ApprovalStatus | 'decided'; limit?: number } = {}): Promise<ApprovalRecord[]> {
    const rows =
      filter.status === 'decided'
        ? await this.sql.query<RecordRow>(
            `SELECT ${RECORD_COLUMNS} FROM sidegate_approval_requests r WHERE r.status <> 'pending' ORDER BY r.decided_at DESC, r.seq DESC LIMIT $1`,
            [filter.limit ?? null],
          )
        : await this.sql.query<RecordRow>(
            `SELECT ${RECORD_COLUMNS} FROM sidegate_approval_requests r WHERE ($1::text IS NULL OR r.status = $1) ORDER BY r.seq LIMIT $2`,
            [filter.status ?? null, filter.limit ?? null],
          );
    return rows.map(recordOf);
  }

  async countPending(): Promise<number> {
    const [row] = await this.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM sidegate_approval_requests WHERE status = 'pending'`);
    return Number(row?.n ?? 0);
  }

  async decide(id: string, verdict: Verdict, approver: VerifiedApprover, reason?: string): Promise<ApprovalRecord> {
    if (!approver.name.trim() || !approver.issuer || !approver.subject) throw new ApprovalError(400, 'an approver name is required');
    let decided = false;
    const result = await this.sql.transaction(async (tx): Promise<ApprovalRecord | (Failure & { changed?: ApprovalRecord })> => {
      decided = false;
      const row = await lockPending(tx, id);
      if ('error' in row) {
        if (row.changed) await this.opts.evidence?.record({ record: row.changed });
        return row;
      }
      const r = recordOf(row);
      const judged = judgeVote({ rule: r.rule, requirement: r, requester: r.requester, votes: r.votes }, approver, verdict, this.superApprovers, this.opts.usernamePrefixes);
      if (!judged.accepted) return { error: new ApprovalError(judged.status, judged.message) };
      await tx.query(
        `INSERT INTO sidegate_approval_votes (request_id, approver_issuer, approver_subject, approver_name, approver_groups, verdict, reason, cast_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, ${NOW_MS})`,
        [id, approver.issuer, approver.subject, approver.name, JSON.stringify(approver.groups), verdict, reason ?? null],
      );
      if (judged.final) {
        const deciders = judged.final === 'denied' ? [approver.name] : [...r.votes.filter((v) => v.verdict === 'approved').map((v) => v.approver.name), approver.name];
        await tx.query(`UPDATE sidegate_approval_requests SET status = $2, decided_at = ${NOW_MS}, decided_by = $3, reason = $4 WHERE id = $1`, [
          id,
          judged.final,
          deciders.join(', '),
          reason ?? null,
        ]);
        await tx.query(NOTIFY, [id]);
        decided = true;
      }
      const after = await readRecord(tx, id);
      const vote = after.votes.find((v) => v.approver.issuer === approver.issuer && v.approver.subject === approver.subject);
      await this.opts.evidence?.record({ record: after, ...(vote ? { vote } : {}) });
      return after;
    });
    return this.settled(result, decided);
  }

  async cancel(id: string, reason = 'the requester stopped waiting'): Promise<ApprovalRecord> {
    let cancelled = false;
    const result = await this.sql.transaction(async (tx) => {
      cancelled = false;
      const [row] = await tx.query<{ status: ApprovalStatus; consumed: boolean }>(
        'SELECT status, consumed_at IS NOT NULL AS consumed FROM sidegate_approval_requests WHERE id = $1 FOR UPDATE',
        [id],
      );
      if (!row) return { error: notFound(id) };
      // An approval given but not yet acted on is revoked: the command will not run, so it must not either.
      if (row.status === 'pending' || (row.status === 'approved' && !row.consumed)) {
        const decidedAt = row.status === 'pending' ? `, decided_at = ${NOW_MS}` : '';
        await tx.query(`UPDATE sidegate_approval_requests SET status = 'cancelled', reason = $2${decidedAt} WHERE id = $1`, [id, reason]);
        await tx.query(NOTIFY, [id]);
        const after = await readRecord(tx, id);
        await this.opts.evidence?.record({ record: after });
        cancelled = true;
        return after;
      }
      return readRecord(tx, id);
    });
    return this.settled(result, cancelled);
  }

  async consume(id: string, hash: string, now?: number): Promise<ApprovalRecord> {
    const at = now === undefined ? null : new Date(now).toISOString();
    const [used] = await this.sql.query<{ id: string }>(
      `UPDATE sidegate_approval_requests SET consumed_at = COALESCE($3::timestamptz, ${NOW_MS})
       WHERE id = $1 AND status = 'approved' AND consumed_at IS NULL AND hash = $2
         AND COALESCE($3::timestamptz, ${NOW_MS}) - decided_at <= $4::float8 * interval '1 millisecond'
       RETURNING id`,
      [id, hash, at, CONSUME_WINDOW_MS],
    );
    const r = await this.get(id);
    if (used) return r;
    // Refused: say why, in the order a requester can act on.
    if (r.status !== 'approved') throw new ApprovalError(409, `approval ${id} is ${r.status}, not approved`);
    if (r.consumedAt) throw new ApprovalError(409, `approval ${id} was already used at ${r.consumedAt}; an approval runs its command once`);
    if (hash !== r.hash) throw new ApprovalError(409, `approval ${id} is bound to another statement or other parameters`);
    throw new ApprovalError(409, `approval ${id} was not used within ${CONSUME_WINDOW_MS / 1000}s of being given`);
  }

  async wait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<ApprovalRecord> {
    const current = await this.get(id);
    if (current.status !== 'pending' || timeoutMs <= 0 || signal?.aborted || this.closed) return current;
    // A request created on another replica still expires on time for whoever waits here.
    this.expireAt(current);
    const ended = await this.waiters.add(id, timeoutMs, signal);
    if (ended.record) return ended.record;
    if (ended.why === 'abort' || this.closed) return current;
    return this.get(id).catch(() => current);
  }

  async expireOverdue(): Promise<number> {
    // Coalesced: timers firing together run one sweep, plus one more if asked during it.
    if (this.sweeping) {
      this.sweepAgain = true;
      return this.sweeping;
    }
    this.sweeping = this.sweepOnce().finally(() => {
      this.sweeping = undefined;
      if (this.sweepAgain && !this.closed) {
        this.sweepAgain = false;
        void this.expireOverdue().catch(() => undefined);
      }
    });
    return this.sweeping;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of [...this.timers, ...this.expiryTimers.values()]) clearTimeout(t);
    this.expiryTimers.clear();
    await this.sweeping?.catch(() => undefined);
    // Every open long-poll is answered with the record as it stands now.
    const ids = this.waiters.ids();
    const rows = ids.length
      ? await this.sql.query<RecordRow>(`SELECT ${RECORD_COLUMNS} FROM sidegate_approval_requests r WHERE r.id = ANY($1::text[])`, [ids]).catch(() => [])
      : [];
    for (const row of rows) this.waiters.settle(recordOf(row), true);
    for (const id of this.waiters.ids()) this.waiters.drop(id);
    if (this.opts.ownsClient !== false) await this.sql.close();
  }

  private async sweepOnce(): Promise<number> {
    // Whichever replica's UPDATE expires a request records it, before the expiry commits.
    const expired = await this.sql.transaction(async (tx) => {
      const rows = await tx.query<{ id: string }>(
        `WITH expired AS (
           UPDATE sidegate_approval_requests SET status = 'expired', decided_at = ${NOW_MS}, reason = $1
           WHERE status = 'pending' AND expires_at <= statement_timestamp() RETURNING id)
         SELECT id, pg_notify('${CHANGE_CHANNEL}', id) FROM expired`,
        [EXPIRED_REASON],
      );
      if (this.opts.evidence) for (const { id } of rows) await this.opts.evidence.record({ record: await readRecord(tx, id) });
      return rows;
    });
    for (const { id } of expired) this.forgetExpiry(id);
    await this.recheck(expired.map((r) => r.id));
    // Only this replica's UPDATE matched these rows: it alone announces them.
    if (expired.length > 0 && this.settledListeners.size > 0) {
      const rows = await this.sql
        .query<RecordRow>(`SELECT ${RECORD_COLUMNS} FROM sidegate_approval_requests r WHERE r.id = ANY($1::text[])`, [expired.map((r) => r.id)])
        .catch(() => []);
      for (const row of rows) this.announce(recordOf(row));
    }
    return expired.length;
  }

  /** Re-reads the waited-on requests among `ids` and releases the waiters of those decided. */
  private async recheck(ids: readonly string[]): Promise<void> {
    const wanted = ids.filter((id) => this.waiters.has(id));
    if (wanted.length === 0 || this.closed) return;
    const rows = await this.sql
      .query<RecordRow>(`SELECT ${RECORD_COLUMNS} FROM sidegate_approval_requests r WHERE r.id = ANY($1::text[]) AND r.status <> 'pending'`, [wanted])
      .catch(() => []);
    for (const row of rows) {
      this.forgetExpiry(row.id);
      this.waiters.settle(recordOf(row));
    }
  }

  /** A transition's result: errors thrown, records released to this process's waiters, changes announced. */
  private settled(result: ApprovalRecord | (Failure & { changed?: ApprovalRecord }), changed = false): ApprovalRecord {
    if ('error' in result) {
      if (result.changed) {
        this.waiters.settle(result.changed);
        this.forgetExpiry(result.changed.id);
        this.announce(result.changed);
      }
      throw result.error;
    }
    this.waiters.settle(result);
    if (changed) this.announce(result);
    if (result.status !== 'pending') this.forgetExpiry(result.id);
    return result;
  }

  private announce(record: ApprovalRecord): void {
    for (const listener of this.settledListeners) {
      try {
        listener(record);
      } catch {
        // A listener (a notifier) must not undo or fail a transition that is already committed.
      }
    }
  }

  /** A request that left pending needs no sweep at its expiry. */
  private forgetExpiry(id: string): void {
    clearTimeout(this.expiryTimers.get(id));
    this.expiryTimers.delete(id);
  }

  /** Sweeps when `record` is due (unref: a pending hold must not keep a finished process alive). */
  private expireAt(record: ApprovalRecord): void {
    if (this.closed || this.expiryTimers.has(record.id)) return;
    const timer = setTimeout(
      () => {
        this.expiryTimers.delete(record.id);
        // An expiry that could not be recorded (the audit trail is down) is tried again shortly.
        void this.expireOverdue().catch(() => this.expireAt({ ...record, expiresAt: new Date(Date.now() + 1000).toISOString() }));
      },
      Math.max(Date.parse(record.expiresAt) - Date.now(), 0) + 5,
    );
    timer.unref();
    this.expiryTimers.set(record.id, timer);
  }

  private every(ms: number, task: () => Promise<unknown>): void {
    const timer = setInterval(() => void task().catch(() => undefined), ms);
    timer.unref();
    this.timers.push(timer);
  }

  /** Drops the oldest decided records so one more fits under maxRecords (pending are never dropped). */
  private async evictDecided(tx: SqlQueryable): Promise<void> {
    await tx.query(
      `DELETE FROM sidegate_approval_requests WHERE id IN (
         SELECT id FROM sidegate_approval_requests WHERE status <> 'pending' ORDER BY seq
         LIMIT GREATEST((SELECT count(*) FROM sidegate_approval_requests) - $1 + 1, 0))`,
      [this.maxRecords],
    );
  }
}

async function readRecord(q: SqlQueryable, id: string): Promise<ApprovalRecord> {
  const [row] = await q.query<RecordRow>(SELECT_RECORD, [id]);
  if (!row) throw notFound(id);
  return recordOf(row);
}

/**
 * The request's row, locked for this transaction, if it is still pending. One past its expiry is
 * expired here and then (the sweeper may not have run yet): a late vote never counts.
 */
async function lockPending(tx: SqlQueryable, id: string): Promise<RecordRow | (Failure & { changed?: ApprovalRecord })> {
  const [lock] = await tx.query<{ status: ApprovalStatus; overdue: boolean }>(
    'SELECT status, expires_at <= statement_timestamp() AS overdue FROM sidegate_approval_requests WHERE id = $1 FOR UPDATE',
    [id],
  );
  if (!lock) return { error: notFound(id) };
  if (lock.status === 'pending' && lock.overdue) {
    await tx.query(`UPDATE sidegate_approval_requests SET status = 'expired', decided_at = ${NOW_MS}, reason = $2 WHERE id = $1`, [id, EXPIRED_REASON]);
    await tx.query(NOTIFY, [id]);
    return { error: new ApprovalError(409, `approval ${id} is already expired`), changed: await readRecord(tx, id) };
  }
  if (lock.status !== 'pending') return { error: new ApprovalError(409, `approval ${id} is already ${lock.status}`) };
  const [row] = await tx.query<RecordRow>(SELECT_RECORD, [id]);
  return row!;
}

function notFound(id: string): ApprovalError {
  return new ApprovalError(404, `no approval ${id}`);
}
