// What injection adds to one pod, without deciding whether the pod is sidegate's to inject: the
// init container, the sidecar, the volumes and the status record, or why they cannot be made.
// injectPod turns this into a patch; the genuineness check (genuine-injection.ts) renders it again
// for a pod that claims to be injected and compares, so both read the same one function.
import type { Container, Pod, Volume } from 'kubernetes-types/core/v1.js';
import type { InjectionConfig } from '../config/injection-config.js';
import { buildInitContainer, buildSidecarContainer, type SidecarMode } from './injected-containers.js';
import { buildInjectedVolumes } from './injected-volumes.js';
import { INIT_CONTAINER_NAME, INJECTION_TEMPLATE_VERSION, POD_SIDECAR_MODE_ANNOTATION, POD_STATUS_ANNOTATION, SIDECAR_CONTAINER_NAME } from './pod-markers.js';
import { resolveSidecarSettings } from './sidecar-annotations.js';
import { resolveTrafficSettings } from './traffic-settings.js';

/** What `sidegate.dev/status` records on an injected pod. */
export interface InjectionStatus {
  version: number;
  image: string;
  sidecarMode: SidecarMode;
  initContainers: string[];
  containers: string[];
  volumes: string[];
}

export interface RenderedInjection {
  kind: 'rendered';
  mode: SidecarMode;
  initContainer: Container;
  sidecar: Container;
  volumes: Volume[];
  status: InjectionStatus;
  warnings: string[];
}

export type RenderResult = RenderedInjection | { kind: 'deny'; reason: string };

/** Renders the injection for a pod that holds none of sidegate's containers, volumes or status yet. */
export function renderInjection(pod: Pod, config: InjectionConfig): RenderResult {
  const annotations = pod.metadata?.annotations ?? {};
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
    ...[...existingInit, ...existing, ...(pod.spec.ephemeralContainers ?? [])]
      .map((c) => c.name)
      .filter((n) => n === INIT_CONTAINER_NAME || n === SIDECAR_CONTAINER_NAME)
      .map((n) => `container "${n}"`),
    ...(pod.spec.volumes ?? []).map((v) => v.name).filter((n) => volumes.some((v) => v.name === n)).map((n) => `volume "${n}"`),
  ];
  if (collisions.length > 0) {
    return { kind: 'deny', reason: `the pod already has ${collisions.join(', ')} without ${POD_STATUS_ANNOTATION}; rename them (these names are reserved for sidegate and the volumes its configuration adds)` };
  }

  // Escape risks are the caller's to judge: injection warns or refuses, the validating check refuses.
  const warnings: string[] = [];
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

  const status: InjectionStatus = {
    version: INJECTION_TEMPLATE_VERSION,
    image: config.image,
    sidecarMode: mode,
    initContainers: mode === 'native' ? [INIT_CONTAINER_NAME, SIDECAR_CONTAINER_NAME] : [INIT_CONTAINER_NAME],
    containers: mode === 'native' ? [] : [SIDECAR_CONTAINER_NAME],
    volumes: volumes.map((v) => v.name),
  };
  return {
    kind: 'rendered',
    mode,
    initContainer: buildInitContainer(config, traffic.settings),
    sidecar: buildSidecarContainer(config, mode, sidecarSettings.settings),
    volumes,
    status,
    warnings,
  };
}
