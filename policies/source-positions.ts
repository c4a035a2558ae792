// Where in the YAML source a value lives, so every error can say file:line:column.
import { isMap, isSeq, isScalar, type Document, type LineCounter, type Node } from 'yaml';

export interface SourceIssue {
  file: string;
  line: number;
  column: number;
  message: string;
}

export class PolicyError extends Error {
  constructor(readonly issues: SourceIssue[]) {
    super(issues.map((i) => `${i.file}:${i.line}:${i.column}: ${i.message}`).join('\n'));
    this.name = 'PolicyError';
  }
}

/** The node at `path`, or the deepest existing ancestor (a missing key points at its parent). */
export function nodeAt(doc: Document, path: readonly (string | number)[], key?: string): { start: number } {
  let node: unknown = doc.contents;
  let last: { start: number } = { start: 0 };
  const rangeOf = (n: unknown) => ((n as { range?: [number, number, number] })?.range ? { start: (n as Node).range![0] } : undefined);
  last = rangeOf(node) ?? last;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      node = pair.value;
      last = rangeOf(node) ?? rangeOf(pair.key) ?? last;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      if (node === undefined) break;
      last = rangeOf(node) ?? last;
    } else break;
  }
  if (key && isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
    const r = pair ? rangeOf(pair.key) : undefined;
    if (r) return r;
  }
  return last;
}

export function issueAt(file: string, lines: LineCounter, offset: number, message: string): SourceIssue {
  const pos = lines.linePos(offset);
  return { file, line: pos.line, column: pos.col, message };
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? String(seg) : `.${String(seg)}`;
  return out;
}

/** A zod issue as the subset of fields this module reads (zod's own union type is too wide). */
interface ZodIssueLike {
  code: string;
  message: string;
  path: readonly PropertyKey[];
  keys?: string[];
  values?: unknown[];
}

/**
 * Each zod issue at the node its path names: an unknown key points at the key itself, an invalid
 * enum value says what was allowed and what was written.
 */
export function schemaIssues(file: string, doc: Document, lines: LineCounter, issues: readonly ZodIssueLike[]): SourceIssue[] {
  return issues.map((issue) => {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    const key = issue.code === 'unrecognized_keys' ? issue.keys?.[0] : undefined;
    const where = nodeAt(doc, path, key);
    const label = formatPath(key ? [...path, key] : path) || '(document)';
    return issueAt(file, lines, where.start, `${label}: ${describeIssue(issue, key ? undefined : doc.getIn(path))}`);
  });
}

function describeIssue(issue: ZodIssueLike, written: unknown): string {
  if (issue.code === 'unrecognized_keys') return `unknown key "${issue.keys?.[0]}"`;
  if (issue.code === 'invalid_value' && issue.values) {
    // Only scalars are echoed back: they are short and were written by the operator.
    const got = typeof written === 'string' || typeof written === 'number' || typeof written === 'boolean' ? `, got ${JSON.stringify(written)}` : '';
    return `expected one of ${issue.values.join('|')}${got}`;
  }
  return issue.message;
}
