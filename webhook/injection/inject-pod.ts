// The injection: a pure function from a pod being created, its namespace and the webhook's
// configuration to one of three answers: inject (with an RFC 6902 patch), skip (admit unchanged)
// or deny (with a reason an operator can act on). No I/O, no Kubernetes client: the admission
// layer looks up the namespace and turns the answer into an AdmissionResponse.
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import type { InjectionConfig } from '../config/injection-config.js';
import { findEscapeRisks } from './escape-risks.js';
import { buildInitContainer, buildSidecarContainer, type SidecarMode } from './injected-containers.js';
import { buildInjectedVolumes } from './injected-volumes.js';
import { decideInjectionScope } from './injection-scope.js';
import { jsonPointer, type JsonPatchOperation } from './json-patch.js';
import {
  INIT_CONTAINER_NAME,
  INJECTION_TEMPLATE_VERSION,
  INJECTOR_COMPONENT_LABEL,
  INJECTOR_NAME_LABEL,
  POD_SIDECAR_MODE_ANNOTATION,
  POD_STATUS_ANNOTATION,
  SIDECAR_CONTAINER_NAME,
} from './pod-markers.js';
import { resolveTrafficSettings } from './traffic-settings.js';
import { resolveSidecarSettings } from './sidecar-annotations.js';

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

/** What `sidegate.dev/status` records on an injected pod. */
export interface InjectionStatus {
  version: number;
  image: string;
  sidecarMode: SidecarMode;
  initContainers: string[];
  containers: string[];
  volumes: string[];
}

export function injectPod(input: InjectionInput): InjectionResult {
  const { pod, namespace, config } = input;
  const labels = pod.metadata?.labels ?? {};
  const annotations = pod.metadata?.annotations ?? {};

  if (labels[INJECTOR_NAME_LABEL[0]] === INJECTOR_NAME_LABEL[1] && labels[INJECTOR_COMPONENT_LABEL[0]] === INJECTOR_COMPONENT_LABEL[1]) {
    return { kind: 'skip', reason: 'the injector\'s own pod is never injected' };
  }
  if (annotations[POD_STATUS_ANNOTATION] !== undefined) {
    return { kind: 'skip', reason: `already injected (${POD_STATUS_ANNOTATION} is set)` };
  }
  const scope = decideInjectionScope(labels, annotations, namespace);
  if (scope.kind !== 'in-scope') return scope;
  if (pod.spec?.hostNetwork === true) {
    return { kind: 'skip', reason: 'hostNetwork pods share the node\'s network namespace, where redirect rules would capture the node\'s traffic' };
  }
  if (!pod.spec || !Array.isArray(pod.spec.containers) || pod.spec.containers.length === 0) {
    return { kind: 'deny', reason: 'the pod has no containers to protect; this is not a pod sidegate can inject' };
  }

  const modeAnnotation = annotations[POD_SIDECAR_MODE_ANNOTATION];
  if (modeAnnotation !== undefined && modeAnnotation !== 'native' && modeAnnotation !== 'classic') {
    return { kind: 'deny', reason: `annotation ${POD_SIDECAR_MODE_ANNOTATION} is "${modeAnnotation}"; use "native" or "classic"` };
  }
  const mode: SidecarMode = (modeAnnotation as SidecarMode | undefined) ?? config.sidecarMode;

  const traffic = resolveTrafficSettings(annotations, config);
  if (!traffic.ok) return { kind: 'deny', reason: `cannot build redirect rules: ${traffic.reason}` };
  const sidecarSettings = resolveSidecarSettings(annotations, config);
  if (!sidecarSettings.ok) return { kind: 'deny', reason: `cannot configure the sidecar: ${sidecarSettings.reason}` };

  const existingInit: Container[] = pod.spec.initContainers ?? [];
  const existing: Container[] = pod.spec.containers;
  const volumes = buildInjectedVolumes(config);
  const collisions = [
    ...[...existingInit, ...existing].map((c) => c.name).filter((n) => n === INIT_CONTAINER_NAME || n === SIDECAR_CONTAINER_NAME).map((n) => `container "${n}"`),
    ...(pod.spec.volumes ?? []).map((v) => v.name).filter((n) => volumes.some((v) => v.name === n)).map((n) => `volume "${n}"`),
  ];
  if (collisions.length > 0) {
    return { kind: 'deny', reason: `the pod already has ${collisions.join(', ')} without ${POD_STATUS_ANNOTATION}; rename them (these names are reserved for sidegate and the volumes its configuration adds)` };
  }

  const warnings: string[] = [];
  const risks = findEscapeRisks(pod, config);
  if (risks.length > 0) {
    if (config.escapePolicy === 'refuse') {
      return { kind: 'deny', reason: `containers could bypass traffic capture: ${risks.map((r) => r.message).join('; ')}` };
    }
    for (const risk of risks) warnings.push(`sidegate: ${risk.message} (traffic capture may be bypassed)`);
  }
  if (mode === 'classic' && existingInit.length > 0) {
    warnings.push(
      `sidegate: classic sidecar mode: init containers ${existingInit.map((c) => `"${c.name}"`).join(', ')} run before the sidecar starts, so their connections to captured ports are refused; use native mode (Kubernetes 1.29+) if they need those targets`,
    );
  }

  if ((config.auditExporter ?? (config.otlpEndpoint ? 'otlp' : 'file')) === 'file') {
    warnings.push(
      'sidegate: audit spans stay in the pod (auditExporter: file, no otlpEndpoint): they are deleted with the pod\'s volume; set otlpEndpoint to export them to a collector',
    );
  }

  const initContainer = buildInitContainer(config, traffic.settings);
  const sidecar = buildSidecarContainer(config, mode, sidecarSettings.settings);
  const status: InjectionStatus = {
    version: INJECTION_TEMPLATE_VERSION,
    image: config.image,
    sidecarMode: mode,
    initContainers: mode === 'native' ? [INIT_CONTAINER_NAME, SIDECAR_CONTAINER_NAME] : [INIT_CONTAINER_NAME],
    containers: mode === 'native' ? [] : [SIDECAR_CONTAINER_NAME],
    volumes: volumes.map((v) => v.name),
  };

  const patch: JsonPatchOperation[] = [];
  // Ours go first: rules are in place and (native) the sidecar is ready before any of the pod's
  // own init containers run, so their traffic is captured too.
  const ownInit = mode === 'native' ? [initContainer, sidecar] : [initContainer];
  if (pod.spec.initContainers === undefined) {
    patch.push({ op: 'add', path: jsonPointer('spec', 'initContainers'), value: ownInit });
  } else {
    ownInit.forEach((c, i) => patch.push({ op: 'add', path: jsonPointer('spec', 'initContainers', i), value: c }));
  }
  if (mode === 'classic') patch.push({ op: 'add', path: jsonPointer('spec', 'containers', 0), value: sidecar });
  if (pod.spec.volumes === undefined) {
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
