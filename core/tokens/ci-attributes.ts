// A CI context as span attributes, under the `sidegate.ci.*` names: the broker's decisions and the
// token exchange's outcomes name a run with the same keys, so one query finds both. Pure.
import { claimAt } from './claim-path.js';
import { ciContextOf, type CiContext } from './ci-context.js';

const ATTRIBUTE_NAMES: Record<keyof CiContext, string> = {
  system: 'sidegate.ci.system',
  repository: 'sidegate.ci.repository',
  ref: 'sidegate.ci.ref',
  workflow: 'sidegate.ci.workflow',
  pipeline: 'sidegate.ci.pipeline',
  job: 'sidegate.ci.job',
  runId: 'sidegate.ci.run_id',
  runUrl: 'sidegate.ci.run_url',
  commit: 'sidegate.ci.commit',
  actor: 'sidegate.ci.actor',
  environment: 'sidegate.ci.environment',
};

/** The present fields of `ci` under their attribute names; nothing for no context. */
export function ciAttributes(ci: CiContext | undefined): Record<string, string> {
  if (!ci) return {};
  const out: Record<string, string> = {};
  for (const [key, name] of Object.entries(ATTRIBUTE_NAMES) as [keyof CiContext, string][]) {
    const value = ci[key];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** A pod's own names in a Kubernetes ServiceAccount token, under the keys every span uses. */
const KUBERNETES_CLAIMS: Record<string, string> = {
  'kubernetes.io.namespace': 'sidegate.ci.k8s.namespace',
  'kubernetes.io.serviceaccount.name': 'sidegate.ci.k8s.serviceaccount',
  'kubernetes.io.pod.name': 'sidegate.ci.k8s.pod',
  'kubernetes.io.pod.uid': 'sidegate.ci.k8s.pod_uid',
};

/**
 * Claims a CI system's token carries that the CI context does not model, recorded as they are
 * (GitLab's group path, pipeline source, ref type and protection, runner; GitHub's owner, run
 * attempt and event) so an auditor can tell a protected-branch run from a merge request's.
 */
const RECORDED_CLAIMS = ['namespace_path', 'pipeline_source', 'ref_type', 'ref_protected', 'runner_id', 'repository_owner', 'run_attempt', 'event_name'] as const;

/** The pod names of a ServiceAccount token's claims (nested, or flattened to dotted keys). */
export function kubernetesAttributes(claims: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [path, name] of Object.entries(KUBERNETES_CLAIMS)) {
    const value = claimAt(claims as Record<string, unknown>, path);
    if (typeof value === 'string' && value !== '') out[name] = value;
  }
  return out;
}

/**
 * Everything a verified token says about the CI run behind it, as span attributes: the CI
 * context's fields (one name per field whatever the CI system), the pod's names, and the
 * recorded extra claims. The sidecar puts these on every session and command span.
 */
export function tokenCiAttributes(issuer: string, claims: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const claim of RECORDED_CLAIMS) {
    const value = claims[claim];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[`sidegate.ci.${claim}`] = String(value);
  }
  return { ...out, ...kubernetesAttributes(claims), ...ciAttributes(ciContextOf(issuer, claims)) };
}
