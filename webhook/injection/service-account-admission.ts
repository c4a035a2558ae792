// The one change an in-tree admission plugin makes to sidegate's containers in every cluster: the
// ServiceAccount plugin mounts the pod's API token volume (kube-api-access-*) at
// /var/run/secrets/kubernetes.io/serviceaccount into each container that has no mount there, and
// the API server runs it again after a webhook changed the pod, so the injected containers get it
// too. That mount is left out when a pod's containers are compared with what injection renders —
// but only when its volume has exactly the plugin's shape: a token for the API server's own
// audience (none given), the cluster's CA and the namespace. A volume of that name holding
// anything else, or a token for another audience, is a difference like any other.
import { isDeepStrictEqual } from 'node:util';
import type { Container, Pod, Volume } from 'kubernetes-types/core/v1.js';

export const SERVICE_ACCOUNT_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The container without the API token mount the ServiceAccount plugin adds. */
export function withoutServiceAccountMount(container: Container, pod: Pod): Container {
  const mounts = container.volumeMounts ?? [];
  const kept = mounts.filter((mount) => !(mount.mountPath === SERVICE_ACCOUNT_MOUNT_PATH && mount.readOnly === true && mount.subPath === undefined && isApiAccessVolume(pod, mount.name)));
  if (kept.length === mounts.length) return container;
  return { ...container, volumeMounts: kept };
}

function isApiAccessVolume(pod: Pod, name: string): boolean {
  if (!name.startsWith('kube-api-access-')) return false;
  const volumes = (pod.spec?.volumes ?? []).filter((v) => v.name === name);
  return volumes.length === 1 && hasPluginShape(volumes[0]!);
}

function hasPluginShape(volume: Volume): boolean {
  const keys = Object.keys(volume).filter((k) => k !== 'name');
  if (keys.length !== 1 || !volume.projected) return false;
  const sources = volume.projected.sources ?? [];
  if (sources.length !== 3) return false;
  const [token, ca, namespace] = sources;
  return (
    Object.keys(token!).length === 1 &&
    token!.serviceAccountToken !== undefined &&
    token!.serviceAccountToken.audience === undefined &&
    token!.serviceAccountToken.path === 'token' &&
    isDeepStrictEqual(ca, { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } }) &&
    isDeepStrictEqual(namespace, { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } })
  );
}
