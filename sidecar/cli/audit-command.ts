// `sidegate audit show|verify [FILE]`: read the local OTLP-JSON audit file as a person would —
// sessions with their statements, decisions and approvals — and check its hash chain.
import type { Writable } from 'node:stream';
import { readFile } from 'node:fs/promises';
import { verifyChain } from '../../core/audit/index.js';
import { flattenOtlpJson, type FlatSpan } from '../../core/audit/otlp-json-reader.js';
import { parseCommandLine, printable, usageError } from '../../core/command-line/command-line.js';

interface Io {
  stdout: Writable;
  stderr: Writable;
}

export const AUDIT_USAGE = `usage: sidegate audit show [FILE]
       sidegate audit verify [FILE]

  show     print the audit trail as sessions with their commands, decisions and approvals
  verify   check the trail's hash chain; exit 1 if it is broken
  FILE     an OTLP-JSON audit file (default .sidegate/audit.otlp.jsonl, local mode's)
`;

export async function runAuditCommand(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'show' && sub !== 'verify') {
    if (sub === '--help' || sub === '-h') {
      io.stdout.write(AUDIT_USAGE);
      return 0;
    }
    return usageError({ name: 'sidegate audit', usage: AUDIT_USAGE }, sub === undefined ? 'missing subcommand (show or verify)' : `unknown subcommand "${printable(sub)}"`, io);
  }
  const parsed = parseCommandLine(rest, { name: `sidegate audit ${sub}`, usage: AUDIT_USAGE, options: {}, positionals: ['[FILE]'] }, io);
  if (typeof parsed === 'number') return parsed;
  const file = parsed.positionals[0] ?? '.sidegate/audit.otlp.jsonl';
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    io.stderr.write(`sidegate audit: cannot read ${file}\n`);
    return 1;
  }
  const spans = flattenOtlpJson(text);
  if (sub === 'verify') {
    const result = verifyChain(spans);
    io.stdout.write(result.ok ? `${file}: ${spans.length} spans, hash chain intact\n` : `${file}: hash chain BROKEN at ${result.brokenAt}: ${result.reason}\n`);
    return result.ok ? 0 : 1;
  }
  io.stdout.write(renderTree(spans));
  return 0;
}

function renderTree(spans: FlatSpan[]): string {
  const children = new Map<string, FlatSpan[]>();
  const roots: FlatSpan[] = [];
  for (const s of spans) {
    if (s.parentSpanId) {
      if (!children.has(s.parentSpanId)) children.set(s.parentSpanId, []);
      children.get(s.parentSpanId)!.push(s);
    } else roots.push(s);
  }
  const lines: string[] = [];
  const a = (s: FlatSpan, k: string) => (s.attributes[k] === undefined ? '' : String(s.attributes[k]));
  for (const root of roots.sort((x, y) => x.startTimeUnixNano.localeCompare(y.startTimeUnixNano))) {
    lines.push(
      `${root.name}  trace=${root.traceId}  who=${a(root, 'sidegate.identity.subject')}${root.status?.message ? `  error=${root.status.message}` : ''}`,
    );
    for (const c of (children.get(root.spanId) ?? []).sort((x, y) => x.startTimeUnixNano.localeCompare(y.startTimeUnixNano))) {
      const approval = a(c, 'sidegate.approval.id');
      lines.push(
        `  ${a(c, 'sidegate.decision').padEnd(8)} ${a(c, 'db.query.text')}` +
          `  [rule=${a(c, 'sidegate.rule')}${approval ? ` approval=${approval} by=${a(c, 'sidegate.approval.approver')}` : ''}` +
          ` rows=${a(c, 'sidegate.rows_affected') || a(c, 'sidegate.rows_returned')} masked=${a(c, 'sidegate.masked_count')}]`,
      );
    }
  }
  return lines.join('\n') + '\n';
}
