// The evaluator: an immutable policy answering pure questions.
//
// Rule precedence (documented in docs/POLICY.md and pinned by policy.test.ts): every rule whose
// who (identities, claims), where (targets) and when (statements, tables, schemas, functions, text, flags)
// match is considered; the most restrictive action wins — deny over approve over allow —
// regardless of the order rules are written in; among equally restrictive rules the first in the
// file decides (it names the rule). No matching rule → `defaults.action` (deny unless changed),
// rule "default". A statement the grammar could not parse is denied by rule "unparsable" unless
// `defaults.unparsable: evaluate`. A statement that changes client_encoding away from UTF-8 is
// denied by rule "text-encoding" (always); a function that runs SQL text by rule "dynamic-sql"
// unless an allow rule names it (functions) or its kind. For a command of several statements, the most restrictive
// statement decision is the command's.
import type { Action, CommandFacts, Decision, EgressPolicy, IssuerSpec, MaskingRule, Principal, TableRef, TargetSpec } from '../core/vocabulary.js';
import type { LoadedPolicy } from './loader.js';
import { compileRuleRegex } from './rule-regex.js';
import type { MaskingDoc, PolicyDocument, RuleDoc } from './schema.js';
import { anyGlob, globMatch } from './glob.js';
import { parseDuration } from './duration.js';

const RANK: Record<Action, number> = { allow: 0, approve: 1, deny: 2 };
const DEFAULT_APPROVAL_MS = 5 * 60_000;

interface CompiledRule {
  doc: RuleDoc;
  text?: RegExp;
}

export class Policy {
  readonly file: string;
  private readonly doc: PolicyDocument;
  private readonly rules: CompiledRule[];
  private readonly targetList: TargetSpec[];

  constructor(loaded: LoadedPolicy) {
    this.file = loaded.file;
    this.doc = loaded.document;
    this.rules = this.doc.rules.map((doc) => ({ doc, text: doc.when?.text ? compileRuleRegex(doc.when.text) : undefined }));
    this.targetList = this.doc.targets.map(toTargetSpec);
  }

  targets(): TargetSpec[] {
    return this.targetList;
  }

  target(name: string): TargetSpec | undefined {
    return this.targetList.find((t) => t.name === name);
  }

  targetByAddress(host: string, port: number): TargetSpec | undefined {
    return this.targetList.find((t) => t.host === host && t.port === port);
  }

  ruleCount(): number {
    return this.rules.length;
  }

  maskingRuleCount(): number {
    return this.doc.masking.length;
  }

  issuers(): IssuerSpec[] {
    const byIssuer = new Map<string, IssuerSpec>();
    for (const idn of this.doc.identities) {
      const audiences = idn.audiences ?? (idn.audience ? [idn.audience] : []);
      const existing = byIssuer.get(idn.issuer);
      if (existing) {
        // Several identities may share an issuer (different claim matchers): one verifier entry.
        byIssuer.set(idn.issuer, { ...existing, audiences: [...new Set([...existing.audiences, ...audiences])] });
        continue;
      }
      byIssuer.set(idn.issuer, {
        issuer: idn.issuer,
        audiences,
        jwksUrl: idn.jwksUrl,
        jwks: idn.jwks,
        jwksFile: idn.jwksFile,
        clockSkewSeconds: idn.clockSkew !== undefined ? parseDuration(idn.clockSkew)! / 1000 : 30,
      });
    }
    return [...byIssuer.values()];
  }

  matchIdentities(claims: Record<string, unknown>): string[] {
    return this.doc.identities
      .filter((idn) => claims['iss'] === idn.issuer && claimsMatch(idn.claims, claims))
      .map((idn) => idn.name);
  }

