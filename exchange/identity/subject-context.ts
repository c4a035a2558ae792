// What an exchange outcome says about its subject, for its log line and its audit span: issuer,
// subject, the CI claims that say which run asked (GitHub Actions, GitLab, a Kubernetes pod), and
// the CI context every part of sidegate records (core/tokens/ci-context.ts). Only these named
// claims, only scalar values, each bounded: a token's other claims stay out. Pure.
import { ciContextOf, type CiContext } from '../../core/tokens/ci-context.js';
import { claimAt } from '../../core/tokens/claim-path.js';
import { quoteUntrusted } from '../../core/tokens/identity-error.js';
import type { SubjectIdentity } from '../grants/grant-decision.js';

export const CONTEXT_CLAIMS = [
  // GitHub Actions
  'repository', 'ref', 'environment', 'workflow', 'job_workflow_ref', 'run_id', 'run_attempt', 'actor', 'event_name',
  // GitLab id_tokens
  'project_path', 'pipeline_id', 'job_id', 'user_login', 'ref_type',
  // Kubernetes ServiceAccount tokens
  'kubernetes.io.namespace', 'kubernetes.io.serviceaccount.name', 'kubernetes.io.pod.name', 'kubernetes.io.pod.uid',
] as const;

export interface SubjectContext {
  issuer: string;
  subject: string;
  claims: Record<string, string>;
  /** The run, as the broker records its requesters' (absent for a token of no CI system). */
  ci?: CiContext;
}

export function subjectContext(identity: SubjectIdentity): SubjectContext {
  const claims: Record<string, string> = {};
  for (const path of CONTEXT_CLAIMS) {
    const value = claimAt(identity.claims as Record<string, unknown>, path);
    if (typeof value === 'string' || typeof value === 'number') claims[path] = quoteUntrusted(String(value));
  }
  const ci = ciContextOf(identity.issuer, identity.claims);
  return { issuer: identity.issuer, subject: quoteUntrusted(identity.subject), claims, ...(ci ? { ci } : {}) };
}
