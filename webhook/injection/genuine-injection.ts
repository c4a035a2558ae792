// Whether a pod's sidegate containers and volumes are exactly what injection renders for it: the
// pod with sidegate's own containers, volumes and status removed is injected again and the result
// compared, container by container (as the API server stores them, api-server-defaults.ts) and
// volume by volume, and by position. A container named "sidegate" with sidegate's image but
// another command, an added postStart hook, an exec probe, an extra variable or mount, a policy
// volume pointing at another ConfigMap: each is a difference, and each is named.
import { isDeepStrictEqual } from 'node:util';
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import type { InjectionConfig } from '../config/injection-config.js';
import { comparableContainer, comparableVolume, type Comparable } from './api-server-defaults.js';
import { buildInjectedVolumes } from './injected-volumes.js';
import { INIT_CONTAINER_NAME, POD_STATUS_ANNOTATION, SIDECAR_CONTAINER_NAME } from './pod-markers.js';
import { renderInjection } from './render-injection.js';
import { withoutServiceAccountMount } from './service-account-admission.js';

const OWN_CONTAINERS = new Set<string>([INIT_CONTAINER_NAME, SIDECAR_CONTAINER_NAME]);

/** The pod as it was before injection: without sidegate's containers, volumes and status annotation. */
export function withoutInjection(pod: Pod, config: InjectionConfig): Pod {
  const ownVolumes = new Set(buildInjectedVolumes(config).map((v) => v.name));
  const stripped = structuredClone(pod);
  const annotations = stripped.metadata?.annotations;
  if (annotations) delete annotations[POD_STATUS_ANNOTATION];
  if (stripped.spec) {
    const keep = (c: Container) => !OWN_CONTAINERS.has(c.name);
    if (stripped.spec.initContainers) stripped.spec.initContainers = stripped.spec.initContainers.filter(keep);
    stripped.spec.containers = (stripped.spec.containers ?? []).filter(keep);
    if (stripped.spec.volumes) stripped.spec.volumes = stripped.spec.volumes.filter((v) => !ownVolumes.has(v.name));
  }
  return stripped;
}

/** What differs between the pod's injection and the one sidegate renders for it; empty when genuine. */
export function genuineInjectionProblems(pod: Pod, config: InjectionConfig): string[] {
  if (pod.spec?.hostNetwork === true) return ['the pod uses hostNetwork, and sidegate never injects such pods'];
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  if (!all.some((c) => OWN_CONTAINERS.has(c.name))) return [`sidegate did not inject this pod: it has neither "${INIT_CONTAINER_NAME}" nor "${SIDECAR_CONTAINER_NAME}"`];
  const stripped = withoutInjection(pod, config);
  const rendered = renderInjection(stripped, config);
  if (rendered.kind === 'deny') return [`injection refuses the pod without sidegate's containers: ${rendered.reason}`];

  const problems: string[] = [];
  const native = rendered.mode === 'native';
  const expectedInit = [INIT_CONTAINER_NAME, ...(native ? [SIDECAR_CONTAINER_NAME] : []), ...(stripped.spec!.initContainers ?? []).map((c) => c.name)];
  const expectedContainers = [...(native ? [] : [SIDECAR_CONTAINER_NAME]), ...stripped.spec!.containers.map((c) => c.name)];
  const actualInit = (pod.spec?.initContainers ?? []).map((c) => c.name);
  const actualContainers = (pod.spec?.containers ?? []).map((c) => c.name);
  if (!isDeepStrictEqual(actualInit, expectedInit)) {
    problems.push(`initContainers are ${list(actualInit)}, injection makes them ${list(expectedInit)}`);
  }
  if (!isDeepStrictEqual(actualContainers, expectedContainers)) {
    problems.push(`containers are ${list(actualContainers)}, injection makes them ${list(expectedContainers)}`);
  }
  for (const expected of [rendered.initContainer, rendered.sidecar]) {
    const found = all.filter((c) => c.name === expected.name);
    if (found.length !== 1) {
      if (found.length > 1) problems.push(`container "${expected.name}" appears ${found.length} times`);
      else problems.push(`container "${expected.name}" is missing`);
      continue;
    }
    const fields = differingFields(comparableContainer(withoutServiceAccountMount(found[0]!, pod)), comparableContainer(expected));
    if (fields.length > 0) problems.push(`container "${expected.name}" differs from what injection renders in ${fields.join(', ')}`);
  }
  for (const expected of rendered.volumes) {
    const found = (pod.spec?.volumes ?? []).filter((v) => v.name === expected.name);
    if (found.length !== 1) {
      problems.push(found.length > 1 ? `volume "${expected.name}" appears ${found.length} times` : `volume "${expected.name}" is missing`);
      continue;
    }
    if (!isDeepStrictEqual(comparableVolume(found[0]!), comparableVolume(expected))) {
      problems.push(`volume "${expected.name}" differs from what injection renders`);
    }
  }
  return problems;
}

/** Top-level fields whose values differ (present on either side). */
export function differingFields(actual: Comparable, expected: Comparable): string[] {
  const keys = [...new Set([...Object.keys(actual), ...Object.keys(expected)])].sort();
  return keys.filter((key) => !isDeepStrictEqual(actual[key], expected[key]));
}

function list(names: string[]): string {
  return `[${names.map((n) => `"${n}"`).join(', ')}]`;
}