  decide(principal: Principal, facts: CommandFacts): Decision {
    if (facts.flags.includes('unparsable') && this.doc.defaults?.unparsable !== 'evaluate') {
      return { action: 'deny', rule: 'unparsable', reason: `the ${facts.protocol} grammar could not parse the statement, so policy cannot judge it` };
    }
    // sidegate reads statements as UTF-8; after the session's client_encoding changed it would
    // read bytes the server reads differently. No rule can allow that.
    if (facts.flags.includes('text-encoding-change')) {
      return {
        action: 'deny',
        rule: 'text-encoding',
        reason: 'sidegate inspects statements in UTF8 only: changing client_encoding to another encoding is not allowed',
      };
    }
    let best: CompiledRule | undefined;
    for (const rule of this.rules) {
      if (!this.ruleMatches(rule, principal, facts)) continue;
      if (!best || RANK[rule.doc.action] > RANK[best.doc.action]) best = rule;
      if (best.doc.action === 'deny') break; // nothing outranks deny; the first deny names the rule
    }
    // SQL text run by a function is a statement of its own that inspection may not see whole: it
    // is denied unless an allow rule names the function (`functions:`) or the kind.
    if (facts.kinds.includes('dynamic-sql') && (best ? best.doc.action === 'allow' : (this.doc.defaults?.action ?? 'deny') === 'allow')) {
      best = this.rules.find((r) => r.doc.action === 'allow' && namesDynamicSql(r.doc) && this.ruleMatches(r, principal, facts));
      if (!best) {
        return {
          action: 'deny',
          rule: 'dynamic-sql',
          reason: 'a function that runs SQL text is denied unless a rule allows it by name (when.functions) or kind (dynamic-sql)',
        };
      }
    }
    if (!best) {
      const action = this.doc.defaults?.action ?? 'deny';
      return this.withApproval({ action, rule: 'default', reason: `no rule allows ${facts.operation} for this identity (default ${action})` }, undefined);
    }
    const r = best.doc;
    const reason = r.message ?? r.description ?? `${facts.operation} ${r.action === 'allow' ? 'allowed' : r.action === 'deny' ? 'is not allowed' : 'needs approval'}`;
    return this.withApproval({ action: r.action, rule: r.name, reason }, r);
  }

  decideAll(principal: Principal, facts: readonly CommandFacts[]): { decision: Decision; per: Decision[] } {
    const per = facts.map((f) => this.decide(principal, f));
    let decision = per[0] ?? { action: 'allow' as const, rule: 'empty', reason: 'empty command' };
    for (const d of per) if (RANK[d.action] > RANK[decision.action]) decision = d;
    return { decision, per };
  }

  masking(principal: Principal, target: string): MaskingRule[] {
    return this.doc.masking.filter((m) => whoMatches(m, principal) && targetMatches(m.targets, target)).map(toMaskingRule);
  }

  maskingKey(): { env: string } | { file: string } | undefined {
    return this.doc.maskingKey;
  }

  /**
   * What happens to captured connections to destinations no target names: passthrough unless the
   * policy says otherwise (sidegate holds no credentials for them; docs/POLICY.md "Egress").
   */
  egress(): EgressPolicy {
    const e = this.doc.egress;
    if (e === undefined) return { defaultAction: 'passthrough', rules: [] };
    return {
      defaultAction: e.default,
      rules: e.rules.map((r) => ({ name: r.name, protocols: r.protocols, destinations: r.destinations, ports: r.ports, action: r.action })),
    };
  }

  private withApproval(d: Decision, rule: RuleDoc | undefined): Decision {
    if (d.action !== 'approve') return d;
    const timeout = rule?.approval?.timeout ?? this.doc.defaults?.approvalTimeout;
    return {
      ...d,
      approvers: rule?.approval?.approvers ?? [],
      approverGroups: rule?.approval?.groups ?? [],
      approvalThreshold: rule?.approval?.threshold ?? 1,
      timeoutMs: timeout !== undefined ? parseDuration(timeout)! : DEFAULT_APPROVAL_MS,
    };
  }

  private ruleMatches(rule: CompiledRule, principal: Principal, facts: CommandFacts): boolean {
    const r = rule.doc;
    if (!whoMatches(r, principal)) return false;
    if (!targetMatches(r.targets, facts.target)) return false;
    const when = r.when;
    if (!when) return true;
    if (when.statements && !when.statements.some((s) => facts.kinds.includes(s.toLowerCase()))) return false;
    if (when.flags && !when.flags.some((f) => facts.flags.includes(f))) return false;
    // An unqualified table counts as schema `public` (the default search_path). Once the session
    // changed its search_path (flag `search-path-changed`), that is no longer known: for deny and
    // approve rules an unqualified table then counts as ANY schema, so
    // `SET search_path = audit_only; SELECT * FROM events` still meets a rule on audit_only.
    const restrictive = r.action !== 'allow' && facts.flags.includes('search-path-changed');
    if (when.tables) {
      const hit = (t: TableRef) => tableMatches(when.tables!, t, restrictive);
      if (facts.tables.length === 0) return false;
      if (when.allTables ? !facts.tables.every(hit) : !facts.tables.some(hit)) return false;
    }
    if (when.schemas && !facts.tables.some((t) => (t.schema === undefined && restrictive) || anyGlob(when.schemas!, t.schema ?? 'public'))) return false;
    if (when.functions) {
      const fns = facts.functions ?? [];
      if (!fns.some((f) => functionMatches(when.functions!, f, restrictive))) return false;
    }
    if (rule.text && !rule.text.test(facts.text)) return false;
    return true;
  }
}

