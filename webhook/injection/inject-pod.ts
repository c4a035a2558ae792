// The injection: a pure function from a pod being created, its namespace and the webhook's
// configuration to one of three answers: inject (with an RFC 6902 patch), skip (admit unchanged)
// or deny (with a reason an operator can act on). No I/O, no Kubernetes client: the admission
// layer looks up the namespace and turns the answer into an AdmissionResponse.
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { InjectionConfig } from '../config/injection-config.js';
import { injectsControlPlaneToken } from './control-plane-tokens.js';
import { findEscapeRisks } from './escape-risks.js';
import { genuineInjectionProblems } from './genuine-injection.js';
import { decideInjectionScope } from './injection-scope.js';
import { jsonPointer, type JsonPatchOperation } from './json-patch.js';
import { INJECTOR_COMPONENT_LABEL, INJECTOR_NAME_LABEL, POD_STATUS_ANNOTATION } from './pod-markers.js';
import { renderInjection } from './render-injection.js';

export type { JsonPatchOperation } from './json-patch.js';

export interface InjectionInput {
  pod: Pod;
  namespace: { name: string; labels: Record<string, string> };
  config: InjectionConfig;
  operation: 'CREATE';
  /** Accepted for completeness: injection has no side effects, so a dry run gets the same answer. */
  dryRun?: boolean;
}

export type InjectionResult =
  | { kind: 'inject'; patch: JsonPatchOperation[]; warnings: string[] }
  | { kind: 'skip'; reason: string }
  | { kind: 'deny'; reason: string };

export type { InjectionStatus } from './render-injection.js';

export function injectPod(input: InjectionInput): InjectionResult {
  const { pod, namespace, config } = input;
  const labels = pod.metadata?.labels ?? {};
  const annotations = pod.metadata?.annotations ?? {};

  if (labels[INJECTOR_NAME_LABEL[0]] === INJECTOR_NAME_LABEL[1] && labels[INJECTOR_COMPONENT_LABEL[0]] === INJECTOR_COMPONENT_LABEL[1]) {
    return { kind: 'skip', reason: 'the injector\'s own pod is never injected' };
  }
  const scope = decideInjectionScope(labels, annotations, namespace);
  if (annotations[POD_STATUS_ANNOTATION] !== undefined) {
    // Re-invocation (or a second webhook entry) sees our own patch: a no-op. Anything else that
    // carries the marker in a namespace we inject — a pod created with it, or whose sidecar was
    // changed after us — would otherwise run without capture; it is denied, never skipped.
    if (scope.kind !== 'in-scope') return scope;
    const problems = genuineInjectionProblems(pod, config);
    if (problems.length === 0) return { kind: 'skip', reason: `already injected (${POD_STATUS_ANNOTATION} is set)` };
    return {
      kind: 'deny',
      reason: `the pod carries ${POD_STATUS_ANNOTATION} but not the injection sidegate renders for it (${problems.join('; ')}); remove the annotation and sidegate's containers and volumes, and sidegate injects the pod itself`,
    };
  }
  if (scope.kind !== 'in-scope') return scope;
  if (pod.spec?.hostNetwork === true) {
    return { kind: 'skip', reason: 'hostNetwork pods share the node\'s network namespace, where redirect rules would capture the node\'s traffic' };
  }
  const rendered = renderInjection(pod, config);
  if (rendered.kind === 'deny') return rendered;
  const { mode, initContainer, sidecar, volumes, status } = rendered;
  const warnings = [...rendered.warnings];
  const spec = pod.spec!;

  const risks = findEscapeRisks(pod, config);
  if (risks.length > 0) {
    // A pod that gets a broker or exchange token is refused whatever escapePolicy says: such a
    // container could take the token or the login it buys, not only bypass capture (and the
    // validating check refuses the final pod anyway).
    if (config.escapePolicy === 'refuse' || injectsControlPlaneToken(config)) {
      const why = config.escapePolicy === 'refuse' ? '' : ' (escapePolicy warn does not apply to pods that get a broker or exchange token)';
      return { kind: 'deny', reason: `containers could bypass traffic capture: ${risks.map((r) => r.message).join('; ')}${why}` };
    }
    warnings.unshift(...risks.map((risk) => `sidegate: ${risk.message} (traffic capture may be bypassed)`));
  }

  const patch: JsonPatchOperation[] = [];
  // Ours go first: rules are in place and (native) the sidecar is ready before any of the pod's
  // own init containers run, so their traffic is captured too.
  const ownInit = mode === 'native' ? [initContainer, sidecar] : [initContainer];
  if (spec.initContainers === undefined) {
    patch.push({ op: 'add', path: jsonPointer('spec', 'initContainers'), value: ownInit });
  } else {
    ownInit.forEach((c, i) => patch.push({ op: 'add', path: jsonPointer('spec', 'initContainers', i), value: c }));
  }
  if (mode === 'classic') patch.push({ op: 'add', path: jsonPointer('spec', 'containers', 0), value: sidecar });
  if (spec.volumes === undefined) {
    patch.push({ op: 'add', path: jsonPointer('spec', 'volumes'), value: volumes });
  } else {
    for (const volume of volumes) patch.push({ op: 'add', path: jsonPointer('spec', 'volumes') + '/-', value: volume });
  }
  const statusValue = JSON.stringify(status);
  if (pod.metadata === undefined) {
    patch.push({ op: 'add', path: jsonPointer('metadata'), value: { annotations: { [POD_STATUS_ANNOTATION]: statusValue } } });
  } else if (pod.metadata.annotations === undefined) {
    patch.push({ op: 'add', path: jsonPointer('metadata', 'annotations'), value: { [POD_STATUS_ANNOTATION]: statusValue } });
  } else {
    patch.push({ op: 'add', path: jsonPointer('metadata', 'annotations', POD_STATUS_ANNOTATION), value: statusValue });
  }
  return { kind: 'inject', patch, warnings };
}
