// What the broker asks of its store of approval requests. Each request is pending until it is
// approved, denied, expired or cancelled — exactly once, whichever replica acts — and whoever waits
// on it is told soon after it leaves pending. Errors carry an HTTP-like status so the broker can
// answer with them directly; their messages are safe to show to a client.
import type { ApprovalRecord, ApprovalRequest, ApprovalStatus, ApprovalVote } from '../api/broker-api-schema.js';
import type { VerifiedApprover } from '../api/parties.js';
import type { SuperApprover, UsernamePrefixes, Verdict } from './decision-rules.js';

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
  /** Bound on requests waiting at once (across replicas); beyond it `create` fails and the caller denies. */
  maxPending?: number;
  /** Bound on all records kept (decided ones are deleted oldest first to stay under it). */
  maxRecords?: number;
  /** Longest hold accepted; longer requests are shortened to it. */
  maxTimeoutMs?: number;
  /** Approvers (names or issuer+subject identities) that may decide any request, listed or not (never their own). */
  superApprovers?: readonly SuperApprover[];
  /** Per issuer, the prefix on its approvers' names: the requester's actor is refused bare too. */
  usernamePrefixes?: UsernamePrefixes;
  /** Where every transition out of pending, and every vote, is recorded before it commits. */
  evidence?: TransitionEvidence;
}

/** A vote cast (`vote`, with the record after it) or a request that left pending (`record` alone). */
export interface Transition {
  record: ApprovalRecord;
  vote?: ApprovalVote;
}

/**
 * Evidence of transitions (broker/evidence/). `record` runs inside the transition's transaction,
 * on the replica that made it, and resolves once the evidence is durable; when it rejects (an
 * ApprovalError 503: the audit trail cannot record now) the transition is rolled back.
 */
export interface TransitionEvidence {
  record(transition: Transition): Promise<void>;
}

export const DEFAULT_MAX_PENDING = 1000;
export const DEFAULT_MAX_RECORDS = 10_000;
export const DEFAULT_MAX_TIMEOUT_MS = 24 * 3600_000;
/** An approval not acted on this long after it was given can no longer be used. */
export const CONSUME_WINDOW_MS = 60_000;

export interface ApprovalStore {
  create(input: ApprovalRequest): Promise<ApprovalRecord>;
  get(id: string): Promise<ApprovalRecord>;
  /** Records in creation order (oldest first), optionally of one status, at most `limit`; `decided`: every final status, most recently decided first. */
  list(filter?: { status?: ApprovalStatus | 'decided'; limit?: number }): Promise<ApprovalRecord[]>;
  /**
   * One approver's vote (decision-rules.ts): 403 when it may not vote, 409 when the request is no
   * longer pending or it already voted. The request is decided when the votes say so.
   */
  decide(id: string, verdict: Verdict, approver: VerifiedApprover, reason?: string): Promise<ApprovalRecord>;
  /**
   * The requester no longer waits. Idempotent: a request already decided is returned as it is
   * (a cancel can race a decision), except an unused approval, which is revoked.
   */
  cancel(id: string, reason?: string): Promise<ApprovalRecord>;
  /**
   * The requester is about to run the approved command: succeeds once, for the command the
   * approval is bound to (`hash`), within CONSUME_WINDOW_MS of it being given. Else 409.
   * `now` (ms since the epoch) replaces the database clock, for tests.
   */
  consume(id: string, hash: string, now?: number): Promise<ApprovalRecord>;
  /**
   * Resolves with the record once it leaves pending, or with the still-pending record after
   * `timeoutMs`, when `signal` aborts or the store closes — never rejects after the lookup.
   */
  wait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<ApprovalRecord>;
  countPending(): Promise<number>;
  /** Expires every pending request past its time; any replica may run it, any number of times. */
  expireOverdue(): Promise<number>;
  /**
   * Calls `listener` with every request this process moved out of pending (decided, expired,
   * cancelled) or whose unused approval it revoked: once per change, by the replica whose
   * transaction made it, so a change is announced exactly once however many replicas see it.
   * Returns the unsubscribe. A listener's error is ignored.
   */
  onSettled(listener: (record: ApprovalRecord) => void): () => void;
  /** Long-polls currently waiting in this process. */
  readonly waiterCount: number;
  /** Stops timers, releases every waiter with the record as it stands, closes the database. */
  close(): Promise<void>;
}