/** An allow rule that explicitly covers SQL-running functions: by name, or by kind. */
function namesDynamicSql(r: RuleDoc): boolean {
  return r.when?.functions !== undefined || (r.when?.statements ?? []).some((s) => s.toLowerCase() === 'dynamic-sql');
}

/**
 * Function patterns read like table patterns: `query_to_xml` matches it in any schema,
 * `pg_catalog.query_to_xml` the built-in only; an unqualified user function counts as `public`.
 */
export function functionMatches(patterns: readonly string[], fn: string, unqualifiedMatchesAnySchema = false): boolean {
  const dot = fn.lastIndexOf('.');
  return tableMatches(patterns, dot === -1 ? { name: fn } : { schema: fn.slice(0, dot), name: fn.slice(dot + 1) }, unqualifiedMatchesAnySchema);
}

function whoMatches(r: Pick<RuleDoc, 'identities' | 'claims'> | MaskingDoc, p: Principal): boolean {
  if (r.identities && !r.identities.some((id) => p.identities.includes(id))) return false;
  return claimsMatch(r.claims, p.claims);
}

function targetMatches(patterns: string[] | undefined, target: string): boolean {
  return !patterns || anyGlob(patterns, target);
}

/** Every matcher must match; a list matches when any of its globs does; values compare as strings. */
function claimsMatch(matchers: Record<string, string | string[]> | undefined, claims: Readonly<Record<string, unknown>>): boolean {
  if (!matchers) return true;
  for (const [claim, want] of Object.entries(matchers)) {
    const have = claims[claim];
    if (have === undefined || have === null) return false;
    const values = Array.isArray(have) ? have.map(String) : [typeof have === 'object' ? JSON.stringify(have) : String(have)];
    const patterns = Array.isArray(want) ? want : [want];
    if (!values.some((v) => patterns.some((p) => globMatch(p, v)))) return false;
  }
  return true;
}

/**
 * `schema.table` patterns match qualified names (an unqualified table counts as schema `public`,
 * the default search_path); a bare `table` pattern matches that table in any schema.
 */
export function tableMatches(patterns: readonly string[], t: TableRef, unqualifiedMatchesAnySchema = false): boolean {
  const qualified = `${t.schema ?? 'public'}.${t.name}`;
  for (const p of patterns) {
    if (!p.includes('.')) {
      if (globMatch(p, t.name)) return true;
    } else if (t.schema === undefined && unqualifiedMatchesAnySchema) {
      if (globMatch(p.slice(p.lastIndexOf('.') + 1), t.name)) return true;
    } else if (globMatch(p, qualified)) return true;
  }
  return false;
}

function toTargetSpec(t: PolicyDocument['targets'][number]): TargetSpec {
  const { host, port } = splitAddress(t.address);
  const tls = t.tls ?? { mode: 'verify-full' as const };
  return {
    name: t.name,
    protocol: t.protocol,
    host,
    port,
    database: t.database,
    tls: { mode: tls.mode, caFile: tls.ca, serverName: tls.serverName },
    credentials: 'file' in t.credentials ? { source: 'file', key: t.credentials.file } : { source: 'exchange', ...t.credentials.exchange },
    listen: t.listen ? splitAddress(t.listen) : undefined,
  };
}

export function splitAddress(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address)!;
  return { host: m[1]!, port: Number(m[2]) };
}

function toMaskingRule(m: MaskingDoc): MaskingRule {
  return {
    name: m.name,
    columns: m.columns,
    strategy: m.strategy,
    detectors: m.detectors.map((d) =>
      typeof d === 'string' ? { kind: 'builtin' as const, name: d } : { kind: 'regex' as const, name: d.name, pattern: d.regex, flags: d.flags },
    ),
  };
}
