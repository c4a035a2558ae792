// The protocol-agnostic middle of the pipeline: decide → hold.
//
// Protocol adapters inspect their own wire messages into `CommandFacts`, then ask the gate whether
// the command may run. Deciding is synchronous (policy evaluation is a pure function and sits on
// the hot path of every statement); holding is asynchronous and only happens for `approve`.
// The gate knows nothing about wire formats, and nothing about how an adapter reports a denial.
import type { CommandFacts, Decision, Principal } from '../../core/vocabulary.js';
import type { HeldCommand } from './held-command.js';

/** The part of the policy the gate needs (keeps the gate testable and the dependency narrow). */
export interface PolicyDecider {
  decideAll(principal: Principal, facts: readonly CommandFacts[]): { decision: Decision; per: Decision[] };
}

/** What the broker is asked: the held command exactly as it will run (held-command.ts), and who asks. */
export interface HoldRequest extends HeldCommand {
  /** `claims`: the verified token's, from which the broker request takes the CI context. */
  requester: { subject: string; issuer: string; identities: string[]; claims: Readonly<Record<string, unknown>> };
  target: string;
  protocol: string;
  rule: string;
  /** The rule's requirement: approvers by name, by group, and how many must approve. */
  approvers: string[];
  groups: string[];
  threshold: number;
  sessionId: string;
  /** The held statement's audit span, for the broker's decision spans to link to. */
  heldSpan?: { traceId: string; spanId: string };
}

export interface HoldResult {
  id: string;
  /** `mismatched`: an approval came back that is not bound to this command's hash. */
  status: 'approved' | 'denied' | 'expired' | 'cancelled' | 'unavailable' | 'mismatched';
  /** The binding hash the approval names (approved only). */
  hash?: string;
  approver?: string;
  reason?: string;
}

/** Where held commands wait for a human. Implemented by the approvals client. */
export interface ApprovalHolder {
  hold(
    req: HoldRequest,
    opts: { timeoutMs: number; signal?: AbortSignal; onCreated?: (id: string, page?: string) => void },
  ): Promise<HoldResult>;
}

const AUDIT_UNAVAILABLE = { rule: 'audit-unavailable', reason: 'the audit trail cannot record commands right now' };

export type GateOutcome =
  | { verdict: 'allow'; decision: Decision; approval?: HoldResult }
  | { verdict: 'deny'; decision: Decision; approval?: HoldResult; message: string };

export interface GateSession {
  id: string;
  principal: Principal;
  target: string;
  protocol: string;
}

/** How often a held client hears that its command still waits. */
export const DEFAULT_HOLD_HEARTBEAT_MS = 30_000;

export class CommandGate {
  constructor(
    private readonly policy: PolicyDecider,
    private readonly approvals: ApprovalHolder | null,
    /** Audit records are evidence: when they cannot be kept, nothing runs (fail closed). */
    private readonly auditHealthy: () => boolean = () => true,
    private readonly heartbeatMs = DEFAULT_HOLD_HEARTBEAT_MS,
  ) {}

  /** Synchronous policy decision for one command (all statements of one client message). */
  decide(principal: Principal, facts: readonly CommandFacts[]): Decision {
    if (!this.auditHealthy()) return { action: 'deny', ...AUDIT_UNAVAILABLE };
    if (facts.length === 0) return { action: 'allow', rule: 'empty', reason: 'empty command' };
    return this.policy.decideAll(principal, facts).decision;
  }

  /**
   * A decision `decide` gave earlier for the same command and principal (a prepared statement's,
   * at each execute), as it stands now: the policy's answer cannot have changed, the audit trail's
   * health can.
   */
  recheck(earlier: Decision): Decision {
    if (!this.auditHealthy()) return { action: 'deny', ...AUDIT_UNAVAILABLE };
    return earlier;
  }

