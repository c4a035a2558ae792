// Approval requests and their lifecycle, as plain in-memory state (no I/O): each request is
// pending until it is approved, denied, expired or cancelled — exactly once. Whoever waits on a
// request is told the moment it leaves pending. Errors carry an HTTP-like status so the broker can
// answer with them directly; their messages are safe to show to a client.
import { newApprovalId } from '../api/approval-id.js';
import type { ApprovalRecord, ApprovalRequest, ApprovalStatus, FinalStatus } from '../api/broker-api-schema.js';

export class ApprovalError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 429 | 503,
    message: string,
  ) {
    super(message);
    this.name = 'ApprovalError';
  }
}

export interface ApprovalStoreOptions {
  /** Bound on requests waiting at once; beyond it `create` fails and the caller denies. */
  maxPending?: number;
  /** Bound on all records kept (decided ones are evicted oldest first to stay under it). */
  maxRecords?: number;
  /** Longest hold accepted; longer requests are shortened to it. */
  maxTimeoutMs?: number;
  /** Names that may decide any request, listed approvers or not. */
  superApprovers?: readonly string[];
}

const DEFAULT_MAX_PENDING = 1000;
const DEFAULT_MAX_RECORDS = 10_000;
const DEFAULT_MAX_TIMEOUT_MS = 24 * 3600_000;
/** An approval not acted on this long after it was given can no longer be used. */
export const CONSUME_WINDOW_MS = 60_000;

type Waiter = (record: ApprovalRecord) => void;

export class ApprovalStore {
  private readonly records = new Map<string, ApprovalRecord>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly expiryTimers = new Map<string, NodeJS.Timeout>();
  private pending = 0;
  private closed = false;
  private readonly maxPending: number;
  private readonly maxRecords: number;
  private readonly maxTimeoutMs: number;
  private readonly superApprovers: ReadonlySet<string>;

  constructor(opts: ApprovalStoreOptions = {}) {
    this.maxPending = opts.maxPending ?? DEFAULT_MAX_PENDING;
    this.maxRecords = Math.max(opts.maxRecords ?? DEFAULT_MAX_RECORDS, this.maxPending);
    this.maxTimeoutMs = opts.maxTimeoutMs ?? DEFAULT_MAX_TIMEOUT_MS;
    this.superApprovers = new Set(opts.superApprovers ?? []);
  }

  get pendingCount(): number {
    return this.pending;
  }

  /** Long-polls currently waiting, across all requests. */
  get waiterCount(): number {
    let n = 0;
    for (const set of this.waiters.values()) n += set.size;
    return n;
  }

