// Span attributes every protocol shares: who, where, what was decided. Protocol adapters add their
// own semantic-convention attributes (db.*, http.*) next to these.
import type { Decision, Principal, TargetSpec } from '../../core/vocabulary.js';
import type { GateOutcome } from './command-gate.js';
import type { AttributeValue } from '../../core/audit/index.js';
import { ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from '@opentelemetry/semantic-conventions';

/** Attribute maps these builders fill in; the value types are the audit trail's own. */
export type Attributes = Record<string, AttributeValue>;

/**
 * CI claims worth carrying on every span, by platform. Only these are copied: a token can carry
 * arbitrary claims and spans are not the place for all of them.
 */
const CI_CLAIMS = [
  // GitLab id_tokens
  'project_path', 'namespace_path', 'pipeline_id', 'pipeline_source', 'job_id', 'ref', 'ref_type', 'ref_protected',
  'environment', 'user_login', 'runner_id',
  // GitHub Actions
  'repository', 'repository_owner', 'workflow', 'workflow_ref', 'run_id', 'run_attempt', 'actor', 'event_name', 'job_workflow_ref',
  // Kubernetes ServiceAccount tokens carry pod/namespace under kubernetes.io
  'kubernetes.io',
] as const;

export function principalAttributes(principal: Principal): Attributes {
  const attrs: Attributes = {
    'sidegate.identity.subject': principal.subject,
    'sidegate.identity.issuer': principal.issuer,
    'sidegate.identity.names': [...principal.identities],
  };
  for (const claim of CI_CLAIMS) {
    const value = principal.claims[claim];
    if (value === undefined || value === null) continue;
    if (claim === 'kubernetes.io' && typeof value === 'object') {
      const k8s = value as Record<string, unknown>;
      const ns = k8s['namespace'];
      const pod = (k8s['pod'] as Record<string, unknown> | undefined)?.['name'];
      const sa = (k8s['serviceaccount'] as Record<string, unknown> | undefined)?.['name'];
      if (typeof ns === 'string') attrs['sidegate.ci.k8s.namespace'] = ns;
      if (typeof pod === 'string') attrs['sidegate.ci.k8s.pod'] = pod;
      if (typeof sa === 'string') attrs['sidegate.ci.k8s.serviceaccount'] = sa;
      continue;
    }
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      attrs[`sidegate.ci.${claim}`] = String(value);
    }
  }
  return attrs;
}

export function targetAttributes(target: TargetSpec): Attributes {
  return {
    'sidegate.target': target.name,
    [ATTR_SERVER_ADDRESS]: target.host,
    [ATTR_SERVER_PORT]: target.port,
  };
}

export function decisionAttributes(decision: Decision, outcome?: GateOutcome): Attributes {
  const attrs: Attributes = {
    'sidegate.decision': outcome ? (outcome.verdict === 'allow' ? (decision.action === 'approve' ? 'approved' : 'allow') : 'deny') : decision.action,
    // The gate's outcome may name another rule than the policy's decision (audit-unavailable after a hold).
    'sidegate.rule': (outcome?.decision ?? decision).rule,
    'sidegate.policy.action': decision.action,
  };
  const approval = outcome?.approval;
  if (approval) {
    attrs['sidegate.approval.id'] = approval.id;
    attrs['sidegate.approval.status'] = approval.status;
    if (approval.approver) attrs['sidegate.approval.approver'] = approval.approver;
  }
  return attrs;
}
