// Approval requests and their lifecycle (pure state, no I/O): pending → approved | denied |
// expired | cancelled, each decided once. Waiters are told when a request leaves pending.
import { randomBytes } from 'node:crypto';
import type { HoldRequest } from '../pipeline/command-gate.js';

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled';

/** What a sidecar asks the broker to hold: the gate's request plus how long to wait. */
export interface ApprovalRequestInput extends HoldRequest {
  timeoutMs: number;
}

export interface ApprovalRecord extends Omit<ApprovalRequestInput, 'timeoutMs'> {
  id: string;
  status: ApprovalStatus;
  createdAt: string;
  expiresAt: string;
  decidedBy?: string;
  decidedAt?: string;
  reason?: string;
}

export class ApprovalError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 429,
    message: string,
  ) {
    super(message);
  }
}

const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

export class ApprovalStore {
  private readonly records = new Map<string, ApprovalRecord>();
  private readonly waiters = new Map<string, Set<(r: ApprovalRecord) => void>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly opts: { maxPending?: number; superApprovers?: string[]; now?: () => number } = {}) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  create(input: ApprovalRequestInput): ApprovalRecord {
    if (this.list('pending').length >= (this.opts.maxPending ?? 1000)) throw new ApprovalError(429, 'too many pending approvals');
    const timeout = Math.min(Math.max(input.timeoutMs, 1000), 24 * 3600_000);
    const id = this.newId();
    const { timeoutMs: _t, ...rest } = input;
    const record: ApprovalRecord = {
      ...rest,
      id,
      status: 'pending',
      createdAt: new Date(this.now()).toISOString(),
      expiresAt: new Date(this.now() + timeout).toISOString(),
    };
    this.records.set(id, record);
    const timer = setTimeout(() => this.finish(id, 'expired', 'sidegate', 'no decision before the timeout'), timeout);
    timer.unref();
    this.timers.set(id, timer);
    return { ...record };
  }

  get(id: string): ApprovalRecord {
    const r = this.records.get(id);
    if (!r) throw new ApprovalError(404, `no approval ${id}`);
    return { ...r };
  }

  list(status?: ApprovalStatus): ApprovalRecord[] {
    return [...this.records.values()].filter((r) => !status || r.status === status).map((r) => ({ ...r }));
  }

  decide(id: string, verdict: 'approved' | 'denied', approver: string, reason?: string): ApprovalRecord {
    const r = this.records.get(id);
    if (!r) throw new ApprovalError(404, `no approval ${id}`);
    if (r.status !== 'pending') throw new ApprovalError(409, `approval ${id} is already ${r.status}`);
    if (!approver) throw new ApprovalError(400, 'an approver name is required');
    const allowed = r.approvers.length === 0 || r.approvers.includes(approver) || (this.opts.superApprovers ?? []).includes(approver);
    if (!allowed) throw new ApprovalError(403, `${approver} is not an approver for rule "${r.rule}" (approvers: ${r.approvers.join(', ')})`);
    return this.finish(id, verdict, approver, reason)!;
  }

  cancel(id: string): ApprovalRecord {
    const r = this.records.get(id);
    if (!r) throw new ApprovalError(404, `no approval ${id}`);
    if (r.status !== 'pending') return { ...r };
    return this.finish(id, 'cancelled', 'requester', 'the client went away')!;
  }

  /** Resolves when the request is no longer pending, or with the current record at the deadline. */
  wait(id: string, timeoutMs: number): Promise<ApprovalRecord> {
    const r = this.get(id);
    if (r.status !== 'pending') return Promise.resolve(r);
    return new Promise((resolve) => {
      const set = this.waiters.get(id) ?? new Set();
      this.waiters.set(id, set);
      const done = (rec: ApprovalRecord) => {
        clearTimeout(timer);
        set.delete(done);
        resolve(rec);
      };
      const timer = setTimeout(() => done(this.get(id)), timeoutMs);
      set.add(done);
    });
  }

  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private finish(id: string, status: Exclude<ApprovalStatus, 'pending'>, by: string, reason?: string): ApprovalRecord | undefined {
    const r = this.records.get(id);
    if (!r || r.status !== 'pending') return r ? { ...r } : undefined;
    r.status = status;
    r.decidedBy = by;
    r.decidedAt = new Date(this.now()).toISOString();
    if (reason) r.reason = reason;
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
    for (const w of [...(this.waiters.get(id) ?? [])]) w({ ...r });
    this.waiters.delete(id);
    // Keep decided records for listing, bounded.
    if (this.records.size > 10_000) {
      for (const [k, v] of this.records) {
        if (v.status !== 'pending') {
          this.records.delete(k);
          break;
        }
      }
    }
    return { ...r };
  }

  private newId(): string {
    for (;;) {
      const bytes = randomBytes(6);
      let id = 'apr-';
      for (const b of bytes) id += ALPHABET[b % ALPHABET.length];
      if (!this.records.has(id)) return id;
    }
  }
}
