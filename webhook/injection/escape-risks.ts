// Runner containers that could get around the redirect rules. The init container excludes the
// sidecar's uid/gid from capture (so the sidecar can reach the real targets), so any other process
// running as that uid or gid goes straight out; a privileged container or one with NET_ADMIN can
// rewrite or flush the pod's iptables rules; NET_RAW can forge packets outside the socket layer.
// A runner container holding a ServiceAccount token for the approval broker's audience can speak
// to the broker as its pod, around the sidecar: read and cancel the pod's held requests, use up
// their approvals, file requests whose statement and CI context it made up. One holding a token
// for the token exchange's audience can obtain the pod's database login itself and connect with
// it directly: the database password sidegate keeps out of the pod. A container that can trace
// processes in a process namespace it shares with the sidecar (SYS_PTRACE with
// shareProcessNamespace or hostPID, or an ephemeral container) can read the sidecar's token files
// and memory through /proc; an ephemeral container aimed at sidegate's own container shares its
// process namespace. The injection (before the pod exists) and the validating check (on the
// final pod) both ask this one function.
import type { Container, EphemeralContainer, Pod } from 'kubernetes-types/core/v1.js';
import type { InjectionConfig } from '../config/injection-config.js';
import { controlPlaneTokenVolumes } from './control-plane-tokens.js';
import { INIT_CONTAINER_NAME, SIDECAR_CONTAINER_NAME } from './pod-markers.js';

export interface EscapeRisk {
  container: string;
  /** What is wrong and how to fix it, in words an operator can act on. */
  message: string;
}

const NETWORK_CAPABILITIES = new Set(['NET_ADMIN', 'NET_RAW', 'ALL']);

export function findEscapeRisks(pod: Pod, config: InjectionConfig): EscapeRisk[] {
  const podSecurity = pod.spec?.securityContext ?? {};
  const ephemeral: EphemeralContainer[] = pod.spec?.ephemeralContainers ?? [];
  const containers: Array<Container | EphemeralContainer> = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? []), ...ephemeral];
  const sharedProcesses = pod.spec?.shareProcessNamespace === true || pod.spec?.hostPID === true;
  const risks: EscapeRisk[] = [];
  const controlPlaneTokens = controlPlaneTokenVolumes(pod, config);
  for (const container of containers) {
    const isEphemeral = ephemeral.includes(container as EphemeralContainer);
    const where = `${isEphemeral ? 'ephemeral ' : ''}container "${container.name}"`;
    for (const mount of container.volumeMounts ?? []) {
      const audiences = controlPlaneTokens.get(mount.name);
      if (audiences === undefined) continue;
      risks.push({
        container: container.name,
        message: `${where} mounts volume "${mount.name}", a ServiceAccount token for ${audiences.length === 1 ? 'audience' : 'audiences'} ${audiences.map((a) => `"${a}"`).join(', ')} that only the sidecar may hold; remove that projected token`,
      });
    }
    const target = (container as EphemeralContainer).targetContainerName;
    if (isEphemeral && (target === SIDECAR_CONTAINER_NAME || target === INIT_CONTAINER_NAME)) {
      risks.push({
        container: container.name,
        message: `${where} targets sidegate's container "${target}" and would share its processes and files; debug a runner container instead`,
      });
    }
    const security = container.securityContext ?? {};
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
    const capabilities = (security.capabilities?.add ?? []).map(normaliseCapability);
    if (capabilities.includes('SYS_PTRACE') && (sharedProcesses || isEphemeral)) {
      risks.push({
        container: container.name,
        message: `${where} adds SYS_PTRACE where it shares a process namespace with the sidecar (${isEphemeral ? 'an ephemeral container' : pod.spec?.hostPID === true ? 'hostPID' : 'shareProcessNamespace'}), so it could read the sidecar's tokens and memory; remove SYS_PTRACE`,
      });
    }
    const added = capabilities.filter((c) => NETWORK_CAPABILITIES.has(c));
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

/** Kubernetes accepts both NET_ADMIN and CAP_NET_ADMIN (and runtimes ignore case). */
function normaliseCapability(capability: string): string {
  const upper = capability.toUpperCase();
  return upper.startsWith('CAP_') ? upper.slice(4) : upper;
}
