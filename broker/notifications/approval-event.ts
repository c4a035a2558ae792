// What a notification says about an approval request, as a plain value of our own: the broker's
// record turned into the facts a person (Slack) or a program (a signed webhook) needs to act on
// it, with a link to the request on the broker's page. Pure, and tolerant of the fields the record
// is gaining (CI context, votes): whatever shape they arrive in, only well-formed strings are kept.
import type { ApprovalRecord, ApprovalStatus } from '../api/broker-api-schema.js';
import { MAX_COMMAND_CHARS } from '../api/broker-api-schema.js';
import { boundText } from './bounded-text.js';

export const APPROVAL_EVENT_TYPES = ['approval.created', 'approval.decided'] as const;
export type ApprovalEventType = (typeof APPROVAL_EVENT_TYPES)[number];

/** The CI claims of the requester that a notification shows; every one optional. */
export const CI_FIELDS = ['system', 'repository', 'ref', 'workflow', 'pipeline', 'job', 'runId', 'runUrl', 'commit', 'actor', 'environment'] as const;
export type NotifiedCi = Partial<Record<(typeof CI_FIELDS)[number], string>>;

/** One person who decided (a vote, or the record's single decider). */
export interface NotifiedApprover {
  name: string;
  issuer?: string;
  decision?: 'approve' | 'deny';
  reason?: string;
  at?: string;
}

export interface ApprovalEvent {
  type: ApprovalEventType;
  /** When the event happened: creation, or the request leaving pending. */
  occurredAt: string;
  approval: {
    id: string;
    /** The request on the broker's page. */
    url: string;
    status: ApprovalStatus;
    target: string;
    protocol: string;
    rule: string;
    statement: string;
    /** Characters of the statement left out of `statement` (absent when it is whole). */
    statementOmitted?: number;
    requester: { issuer: string; subject: string; identities: string[] };
    ci: NotifiedCi;
    createdAt: string;
    expiresAt: string;
    decidedAt?: string;
    /** Who approved or denied, in vote order; empty while pending and for expired/cancelled. */
    approvers: NotifiedApprover[];
    reason?: string;
  };
}

/** Longest CI claim or approver field carried (claims come from tokens; keep them to a line). */
const MAX_FIELD_CHARS = 1024;
/** Reasons as long as the broker accepts them. */
const MAX_REASON_CHARS = 2000;
const MAX_APPROVERS = 64;

/**
 * The event for `record` as it is now: `approval.created` while pending, `approval.decided` once
 * it left pending. Call it at creation and once when the request is decided, expired or cancelled.
 */
export function approvalEvent(record: ApprovalRecord, publicUrl: string): ApprovalEvent {
  const statement = boundText(record.command, MAX_COMMAND_CHARS);
  const extra = record as ApprovalRecord & { ci?: unknown; votes?: unknown; requester: { ci?: unknown } };
  const decided = record.status !== 'pending';
  return {
    type: decided ? 'approval.decided' : 'approval.created',
    occurredAt: decided ? (record.decidedAt ?? record.createdAt) : record.createdAt,
    approval: {
      id: record.id,
      url: approvalPageUrl(publicUrl, record.id),
      status: record.status,
      target: record.target,
      protocol: record.protocol,
      rule: record.rule,
      statement: statement.text,
      ...(statement.omitted > 0 ? { statementOmitted: statement.omitted } : {}),
      requester: { issuer: record.requester.issuer, subject: record.requester.subject, identities: [...record.requester.identities] },
      ci: ciOf(extra.ci ?? extra.requester.ci),
      createdAt: record.createdAt,
      expiresAt: record.expiresAt,
      ...(record.decidedAt !== undefined ? { decidedAt: record.decidedAt } : {}),
      approvers: approversOf(extra.votes, record.decidedBy),
      ...(record.reason ? { reason: boundText(record.reason, MAX_REASON_CHARS).text } : {}),
    },
  };
}

/** `<publicUrl>/approvals/<id>`, keeping any path prefix the broker is served under. */
export function approvalPageUrl(publicUrl: string, id: string): string {
  const base = publicUrl.endsWith('/') ? publicUrl : `${publicUrl}/`;
  return new URL(`approvals/${encodeURIComponent(id)}`, base).href;
}

function ciOf(value: unknown): NotifiedCi {
  const ci: NotifiedCi = {};
  if (!isObject(value)) return ci;
  for (const field of CI_FIELDS) {
    const claim = shortString(value[field]);
    if (claim !== undefined) ci[field] = claim;
  }
  return ci;
}

function approversOf(votes: unknown, decidedBy: string | undefined): NotifiedApprover[] {
  if (Array.isArray(votes) && votes.length > 0) {
    return votes.slice(0, MAX_APPROVERS).flatMap((vote) => {
      const approver = voteApprover(vote);
      return approver ? [approver] : [];
    });
  }
  return decidedBy ? [{ name: boundText(decidedBy, MAX_FIELD_CHARS).text }] : [];
}

// A vote as the store records it: the verified approver (an object with a name, or a plain name),
// what they decided, their reason and when.
function voteApprover(vote: unknown): NotifiedApprover | undefined {
  if (!isObject(vote)) return undefined;
  const who = vote['approver'];
  const name = isObject(who) ? shortString(who['name']) : shortString(who ?? vote['name']);
  if (name === undefined) return undefined;
  const approver: NotifiedApprover = { name };
  const issuer = isObject(who) ? shortString(who['issuer']) : undefined;
  if (issuer !== undefined) approver.issuer = issuer;
  // The store records a vote's verdict as the outcome it asks for (ApprovalVote.verdict).
  const verdict = vote['verdict'];
  if (verdict === 'approved' || verdict === 'denied') approver.decision = verdict === 'approved' ? 'approve' : 'deny';
  const reason = shortString(vote['reason'], MAX_REASON_CHARS);
  if (reason !== undefined) approver.reason = reason;
  const at = shortString(vote['at']);
  if (at !== undefined) approver.at = at;
  return approver;
}

function shortString(value: unknown, max = MAX_FIELD_CHARS): string | undefined {
  return typeof value === 'string' && value.length > 0 ? boundText(value, max).text : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
