// Runner containers that could get around the redirect rules. The init container excludes the
// sidecar's uid/gid from capture (so the sidecar can reach the real targets), so any other process
// running as that uid or gid goes straight out; a privileged container or one with NET_ADMIN can
// rewrite or flush the pod's iptables rules; NET_RAW can forge packets outside the socket layer.
// A runner container holding a ServiceAccount token for the approval broker's audience can speak
// to the broker as its pod, around the sidecar: read and cancel the pod's held requests, use up
// their approvals, file requests whose statement and CI context it made up. One holding a token
// for the token exchange's audience can obtain the pod's database login itself and connect with
// it directly: the database password sidegate keeps out of the pod.
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import type { InjectionConfig } from '../config/injection-config.js';

export interface EscapeRisk {
  container: string;
  /** What is wrong and how to fix it, in words an operator can act on. */
  message: string;
}

const NETWORK_CAPABILITIES = new Set(['NET_ADMIN', 'NET_RAW', 'ALL']);

export function findEscapeRisks(pod: Pod, config: InjectionConfig): EscapeRisk[] {
  const podSecurity = pod.spec?.securityContext ?? {};
  const containers: Container[] = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  const risks: EscapeRisk[] = [];
  const controlPlaneTokens = controlPlaneTokenVolumes(pod, config);
  for (const container of containers) {
    for (const mount of container.volumeMounts ?? []) {
      const audience = controlPlaneTokens.get(mount.name);
      if (audience === undefined) continue;
      risks.push({
        container: container.name,
        message: `container "${container.name}" mounts volume "${mount.name}", a ServiceAccount token for audience "${audience}" that only the sidecar may hold; remove that projected token`,
      });
    }
    const security = container.securityContext ?? {};
    const where = `container "${container.name}"`;
    const uid = security.runAsUser ?? podSecurity.runAsUser;
    if (uid === config.uid) {
      risks.push({
        container: container.name,
        message: `${where} runs as uid ${config.uid}, the sidecar's uid, which is excluded from capture; set its securityContext.runAsUser (or the pod's) to a different uid`,
      });
    }
    const gid = security.runAsGroup ?? podSecurity.runAsGroup;
    if (gid === config.gid) {
      risks.push({
        container: container.name,
        message: `${where} runs as gid ${config.gid}, the sidecar's gid, which is excluded from capture; set its securityContext.runAsGroup (or the pod's) to a different gid`,
      });
    }
    if (security.privileged === true) {
      risks.push({
        container: container.name,
        message: `${where} is privileged and can change the pod's redirect rules; remove securityContext.privileged`,
      });
    }
    const added = (security.capabilities?.add ?? []).map(normaliseCapability).filter((c) => NETWORK_CAPABILITIES.has(c));
    for (const capability of [...new Set(added)].sort()) {
      risks.push({
        container: container.name,
        message:
          capability === 'ALL'
            ? `${where} adds ALL capabilities, including NET_ADMIN and NET_RAW; add only the capabilities it needs`
            : `${where} adds ${capability}, which lets it ${capability === 'NET_ADMIN' ? 'change the pod\'s redirect rules' : 'send raw packets around the redirect rules'}; remove ${capability} from securityContext.capabilities.add`,
      });
    }
  }
  return risks;
}

/** Volumes of the pod that project a token for the broker's or the exchange's audience: volume name → audience. */
function controlPlaneTokenVolumes(pod: Pod, config: InjectionConfig): Map<string, string> {
  const audiences = new Set([config.brokerTokenAudience, config.exchangeTokenAudience]);
  const found = new Map<string, string>();
  for (const volume of pod.spec?.volumes ?? []) {
    for (const source of volume.projected?.sources ?? []) {
      const audience = source.serviceAccountToken?.audience;
      if (audience !== undefined && audiences.has(audience)) found.set(volume.name, audience);
    }
  }
  return found;
}

/** Kubernetes accepts both NET_ADMIN and CAP_NET_ADMIN (and runtimes ignore case). */
function normaliseCapability(capability: string): string {
  const upper = capability.toUpperCase();
  return upper.startsWith('CAP_') ? upper.slice(4) : upper;
}