  create(input: ApprovalRequest): ApprovalRecord {
    if (this.closed) throw new ApprovalError(503, 'the approval broker is shutting down');
    if (this.pending >= this.maxPending) {
      throw new ApprovalError(429, `too many pending approvals (limit ${this.maxPending}); the command is not held`);
    }
    const timeoutMs = Math.min(Math.max(Math.floor(input.timeoutMs), 1), this.maxTimeoutMs);
    const now = Date.now();
    const record: ApprovalRecord = {
      id: newApprovalId((id) => this.records.has(id)),
      status: 'pending',
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + timeoutMs).toISOString(),
      requester: { subject: input.requester.subject, issuer: input.requester.issuer, identities: [...input.requester.identities] },
      target: input.target,
      protocol: input.protocol,
      command: input.command,
      ...(input.commandEscaped ? { commandEscaped: true as const } : {}),
      ...(input.parameters ? { parameters: input.parameters.map((p) => ({ ...p })) } : {}),
      ...(input.parametersOmitted ? { parametersOmitted: input.parametersOmitted } : {}),
      ...(input.resultFormats ? { resultFormats: [...input.resultFormats] } : {}),
      ...(input.context !== undefined ? { context: input.context } : {}),
      hash: input.hash,
      rule: input.rule,
      approvers: [...input.approvers],
      sessionId: input.sessionId,
    };
    this.evictDecided();
    this.records.set(record.id, record);
    this.pending++;
    // unref: a pending hold must not keep a finished process alive; close() clears these anyway.
    const timer = setTimeout(() => this.finish(record.id, 'expired', undefined, 'no decision before the timeout'), timeoutMs);
    timer.unref();
    this.expiryTimers.set(record.id, timer);
    return snapshot(record);
  }

  get(id: string): ApprovalRecord {
    return snapshot(this.require(id));
  }

  /** Records in creation order (oldest first), optionally of one status, at most `limit`. */
  list(filter: { status?: ApprovalStatus; limit?: number } = {}): ApprovalRecord[] {
    const out: ApprovalRecord[] = [];
    const limit = filter.limit ?? Infinity;
    for (const r of this.records.values()) {
      if (out.length >= limit) break;
      if (!filter.status || r.status === filter.status) out.push(snapshot(r));
    }
    return out;
  }

  decide(id: string, verdict: 'approved' | 'denied', approver: string, reason?: string): ApprovalRecord {
    const r = this.require(id);
    if (r.status !== 'pending') throw new ApprovalError(409, `approval ${id} is already ${r.status}`);
    if (!approver) throw new ApprovalError(400, 'an approver name is required');
    if (!this.mayDecide(r, approver)) {
      throw new ApprovalError(403, `"${approver}" is not an approver for rule "${r.rule}" (approvers: ${r.approvers.join(', ')})`);
    }
    return this.finish(id, verdict, approver, reason);
  }

  /**
   * The requester no longer waits (its client went away, or it gave up). Idempotent: a request
   * already decided is returned as it is, because a cancel can race a decision.
   */
  cancel(id: string, reason = 'the requester stopped waiting'): ApprovalRecord {
    const r = this.require(id);
    if (r.status === 'approved' && !r.consumedAt) {
      // Approved but not yet acted on: the command will not run, so the approval must not either.
      r.status = 'cancelled';
      r.reason = reason;
      return snapshot(r);
    }
    if (r.status !== 'pending') return snapshot(r);
    return this.finish(id, 'cancelled', undefined, reason);
  }

  /**
   * The requester is about to run the approved command: succeeds once, for the command the
   * approval is bound to (`hash`), soon after it was given. Everything else is a 409.
   */
  consume(id: string, hash: string, now = Date.now()): ApprovalRecord {
    const r = this.require(id);
    if (r.status !== 'approved') throw new ApprovalError(409, `approval ${id} is ${r.status}, not approved`);
    if (r.consumedAt) throw new ApprovalError(409, `approval ${id} was already used at ${r.consumedAt}; an approval runs its command once`);
    if (hash !== r.hash) throw new ApprovalError(409, `approval ${id} is bound to another statement or other parameters`);
    if (now - Date.parse(r.decidedAt!) > CONSUME_WINDOW_MS) throw new ApprovalError(409, `approval ${id} was not used within ${CONSUME_WINDOW_MS / 1000}s of being given`);
    r.consumedAt = new Date(now).toISOString();
    return snapshot(r);
  }

  /**
   * Resolves with the record once it leaves pending, or with the still-pending record after
   * `timeoutMs` or when `signal` aborts (the long-poll's client hung up) — never rejects after the
   * lookup, so a waiter is always released and forgotten.
   */
  wait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<ApprovalRecord> {
    const current = this.get(id);
    if (current.status !== 'pending' || timeoutMs <= 0 || signal?.aborted) return Promise.resolve(current);
    return new Promise((resolve) => {
      const set = this.waiters.get(id) ?? new Set<Waiter>();
      this.waiters.set(id, set);
      const release: Waiter = (record) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        set.delete(release);
        if (set.size === 0 && this.waiters.get(id) === set) this.waiters.delete(id);
        resolve(record);
      };
      const onAbort = () => release(this.snapshotOf(id, current));
      // Not unref'd: someone awaits this; it is bounded by timeoutMs and close() releases it.
      const timer = setTimeout(onAbort, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      set.add(release);
    });
  }

  /** Stops expiry timers and releases every waiter with the record as it stands. */
  close(): void {
    this.closed = true;
    for (const t of this.expiryTimers.values()) clearTimeout(t);
    this.expiryTimers.clear();
    for (const [id, set] of [...this.waiters]) {
      const record = this.get(id);
      for (const release of [...set]) release(record);
    }
    this.waiters.clear();
  }

  private mayDecide(r: ApprovalRecord, approver: string): boolean {
    return r.approvers.length === 0 || r.approvers.includes(approver) || this.superApprovers.has(approver);
  }

  private require(id: string): ApprovalRecord {
    const r = this.records.get(id);
    if (!r) throw new ApprovalError(404, `no approval ${id}`);
    return r;
  }

  /** The record if it still exists, else the last copy the caller saw (it may have been evicted). */
  private snapshotOf(id: string, fallback: ApprovalRecord): ApprovalRecord {
    const r = this.records.get(id);
    return r ? snapshot(r) : fallback;
  }

  private finish(id: string, status: FinalStatus, decidedBy: string | undefined, reason: string | undefined): ApprovalRecord {
    const r = this.require(id);
    if (r.status !== 'pending') return snapshot(r);
    r.status = status;
    r.decidedAt = new Date().toISOString();
    if (decidedBy) r.decidedBy = decidedBy;
    if (reason) r.reason = reason;
    this.pending--;
    clearTimeout(this.expiryTimers.get(id));
    this.expiryTimers.delete(id);
    const done = snapshot(r);
    const set = this.waiters.get(id);
    this.waiters.delete(id);
    for (const release of [...(set ?? [])]) release(snapshot(r));
    return done;
  }

  /** Makes room for one more record by dropping the oldest decided ones (pending are never dropped). */
  private evictDecided(): void {
    if (this.records.size < this.maxRecords) return;
    for (const [id, r] of this.records) {
      if (this.records.size < this.maxRecords) break;
      if (r.status !== 'pending') this.records.delete(id);
    }
  }
}

/** A deep copy, so callers can neither see later changes by accident nor change the store. */
function snapshot(r: ApprovalRecord): ApprovalRecord {
  const copy: ApprovalRecord = { ...r, requester: { ...r.requester, identities: [...r.requester.identities] }, approvers: [...r.approvers] };
  if (r.parameters) copy.parameters = r.parameters.map((p) => ({ ...p }));
  if (r.resultFormats) copy.resultFormats = [...r.resultFormats];
  return copy;
}
