// YAML → validated policy document. Every problem (YAML syntax, schema, cross-references) is
// reported with the file, line and column it is about; all problems of a stage at once rather
// than one per run (cross-references are checked once the document fits the schema).
import { PolicyDocumentSchema, type IdentityDoc, type PolicyDocument } from './schema.js';
import { PolicyError, formatPath, issueAt, nodeAt, schemaIssues } from './source-positions.js';
import { parseYamlSource, readYamlSource } from './yaml-source.js';
import { globMatch } from './glob.js';
import { compileRuleRegex } from './rule-regex.js';
import { EGRESS_BUILTIN_RULES } from '../core/vocabulary.js';

export interface LoadedPolicy {
  file: string;
  document: PolicyDocument;
}

export interface PolicyLoadOptions {
  /**
   * Identities the running program provides (local mode's own issuer), added unless the policy
   * declares an identity of that name or issuer itself, so its rules may name them.
   */
  implicitIdentities?: readonly IdentityDoc[];
}

export function parsePolicy(text: string, file: string, options: PolicyLoadOptions = {}): LoadedPolicy {
  const { doc, lines, value } = parseYamlSource(text, file);
  const parsed = PolicyDocumentSchema.safeParse(value);
  if (!parsed.success) throw new PolicyError(schemaIssues(file, doc, lines, parsed.error.issues));
  const document = parsed.data;
  for (const implicit of options.implicitIdentities ?? []) {
    if (!document.identities.some((i) => i.name === implicit.name || i.issuer === implicit.issuer)) document.identities.push(implicit);
  }
  const problems = crossReferences(document).map(({ path, message }) => issueAt(file, lines, nodeAt(doc, path).start, `${formatPath(path)}: ${message}`));
  if (problems.length > 0) throw new PolicyError(problems);
  return { file, document };
}

export async function loadPolicyFile(path: string, options: PolicyLoadOptions = {}): Promise<LoadedPolicy> {
  return parsePolicy(await readYamlSource(path, 'policy'), path, options);
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
  if (doc.egress) {
    const seen = new Set<string>();
    doc.egress.rules.forEach((rule, i) => {
      if (seen.has(rule.name)) out.push({ path: ['egress', 'rules', i, 'name'], message: `duplicate name "${rule.name}"` });
      if ((Object.values(EGRESS_BUILTIN_RULES) as string[]).includes(rule.name)) {
        out.push({ path: ['egress', 'rules', i, 'name'], message: `"${rule.name}" is a name sidegate itself uses for egress decisions` });
      }
      seen.add(rule.name);
    });
  }
  const identityNames = new Set(doc.identities.map((i) => i.name));
  doc.identities.forEach((idn, i) => {
    const sources = [idn.jwksUrl, idn.jwks, idn.jwksFile].filter((x) => x !== undefined).length;
    if (sources !== 1) out.push({ path: ['identities', i], message: 'exactly one of jwksUrl, jwks, jwksFile is required' });
    if (!idn.audiences && !idn.audience) out.push({ path: ['identities', i], message: 'an audience is required (audiences: [...] or audience: x)' });
  });
  // Identities of one issuer become one verifier entry (Policy.issuers): differing key sources or
  // skews would silently lose all but the first, so they must agree.
  const firstOfIssuer = new Map<string, { index: number; keys: string; skew: string }>();
  doc.identities.forEach((idn, i) => {
    const keys = JSON.stringify([idn.jwksUrl, idn.jwks, idn.jwksFile]);
    const skew = String(idn.clockSkew ?? '');
    const first = firstOfIssuer.get(idn.issuer);
    if (!first) return void firstOfIssuer.set(idn.issuer, { index: i, keys, skew });
    const other = doc.identities[first.index]!.name;
    if (first.keys !== keys) out.push({ path: ['identities', i], message: `identities of one issuer must use the same jwksUrl/jwks/jwksFile ("${other}" differs)` });
    if (first.skew !== skew) out.push({ path: ['identities', i, 'clockSkew'], message: `identities of one issuer must use the same clockSkew ("${other}" differs)` });
  });
  doc.targets.forEach((t, i) => {
    // The exchange issues PostgreSQL and MariaDB logins only: another target would fail every login later.
    if ('exchange' in t.credentials && t.protocol !== 'postgres' && t.protocol !== 'mysql') {
      out.push({ path: ['targets', i, 'credentials', 'exchange'], message: `the token exchange issues credentials for postgres and mysql targets only (not ${t.protocol}); use credentials: { file: KEY }` });
    }
  });
  const targetNames = doc.targets.map((t) => t.name);
  const checkWho = (section: 'rules' | 'masking', i: number, ids: string[] | undefined, targets: string[] | undefined) => {
    ids?.forEach((id, j) => {
      if (!identityNames.has(id)) out.push({ path: [section, i, 'identities', j], message: `unknown identity "${id}"` });
    });
    // A target pattern that names nothing is a typo that would silently switch the rule off.
    targets?.forEach((pattern, j) => {
      if (!targetNames.some((t) => globMatch(pattern, t))) {
        out.push({ path: [section, i, 'targets', j], message: `"${pattern}" matches no target (targets: ${targetNames.join(', ') || 'none'})` });
      }
    });
  };
  doc.rules.forEach((rule, i) => {
    checkWho('rules', i, rule.identities, rule.targets);
    if (rule.approval && rule.action !== 'approve') out.push({ path: ['rules', i, 'approval'], message: 'approval is only allowed with action: approve' });
    if (rule.when?.text) {
      try {
        compileRuleRegex(rule.when.text);
      } catch (err) {
        out.push({ path: ['rules', i, 'when', 'text'], message: `invalid regular expression: ${(err as Error).message}` });
      }
    }
  });
  doc.masking.forEach((m, i) => {
    checkWho('masking', i, m.identities, m.targets);
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

