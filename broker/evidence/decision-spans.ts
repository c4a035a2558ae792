// What the broker's evidence of one transition says: a span for a vote, a span for the outcome
// (approved, denied, expired, cancelled), each linked to the held statement's span in the
// sidecar's trace, with the `sidegate.*` attributes the sidecar's own spans use. Pure: the audit
// trail (core/audit/) hashes, spools and exports them. Only what the store holds goes in, and the
// store holds no token; the statement itself stays out (its literals are not for collectors),
// its binding hash names it.
import { hash } from 'node:crypto';
import type { AttributeValue } from '../../core/audit/index.js';
import type { ApprovalRecord, ApprovalVote } from '../api/broker-api-schema.js';
import { ciAttributes } from '../../core/tokens/ci-attributes.js';
import { spanContextOf, type SpanContext } from '../api/trace-context.js';
import type { Transition } from '../store/approval-store.js';

export interface DecisionSpan {
  name: string;
  /** The request's own trace: every replica puts one request's spans in the same trace. */
  traceId: string;
  links: SpanContext[];
  attributes: Record<string, AttributeValue>;
}

/**
 * A request's trace id, derived from its id: replicas agree on it without sharing anything, and
 * a vote on one replica and the expiry on another still land in one trace.
 */
export function approvalTraceId(id: string): string {
  return hash('sha256', `sidegate approval ${id}`, 'hex').slice(0, 32);
}

/** The spans one transition leaves: its vote, if it was one, then its outcome, if it has one. */
export function decisionSpans(t: Transition): DecisionSpan[] {
  const { record } = t;
  const held = record.traceparent ? spanContextOf(record.traceparent) : undefined;
  const common = { traceId: approvalTraceId(record.id), links: held ? [held] : [] };
  const spans: DecisionSpan[] = [];
  if (t.vote) spans.push({ ...common, name: 'approval vote', attributes: { ...requestAttributes(record), ...voteAttributes(t.vote) } });
  if (record.status !== 'pending') spans.push({ ...common, name: `approval ${record.status}`, attributes: { ...requestAttributes(record), ...outcomeAttributes(record) } });
  return spans;
}

/** What was asked, for what, by whom: on every span of the request. */
function requestAttributes(r: ApprovalRecord): Record<string, AttributeValue> {
  return {
    'sidegate.approval.id': r.id,
    'sidegate.approval.status': r.status,
    'sidegate.approval.hash': r.hash,
    'sidegate.approval.threshold': r.threshold ?? 1,
    'sidegate.rule': r.rule,
    'sidegate.target': r.target,
    'sidegate.protocol': r.protocol,
    'sidegate.session.id': r.sessionId,
    'sidegate.identity.subject': r.requester.subject,
    'sidegate.identity.issuer': r.requester.issuer,
    'sidegate.identity.names': [...r.requester.identities],
    ...ciAttributes(r.requester.ci),
    ...(r.traceparent ? { 'sidegate.approval.held_span': r.traceparent } : {}),
  };
}

/** One approver's vote, with the identity their token proved. */
function voteAttributes(v: ApprovalVote): Record<string, AttributeValue> {
  return {
    'sidegate.approval.verdict': v.verdict,
    'sidegate.approver.issuer': v.approver.issuer,
    'sidegate.approver.subject': v.approver.subject,
    'sidegate.approver.name': v.approver.name,
    'sidegate.approver.groups': [...v.approver.groups],
    'sidegate.approval.voted_at': v.at,
    ...(v.reason !== undefined ? { 'sidegate.approval.reason': v.reason } : {}),
  };
}

/**
 * How the request ended: who decided it (the approvers whose votes approved it, or the one who
 * denied it; nobody for an expiry or a cancel), why, when. Each decider's identity is on their
 * vote's span; here in parallel lists.
 */
function outcomeAttributes(r: ApprovalRecord): Record<string, AttributeValue> {
  const deciding = r.status === 'approved' ? r.votes.filter((v) => v.verdict === 'approved') : r.status === 'denied' ? r.votes.filter((v) => v.verdict === 'denied').slice(-1) : [];
  return {
    'sidegate.approval.votes': r.votes.length,
    ...(deciding.length
      ? {
          'sidegate.approver.issuers': deciding.map((v) => v.approver.issuer),
          'sidegate.approver.subjects': deciding.map((v) => v.approver.subject),
          'sidegate.approver.names': deciding.map((v) => v.approver.name),
        }
      : {}),
    ...(r.decidedBy !== undefined ? { 'sidegate.approval.approver': r.decidedBy } : {}),
    ...(r.reason !== undefined ? { 'sidegate.approval.reason': r.reason } : {}),
    ...(r.decidedAt !== undefined ? { 'sidegate.approval.decided_at': r.decidedAt } : {}),
  };
}
