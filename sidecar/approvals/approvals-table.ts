// What an approver reads in a terminal (pure formatting, no I/O). Command text, subjects and rule
// names come from pipelines, i.e. from whoever controls a CI job: every field is made terminal-safe
// (no escape sequences, no bidi overrides, no line breaks) before it is printed.
import type { ApprovalRecord } from './approval-store.js';

// C0/C1 controls (ESC, CSI…), DEL, and the bidi embedding/override/isolate characters that can
// make a command display as something else.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** One line, terminal-safe: whitespace runs become one space, other controls become `?`. */
export function terminalSafe(text: string): string {
  return text.replace(/[\t\n\r\v\f]+/g, ' ').replace(UNSAFE, '?').replace(/ {2,}/g, ' ').trim();
}

/** Like terminalSafe but keeps line breaks (for showing a whole multi-line statement). */
export function terminalSafeLines(text: string): string[] {
  return text.split(/\r\n|[\n\r\v\f]/).map((line) => line.replace(/\t/g, '  ').replace(UNSAFE, '?').trimEnd());
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 3))}...`;
}

/** Compact duration: 42s, 5m, 3h, 2d (negative treated as 0). */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

const COLUMNS: { title: string; max: number; cell: (r: ApprovalRecord, now: number) => string }[] = [
  { title: 'ID', max: 12, cell: (r) => r.id },
  { title: 'STATUS', max: 9, cell: (r) => r.status },
  { title: 'AGE', max: 5, cell: (r, now) => formatDuration(now - Date.parse(r.createdAt)) },
  { title: 'EXPIRES', max: 7, cell: (r, now) => (r.status === 'pending' ? formatDuration(Date.parse(r.expiresAt) - now) : '-') },
  { title: 'REQUESTER', max: 40, cell: (r) => r.requester.subject },
  { title: 'TARGET', max: 20, cell: (r) => r.target },
  { title: 'RULE', max: 32, cell: (r) => r.rule },
  { title: 'COMMAND', max: 72, cell: (r) => r.command },
];

/** A fixed-width table, one request a line; the last column is not padded. */
export function formatApprovalTable(records: readonly ApprovalRecord[], now: number): string {
  const rows = records.map((r) => COLUMNS.map((c) => truncate(terminalSafe(c.cell(r, now)), c.max)));
  const widths = COLUMNS.map((c, i) => Math.max(c.title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(COLUMNS.map((c) => c.title)), ...rows.map(line)].join('\n') + '\n';
}

/** Everything about one request, one field a line, the command in full (but terminal-safe). */
export function formatApprovalDetails(r: ApprovalRecord, now: number): string {
  const fields: [string, string | undefined][] = [
    ['id', r.id],
    ['status', r.status],
    ['requester', r.requester.subject],
    ['issuer', r.requester.issuer],
    ['identities', r.requester.identities.join(', ') || '-'],
    ['target', `${r.target} (${r.protocol})`],
    ['rule', r.rule],
    ['approvers', r.approvers.join(', ') || 'any'],
    ['session', r.sessionId],
    ['created', `${r.createdAt} (${formatDuration(now - Date.parse(r.createdAt))} ago)`],
    ['expires', r.status === 'pending' ? `${r.expiresAt} (in ${formatDuration(Date.parse(r.expiresAt) - now)})` : r.expiresAt],
    ['decided', r.decidedAt ? `${r.decidedAt}${r.decidedBy ? ` by ${r.decidedBy}` : ''}` : undefined],
    ['reason', r.reason],
  ];
  const label = (k: string) => `${k}:`.padEnd(12);
  const lines = fields.filter((f): f is [string, string] => f[1] !== undefined).map(([k, v]) => label(k) + terminalSafe(v));
  const [first = '', ...rest] = terminalSafeLines(r.command);
  lines.push(label('command') + first, ...rest.map((line) => ' '.repeat(12) + line));
  return lines.join('\n') + '\n';
}
