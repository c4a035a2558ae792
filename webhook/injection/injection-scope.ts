// Whether a pod is sidegate's to inject at all: the namespace label, the pod's opt-in/opt-out label
// and the older annotation. The chart's two webhook entries select exactly the pods this says are
// in scope (test/chart/chart.test.ts checks the two agree), so the decision holds whichever of them
// called, and the same pod is never sent by both.
import {
  NAMESPACE_INJECT_ENABLED,
  NAMESPACE_INJECT_LABEL,
  POD_INJECT_ANNOTATION,
  POD_INJECT_LABEL,
  POD_INJECT_LABEL_DISABLED,
  POD_INJECT_LABEL_ENABLED,
} from './pod-markers.js';

export type InjectionScope = { kind: 'in-scope' } | { kind: 'skip'; reason: string } | { kind: 'deny'; reason: string };

export function decideInjectionScope(
  podLabels: Record<string, string>,
  podAnnotations: Record<string, string>,
  namespace: { name: string; labels: Record<string, string> },
): InjectionScope {
  const label = podLabels[POD_INJECT_LABEL];
  const annotation = podAnnotations[POD_INJECT_ANNOTATION];
  if (label !== undefined && label !== POD_INJECT_LABEL_ENABLED && label !== POD_INJECT_LABEL_DISABLED) {
    return { kind: 'deny', reason: `label ${POD_INJECT_LABEL} is "${label}"; use "${POD_INJECT_LABEL_ENABLED}" to inject or "${POD_INJECT_LABEL_DISABLED}" to opt out` };
  }
  if (annotation !== undefined && annotation !== 'true' && annotation !== 'false') {
    return { kind: 'deny', reason: `annotation ${POD_INJECT_ANNOTATION} is "${annotation}"; use "true" to inject or "false" to opt out` };
  }
  // Opting out by label wins: neither webhook entry is even called for such a pod.
  if (label === POD_INJECT_LABEL_DISABLED) return { kind: 'skip', reason: `the pod opts out (label ${POD_INJECT_LABEL}=${POD_INJECT_LABEL_DISABLED})` };
  if (label === POD_INJECT_LABEL_ENABLED && annotation === 'false') {
    return {
      kind: 'deny',
      reason: `label ${POD_INJECT_LABEL}=${POD_INJECT_LABEL_ENABLED} asks for injection but annotation ${POD_INJECT_ANNOTATION} is "false"; remove one of them`,
    };
  }
  if (annotation === 'false') return { kind: 'skip', reason: `the pod opts out (annotation ${POD_INJECT_ANNOTATION}: "false")` };

  const namespaceLabel = namespace.labels[NAMESPACE_INJECT_LABEL];
  if (namespaceLabel === NAMESPACE_INJECT_ENABLED) return { kind: 'in-scope' };
  // A namespace labelled anything else has said no, as with Istio's istio-injection=disabled:
  // a pod cannot opt back in there.
  if (namespaceLabel !== undefined) {
    return { kind: 'skip', reason: `namespace ${namespace.name} is labelled ${NAMESPACE_INJECT_LABEL}=${namespaceLabel}, not ${NAMESPACE_INJECT_ENABLED}, so no pod in it is injected` };
  }
  if (label === POD_INJECT_LABEL_ENABLED || annotation === 'true') return { kind: 'in-scope' };
  return {
    kind: 'skip',
    reason: `namespace ${namespace.name} is not labelled ${NAMESPACE_INJECT_LABEL}=${NAMESPACE_INJECT_ENABLED} and the pod does not opt in (label ${POD_INJECT_LABEL}=${POD_INJECT_LABEL_ENABLED})`,
  };
}
