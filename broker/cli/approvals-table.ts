// What an approver reads in a terminal (pure formatting, no I/O). Command text, parameters,
// subjects and rule names come from pipelines, i.e. from whoever controls a CI job: every field is
// made terminal-safe (no escape sequences, no bidi overrides, no line breaks) before it is printed,
// control characters shown as visible escapes (\x01, \u202e) rather than hidden, and nothing is
// shortened without saying so.
import type { ApprovalParameter, ApprovalRecord } from '../api/broker-api-schema.js';

// C0/C1 controls (ESC, CSI…), DEL, and the bidi embedding/override/isolate characters that can
// make a command display as something else.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const HAS_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** A control or bidi character as a visible escape: \x1b, \u202e. */
function visible(ch: string): string {
  const code = ch.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One line, terminal-safe: whitespace runs become one space, other controls visible escapes. */
export function terminalSafe(text: string): string {
  return text.replace(/[\t\n\r]+/g, ' ').replace(UNSAFE, visible).replace(/ {2,}/g, ' ').trim();
}

/** Like terminalSafe but keeps line breaks (for showing a whole multi-line statement). */
export function terminalSafeLines(text: string): string[] {
  return text.split(/\r\n|[\n\r]/).map((line) => line.replace(/\t/g, '  ').replace(UNSAFE, visible).trimEnd());
}

/** A value on one line with every control character escaped, line breaks included. */
function escapedValue(text: string): string {
  return text.replace(UNSAFE, visible);
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
  { title: 'PARAMS', max: 6, cell: (r) => (r.parameters ? String(r.parameters.length + (r.parametersOmitted ?? 0)) : '-') },
  { title: 'COMMAND', max: 72, cell: (r) => r.command },
];

/** A fixed-width table, one request a line; the last column is not padded. */
export function formatApprovalTable(records: readonly ApprovalRecord[], now: number): string {
  const rows = records.map((r) => COLUMNS.map((c) => truncate(terminalSafe(c.cell(r, now)), c.max)));
  const widths = COLUMNS.map((c, i) => Math.max(c.title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  const cut = records.some((r) => terminalSafe(r.command).length > COLUMNS[COLUMNS.length - 1]!.max);
  // A shortened command must not pass for the whole of it.
  const footer = cut ? ['(commands ending in ... are cut here: `sidegate approvals show ID` shows all of one, with its parameters)'] : [];
  return [line(COLUMNS.map((c) => c.title)), ...rows.map(line), ...footer].join('\n') + '\n';
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
    ['used', r.consumedAt],
    ['hash', r.hash],
  ];
  const label = (k: string) => `${k}:`.padEnd(12);
  const indent = ' '.repeat(12);
  const lines = fields.filter((f): f is [string, string] => f[1] !== undefined).map(([k, v]) => label(k) + terminalSafe(v));
  if (HAS_UNSAFE.test(r.command) || HAS_UNSAFE.test(r.context ?? '')) lines.push(label('note') + 'the command holds control or bidi characters, shown as \\xNN / \\uNNNN');
  if (r.commandEscaped) lines.push(label('note') + 'the command is not valid UTF-8: bytes from 0x80 are shown as \\xNN');
  const [first = '', ...rest] = terminalSafeLines(r.command);
  lines.push(label('command') + first, ...rest.map((line) => indent + line));
  if (r.context !== undefined) {
    const [c0 = '', ...cn] = terminalSafeLines(r.context);
    lines.push(label('also runs') + c0, ...cn.map((line) => indent + line));
  }
  if (r.parameters) {
    const params = r.parameters.map(formatParameter);
    if (r.parametersOmitted) params.push(`… ${r.parametersOmitted} more not shown (the approval covers them too)`);
    if (params.length === 0) params.push('none');
    const [p0 = '', ...pn] = params;
    lines.push(label('parameters') + p0, ...pn.map((line) => indent + line));
  }
  if (r.resultFormats) lines.push(label('results') + (r.resultFormats.length === 0 ? 'text' : r.resultFormats.map((f) => (f === 1 ? 'binary' : 'text')).join(', ')));
  return lines.join('\n') + '\n';
}

/** `$2 binary type 23: 0x00000007 (4 bytes)`, text in quotes; cut values say how much is shown. */
export function formatParameter(p: ApprovalParameter): string {
  const head = `$${p.position} ${p.format}${p.typeOid ? ` type ${p.typeOid}` : ''}: `;
  if (p.value === null) return head + 'NULL';
  const value = p.hex ? `0x${p.value}` : `'${escapedValue(p.value).replace(/'/g, "''")}'`;
  const shown = p.hex ? p.value.length / 2 : Buffer.byteLength(p.value);
  const size = p.truncated ? ` … (first ${shown} of ${p.bytes} bytes shown)` : p.hex ? ` (${p.bytes} bytes)` : '';
  return head + value + size;
}
