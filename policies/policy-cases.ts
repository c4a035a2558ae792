// Policy unit tests for operators: identity claims + target + command → expected decision.
// The inspection function is injected so this module never depends on a protocol's grammar;
// the CLI passes the real one.
import { z } from 'zod';
import type { CommandFacts, Decision, TargetSpec } from '../core/vocabulary.js';
import type { Policy } from './policy.js';
import { PolicyError, schemaIssues } from './source-positions.js';
import { parseYamlSource, readYamlSource } from './yaml-source.js';

const CaseSchema = z
  .object({
    name: z.string().min(1),
    claims: z.record(z.string(), z.unknown()).refine((c) => typeof c['iss'] === 'string', { message: 'claims need an iss' }),
    target: z.string().min(1),
    command: z.string(),
    expect: z.enum(['allow', 'deny', 'approve']),
    rule: z.string().optional(),
  })
  .strict();

export const PolicyCasesSchema = z.object({ cases: z.array(CaseSchema).min(1) }).strict();
export type PolicyCase = z.infer<typeof CaseSchema>;

export interface CaseResult {
  name: string;
  pass: boolean;
  expected: string;
  actual?: Decision;
  message: string;
}

export function parsePolicyCases(text: string, file: string): PolicyCase[] {
  const { doc, lines, value } = parseYamlSource(text, file);
  const parsed = PolicyCasesSchema.safeParse(value);
  if (!parsed.success) throw new PolicyError(schemaIssues(file, doc, lines, parsed.error.issues));
  return parsed.data.cases;
}

export async function loadPolicyCasesFile(path: string): Promise<PolicyCase[]> {
  return parsePolicyCases(await readYamlSource(path, 'policy cases'), path);
}

export function runPolicyCases(
  policy: Policy,
  cases: readonly PolicyCase[],
  inspect: (target: TargetSpec, text: string) => CommandFacts[],
): CaseResult[] {
  return cases.map((c) => {
    const target = policy.target(c.target);
    if (!target) return { name: c.name, pass: false, expected: c.expect, message: `unknown target "${c.target}"` };
    const claims = c.claims;
    const principal = {
      issuer: String(claims['iss']),
      subject: String(claims['sub'] ?? ''),
      claims,
      identities: policy.matchIdentities(claims),
    };
    let facts: CommandFacts[];
    try {
      facts = inspect(target, c.command);
    } catch (err) {
      // One case the inspector cannot handle (a protocol without a grammar yet) fails alone.
      return { name: c.name, pass: false, expected: c.expect, message: `cannot inspect the command: ${(err as Error).message}` };
    }
    const { decision } = policy.decideAll(principal, facts);
    const ruleOk = c.rule === undefined || c.rule === decision.rule;
    const pass = decision.action === c.expect && ruleOk;
    return {
      name: c.name,
      pass,
      expected: c.rule ? `${c.expect} by rule "${c.rule}"` : c.expect,
      actual: decision,
      message: pass ? 'ok' : `expected ${c.rule ? `${c.expect} by rule "${c.rule}"` : c.expect}, got ${decision.action} by rule "${decision.rule}"`,
    };
  });
}
