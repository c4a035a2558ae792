// YAML → validated policy document. Every problem (YAML syntax, schema, cross-references) is
// reported with the file, line and column it is about, all at once rather than one per run.
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { PolicyDocumentSchema, type PolicyDocument } from './schema.js';
import { PolicyError, formatPath, issueAt, nodeAt, type SourceIssue } from './source-positions.js';

export interface LoadedPolicy {
  file: string;
  document: PolicyDocument;
}

export function parsePolicy(text: string, file: string): LoadedPolicy {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new PolicyError(doc.errors.map((e) => issueAt(file, lines, e.pos[0], e.message.split('\n')[0]!)));
  }
  const parsed = PolicyDocumentSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issues: SourceIssue[] = parsed.error.issues.map((issue) => {
      const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      const key = issue.code === 'unrecognized_keys' ? (issue as { keys: string[] }).keys[0] : undefined;
      const where = nodeAt(doc, path, key);
      const label = formatPath(key ? [...path, key] : path) || '(document)';
      const got = key ? undefined : (doc.getIn(path) as unknown);
      return issueAt(file, lines, where.start, `${label}: ${describe({ ...issue, input: got })}`);
    });
    throw new PolicyError(issues);
  }
  const document = parsed.data;
  const problems = crossReferences(document).map(({ path, message }) => issueAt(file, lines, nodeAt(doc, path).start, `${formatPath(path)}: ${message}`));
  if (problems.length > 0) throw new PolicyError(problems);
  return { file, document };
}

export async function loadPolicyFile(path: string): Promise<LoadedPolicy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new PolicyError([{ file: path, line: 0, column: 0, message: `cannot read policy: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
  return parsePolicy(text, path);
}

function describe(issue: { code: string; message: string; keys?: string[]; values?: unknown[]; input?: unknown }): string {
  if (issue.code === 'unrecognized_keys') return `unknown key "${issue.keys?.[0]}"`;
  if (issue.code === 'invalid_value' && issue.values) {
    return `expected one of ${issue.values.join('|')}${issue.input !== undefined && issue.input !== null ? `, got ${JSON.stringify(issue.input)}` : ''}`;
  }
  return issue.message;
}

/** What zod cannot see: names that must exist, be unique, fit together. */
function crossReferences(doc: PolicyDocument): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  const unique = (section: 'identities' | 'targets' | 'rules' | 'masking') => {
    const seen = new Set<string>();
    doc[section].forEach((item, i) => {
      if (seen.has(item.name)) out.push({ path: [section, i, 'name'], message: `duplicate name "${item.name}"` });
      seen.add(item.name);
    });
  };
  unique('identities');
  unique('targets');
  unique('rules');
  unique('masking');
  const identityNames = new Set(doc.identities.map((i) => i.name));
  doc.identities.forEach((idn, i) => {
    const sources = [idn.jwksUrl, idn.jwks, idn.jwksFile].filter((x) => x !== undefined).length;
    if (sources !== 1) out.push({ path: ['identities', i], message: 'exactly one of jwksUrl, jwks, jwksFile is required' });
    if (!idn.audiences && !idn.audience) out.push({ path: ['identities', i], message: 'an audience is required (audiences: [...] or audience: x)' });
  });
  const checkWho = (section: 'rules' | 'masking', i: number, ids: string[] | undefined) => {
    ids?.forEach((id, j) => {
      if (!identityNames.has(id)) out.push({ path: [section, i, 'identities', j], message: `unknown identity "${id}"` });
    });
  };
  doc.rules.forEach((rule, i) => {
    checkWho('rules', i, rule.identities);
    if (rule.approval && rule.action !== 'approve') out.push({ path: [rule.approval ? 'rules' : 'rules', i, 'approval'], message: 'approval is only allowed with action: approve' });
    if (rule.when?.text) {
      try {
        compileRuleRegex(rule.when.text);
      } catch (err) {
        out.push({ path: ['rules', i, 'when', 'text'], message: `invalid regular expression: ${(err as Error).message}` });
      }
    }
  });
  doc.masking.forEach((m, i) => {
    checkWho('masking', i, m.identities);
    if (m.columns.length === 0 && m.detectors.length === 0) out.push({ path: ['masking', i], message: 'a masking rule needs columns or detectors' });
    m.detectors.forEach((d, j) => {
      if (typeof d === 'object') {
        try {
          new RegExp(d.regex, d.flags);
        } catch (err) {
          out.push({ path: ['masking', i, 'detectors', j, 'regex'], message: `invalid regular expression: ${(err as Error).message}` });
        }
      }
    });
    if (m.strategy === 'hash' && !doc.maskingKey) out.push({ path: ['masking', i, 'strategy'], message: 'strategy hash needs a top-level maskingKey' });
  });
  return out;
}

/** Rule regexes may start with (?i) for case-insensitivity, as in most policy languages. */
export function compileRuleRegex(text: string): RegExp {
  return text.startsWith('(?i)') ? new RegExp(text.slice(4), 'i') : new RegExp(text);
}
