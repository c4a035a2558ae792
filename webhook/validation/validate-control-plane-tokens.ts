// The validating admission check: only a genuinely injected sidecar may hold a control-plane token
// (a projected ServiceAccount token for the broker's or the exchange's audience). Without it, a
// pod that skipped injection — a forged sidegate.dev/status, an opted-out pod, a namespace nobody
// labelled — could mount such a token into its own container and obtain the pod's database login
// from the exchange, with no gateway, policy or audit in between. Validating webhooks run after
// every mutation, so this sees the pod as it will run. Pure: the server turns the answer into an
// AdmissionResponse.
import { isDeepStrictEqual } from 'node:util';
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import type { InjectionConfig } from '../config/injection-config.js';
import { comparableContainer } from '../injection/api-server-defaults.js';
import { controlPlaneTokenVolumes } from '../injection/control-plane-tokens.js';
import { findEscapeRisks } from '../injection/escape-risks.js';
import { genuineInjectionProblems, withoutInjection } from '../injection/genuine-injection.js';
import { INIT_CONTAINER_NAME, SIDECAR_CONTAINER_NAME, VOLUME_NAMES } from '../injection/pod-markers.js';

export type TokenValidation = { allowed: true } | { allowed: false; reasons: string[] };

/** A pod being created. */
export function validateControlPlaneTokens(pod: Pod, config: InjectionConfig): TokenValidation {
  const tokens = controlPlaneTokenVolumes(pod, config);
  if (tokens.size === 0) return { allowed: true };
  const reasons: string[] = [];
  // (a) The token is sidegate's own volume, mounted by the sidecar and by no other container.
  for (const [name, audiences] of tokens) {
    if (name !== VOLUME_NAMES.token) {
      reasons.push(`volume "${name}" projects a ServiceAccount token for ${quoted(audiences)}; only sidegate's own volume "${VOLUME_NAMES.token}" may`);
    }
  }
  reasons.push(...foreignTokenMounts(pod, [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])], false));
  reasons.push(...foreignTokenMounts(pod, pod.spec?.ephemeralContainers ?? [], true));
  // (b) The sidecar and init container are exactly what injection renders for this pod.
  reasons.push(...genuineInjectionProblems(pod, config));
  // (c) No other container could reach the token or get around capture.
  reasons.push(...findEscapeRisks(withoutInjection(pod, config), config).map((r) => r.message));
  return verdict(reasons);
}

/**
 * A pod being updated (its image fields, its ephemeral containers): the pod was checked when it
 * was created, so sidegate's containers must stay as they were (no other image for the sidecar)
 * and every ephemeral container added now must stay clear of the token and of capture. A pod's
 * volumes and mounts cannot change after creation; its annotations and labels can, and a change
 * to them (a CI controller's readiness signal) never needs sidegate's configuration to be the one
 * the pod was injected with.
 */
export function validatePodUpdate(oldPod: Pod, newPod: Pod, config: InjectionConfig): TokenValidation {
  if (controlPlaneTokenVolumes(newPod, config).size === 0) return { allowed: true };
  const reasons: string[] = [];
  for (const name of [INIT_CONTAINER_NAME, SIDECAR_CONTAINER_NAME]) {
    const before = ownContainer(oldPod, name);
    const after = ownContainer(newPod, name);
    const same = before === undefined || after === undefined ? before === after : isDeepStrictEqual(comparableContainer(before), comparableContainer(after));
    if (!same) reasons.push(`container "${name}" is sidegate's and cannot change after the pod was created`);
  }
  const existing = new Set((oldPod.spec?.ephemeralContainers ?? []).map((c) => c.name));
  const added = (newPod.spec?.ephemeralContainers ?? []).filter((c) => !existing.has(c.name));
  if (added.length > 0) {
    // Only the new ones are judged: the pod's own containers were judged at creation.
    const onlyAdded: Pod = { ...newPod, spec: { ...newPod.spec!, initContainers: [], containers: [], ephemeralContainers: added } };
    reasons.push(...findEscapeRisks(onlyAdded, config).map((r) => r.message));
    for (const container of added) {
      if (container.name === SIDECAR_CONTAINER_NAME || container.name === INIT_CONTAINER_NAME) {
        reasons.push(`ephemeral container "${container.name}" takes a name reserved for sidegate`);
      }
    }
  }
  return verdict(reasons);
}

function foreignTokenMounts(pod: Pod, containers: Array<Pick<Container, 'name' | 'volumeMounts'>>, ephemeral: boolean): string[] {
  const reasons: string[] = [];
  const ownTokenVolume = (pod.spec?.volumes ?? []).some((v) => v.name === VOLUME_NAMES.token);
  if (!ownTokenVolume) return reasons;
  for (const container of containers) {
    if (!ephemeral && container.name === SIDECAR_CONTAINER_NAME) continue;
    for (const mount of container.volumeMounts ?? []) {
      if (mount.name !== VOLUME_NAMES.token) continue;
      reasons.push(`${ephemeral ? 'ephemeral ' : ''}container "${container.name}" mounts sidegate's token volume "${VOLUME_NAMES.token}", which only the sidecar may`);
    }
  }
  return reasons;
}

function ownContainer(pod: Pod, name: string): Container | undefined {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((c) => c.name === name);
}

function verdict(reasons: string[]): TokenValidation {
  const unique = [...new Set(reasons)];
  return unique.length === 0 ? { allowed: true } : { allowed: false, reasons: unique };
}

function quoted(audiences: string[]): string {
  return audiences.length === 1 ? `audience "${audiences[0]}"` : `audiences ${audiences.map((a) => `"${a}"`).join(', ')}`;
}
