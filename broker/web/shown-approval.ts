// Reading a record for display: the fields a threshold store adds are optional (older records and
// the in-memory store lack them), so the page reads them through these, never directly.
import type { ShownApproval, ShownVote } from './web-deps.js';

/** The CI claims, wherever the store put them; only string values. */
export function ciOf(record: ShownApproval): Record<string, string> {
  const raw = record.ci ?? record.requester?.ci ?? {};
  const ci: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) if (typeof value === 'string' && value !== '') ci[key] = value;
  return ci;
}

/** Distinct approvals needed: the record's threshold, 1 when it has none. */
export function thresholdOf(record: ShownApproval): number {
  return typeof record.threshold === 'number' && record.threshold >= 1 ? record.threshold : 1;
}

export function votesOf(record: ShownApproval): ShownVote[] {
  return Array.isArray(record.votes) ? record.votes : [];
}

export function approvalsSoFar(record: ShownApproval): number {
  return votesOf(record).filter((v) => v.verdict === undefined || v.verdict === 'approved' || v.verdict === 'approve').length;
}

export function voterName(vote: ShownVote): string {
  if (typeof vote.approver === 'string') return vote.approver;
  return vote.approver.name ?? vote.approver.subject ?? '(unknown)';
}

/** The statement on one line, cut at `max` characters (the detail view shows all of it). */
export function statementPreview(command: string, max = 120): string {
  const line = command.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

/** A duration as an approver reads it: 42s, 3m 05s, 2h 10m, 3d 4h. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}
