// Between the API's ApprovalRecord and the rows of sidegate_approval_requests / _votes. Times are
// kept to the millisecond and read back as ISO strings by the database itself, so PGlite and
// PostgreSQL (and their drivers' date parsing) answer exactly alike.
import type { ApprovalParameter, ApprovalRecord, ApprovalRequest, ApprovalStatus, ApprovalVote } from '../api/broker-api-schema.js';

/** `expr` as 2024-01-02T03:04:05.678Z. */
const iso = (expr: string) => `to_char(${expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The database clock to the millisecond (statement time: the same for a whole statement). */
export const NOW_MS = `date_trunc('milliseconds', statement_timestamp())`;

/** Columns of one record, votes included; `r` is sidegate_approval_requests. */
export const RECORD_COLUMNS = `r.id, r.status, ${iso('r.created_at')} AS created_at, ${iso('r.expires_at')} AS expires_at,
  ${iso('r.decided_at')} AS decided_at, r.decided_by, r.reason, ${iso('r.consumed_at')} AS consumed_at,
  r.requester, r.target, r.protocol, r.command, r.shown, r.hash, r.rule, r.approvers, r.groups, r.threshold, r.session_id, r.traceparent,
  COALESCE((SELECT jsonb_agg(jsonb_build_object(
      'verdict', v.verdict,
      'approver', jsonb_build_object('issuer', v.approver_issuer, 'subject', v.approver_subject, 'name', v.approver_name, 'groups', v.approver_groups),
      'reason', v.reason,
      'at', ${iso('v.cast_at')}) ORDER BY v.seq)
    FROM sidegate_approval_votes v WHERE v.request_id = r.id), '[]'::jsonb) AS votes`;

export interface RecordRow {
  id: string;
  status: ApprovalStatus;
  created_at: string;
  expires_at: string;
  decided_at: string | null;
  decided_by: string | null;
  reason: string | null;
  consumed_at: string | null;
  requester: ApprovalRecord['requester'];
  target: string;
  protocol: string;
  command: string;
  shown: Shown;
  hash: string;
  rule: string;
  approvers: string[];
  groups: string[];
  threshold: number;
  session_id: string;
  traceparent: string | null;
  votes: (Omit<ApprovalVote, 'reason'> & { reason: string | null })[];
}

/** What the approver is shown beyond the command itself. */
interface Shown {
  commandEscaped?: true;
  parameters?: ApprovalParameter[];
  parametersOmitted?: number;
  resultFormats?: number[];
  context?: string;
}

export function recordOf(row: RecordRow): ApprovalRecord {
  const { commandEscaped, parameters, parametersOmitted, resultFormats, context } = row.shown;
  const { subject, issuer, identities, ci } = row.requester;
  const record: ApprovalRecord = {
    id: row.id,
    status: row.status,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    requester: { subject, issuer, identities, ...(ci ? { ci } : {}) },
    target: row.target,
    protocol: row.protocol,
    command: row.command,
    ...(commandEscaped ? { commandEscaped } : {}),
    ...(parameters ? { parameters } : {}),
    ...(parametersOmitted ? { parametersOmitted } : {}),
    ...(resultFormats ? { resultFormats } : {}),
    ...(context !== undefined ? { context } : {}),
    hash: row.hash,
    rule: row.rule,
    approvers: row.approvers,
    groups: row.groups,
    threshold: Number(row.threshold),
    sessionId: row.session_id,
    votes: row.votes.map(({ reason, ...vote }) => (reason === null ? vote : { ...vote, reason })),
  };
  if (row.decided_by !== null) record.decidedBy = row.decided_by;
  if (row.decided_at !== null) record.decidedAt = row.decided_at;
  if (row.reason !== null) record.reason = row.reason;
  if (row.consumed_at !== null) record.consumedAt = row.consumed_at;
  if (row.traceparent !== null) record.traceparent = row.traceparent;
  return record;
}

/** The request's display fields as stored in `shown`. */
export function shownOf(input: ApprovalRequest): Shown {
  return {
    ...(input.commandEscaped ? { commandEscaped: true as const } : {}),
    ...(input.parameters ? { parameters: input.parameters } : {}),
    ...(input.parametersOmitted ? { parametersOmitted: input.parametersOmitted } : {}),
    ...(input.resultFormats ? { resultFormats: input.resultFormats } : {}),
    ...(input.context !== undefined ? { context: input.context } : {}),
  };
}
