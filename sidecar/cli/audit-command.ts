// `sidegate audit show|verify [FILE]`: read the local OTLP-JSON audit file as a person would —
// sessions with their statements, decisions and approvals — and check its hash chain.
import type { Writable } from 'node:stream';
import { readFile } from 'node:fs/promises';
import { verifyChain } from '../audit/index.js';
import { flattenOtlpJson, type FlatSpan } from '../audit/otlp-json-reader.js';

interface Io {
  stdout: Writable;
  stderr: Writable;
}

export async function runAuditCommand(args: string[], io: Io): Promise<number> {
  const [sub, fileArg] = args;
  const file = fileArg ?? '.sidegate/audit.otlp.jsonl';
  if (sub !== 'show' && sub !== 'verify') {
    io.stderr.write('usage: sidegate audit show [FILE] | sidegate audit verify [FILE]\n');
    return 2;
  }
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