  /**
   * Resolves an `approve` decision by holding the command at the broker. A broker that cannot be
   * reached, a denial, an expiry or a cancelled hold all deny: nothing runs unless a human said
   * yes to exactly these bytes (an approval naming another hash is a denial).
   */
  async hold(
    session: GateSession,
    decision: Decision,
    held: HeldCommand,
    opts: {
      signal?: AbortSignal;
      onCreated?: (id: string, page?: string) => void;
      onWaiting?: (id: string, waitedMs: number) => void;
      heldSpan?: { traceId: string; spanId: string };
    } = {},
  ): Promise<GateOutcome> {
    if (decision.action !== 'approve') throw new Error('hold() is only for approve decisions');
    if (!this.approvals) {
      return { verdict: 'deny', decision, message: denialMessage(decision, { id: '-', status: 'unavailable' }) };
    }
    // A client waiting in silence looks hung: once the request exists, it hears that it still waits.
    let heartbeat: NodeJS.Timeout | undefined;
    const onCreated = (id: string, page?: string) => {
      const since = Date.now();
      if (opts.onWaiting) {
        const onWaiting = opts.onWaiting;
        heartbeat = setInterval(() => onWaiting(id, Date.now() - since), this.heartbeatMs);
        heartbeat.unref();
      }
      opts.onCreated?.(id, page);
    };
    const approval = await this.approvals
      .hold(
        {
          requester: {
            subject: session.principal.subject,
            issuer: session.principal.issuer,
            identities: [...session.principal.identities],
            claims: session.principal.claims,
          },
          target: session.target,
          protocol: session.protocol,
          ...held,
          rule: decision.rule,
          approvers: [...(decision.approvers ?? [])],
          groups: [...(decision.approverGroups ?? [])],
          threshold: decision.approvalThreshold ?? 1,
          sessionId: session.id,
          ...(opts.heldSpan ? { heldSpan: { traceId: opts.heldSpan.traceId, spanId: opts.heldSpan.spanId } } : {}),
        },
        { timeoutMs: decision.timeoutMs ?? 300_000, signal: opts.signal, onCreated },
      )
      .finally(() => clearInterval(heartbeat));
    if (approval.status === 'approved') {
      // A hold lasts minutes; the audit trail may have failed since decide(). An approved command
      // that cannot be recorded does not run either (fail closed, as decide() would now say).
      if (approval.hash === held.hash && !this.auditHealthy()) {
        const unrecorded: Decision = { action: 'deny', rule: AUDIT_UNAVAILABLE.rule, reason: AUDIT_UNAVAILABLE.reason };
        return { verdict: 'deny', decision: unrecorded, approval, message: `sidegate: approval ${approval.id} was granted, but denied by rule "${AUDIT_UNAVAILABLE.rule}": ${AUDIT_UNAVAILABLE.reason}; nothing ran` };
      }
      if (approval.hash === held.hash) return { verdict: 'allow', decision, approval };
      const mismatched: HoldResult = { id: approval.id, status: 'mismatched' };
      return { verdict: 'deny', decision, approval: mismatched, message: denialMessage(decision, mismatched) };
    }
    return { verdict: 'deny', decision, approval, message: denialMessage(decision, approval) };
  }
}

/** The one sentence a client sees when a command does not run. Names the rule and approval id. */
export function denialMessage(decision: Decision, approval?: HoldResult): string {
  if (!approval) return `sidegate: denied by rule "${decision.rule}": ${decision.reason}`;
  switch (approval.status) {
    case 'denied':
      return `sidegate: approval ${approval.id} (rule "${decision.rule}") was denied${approval.approver ? ` by ${approval.approver}` : ''}${approval.reason ? `: ${approval.reason}` : ''}`;
    case 'expired':
      return `sidegate: approval ${approval.id} (rule "${decision.rule}") timed out without a decision`;
    case 'cancelled':
      return `sidegate: approval ${approval.id} (rule "${decision.rule}") was cancelled`;
    case 'mismatched':
      return `sidegate: approval ${approval.id} (rule "${decision.rule}") is not for this statement and its parameters; nothing ran`;
    case 'unavailable':
      return `sidegate: rule "${decision.rule}" requires approval but the approval could not be requested${approval.reason ? `: ${approval.reason}` : ' (broker unavailable)'}`;
    case 'approved':
      return `sidegate: approval ${approval.id} granted`;
  }
}

/** What a client is told when its CancelRequest ended the wait (SQLSTATE 57014). */
export function holdCanceledMessage(approvalId: string): string {
  return `sidegate: canceled while waiting for approval ${approvalId}; the statement did not run`;
}

/** What a client is told while its command waits. */
/** What a held client hears every so often while it waits. */
export function holdHeartbeat(approvalId: string, waitedMs: number): string {
  const seconds = Math.round(waitedMs / 1000);
  const waited = seconds < 120 ? `${seconds}s` : `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  return `sidegate: still waiting for approval ${approvalId} (${waited} so far)`;
}

export function holdNotice(decision: Decision, approvalId: string, page?: string): string {
  const who = decision.approvers && decision.approvers.length > 0 ? ` from ${decision.approvers.join(', ')}` : '';
  return `sidegate: held for approval ${approvalId} (rule "${decision.rule}"); waiting for a decision${who}${page ? ` at ${page}` : ''}`;
}
