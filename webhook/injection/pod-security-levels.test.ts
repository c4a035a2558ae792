// Which Pod Security Standards level a runner namespace needs once sidegate injects its pods
// (charts/sidegate/README.md "Pod Security Admission"). The controls below are the ones of the
// standards (kubernetes.io/docs/concepts/security/pod-security-standards) that the injected
// containers and volumes touch; the test pins the documented answer: the sidecar and the volumes
// meet "restricted", the init container fails "baseline" on exactly NET_ADMIN and NET_RAW (and
// "restricted" on running as root), so the namespace must enforce "privileged".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Container, Pod, Volume } from 'kubernetes-types/core/v1.js';
import { injectPod } from './inject-pod.js';
import { parseInjectionConfig } from '../config/injection-config.js';
import { applyJsonPatch } from '../../test/support/apply-json-patch.js';
import { INIT_CONTAINER_NAME, SIDECAR_CONTAINER_NAME } from './pod-markers.js';

// Baseline, "Capabilities": adding anything beyond these is disallowed.
const BASELINE_CAPABILITIES = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);
// Restricted, "Volume Types".
const RESTRICTED_VOLUME_TYPES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);

function baselineViolations(c: Container): string[] {
  const found: string[] = [];
  if (c.securityContext?.privileged) found.push('privileged');
  for (const capability of c.securityContext?.capabilities?.add ?? []) if (!BASELINE_CAPABILITIES.has(capability)) found.push(`adds ${capability}`);
  if (c.securityContext?.seccompProfile?.type === 'Unconfined') found.push('seccomp Unconfined');
  if (c.ports?.some((p) => p.hostPort)) found.push('hostPort');
  return found;
}

function restrictedViolations(c: Container, pod: Pod): string[] {
  const found = baselineViolations(c);
  const sc = c.securityContext ?? {};
  if (sc.allowPrivilegeEscalation !== false) found.push('allowPrivilegeEscalation not false');
  if ((sc.runAsNonRoot ?? pod.spec?.securityContext?.runAsNonRoot) !== true) found.push('runAsNonRoot not true');
  if ((sc.runAsUser ?? pod.spec?.securityContext?.runAsUser) === 0) found.push('runAsUser 0');
  const seccomp = sc.seccompProfile?.type ?? pod.spec?.securityContext?.seccompProfile?.type;
  if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') found.push('seccomp not RuntimeDefault/Localhost');
  if (!sc.capabilities?.drop?.includes('ALL')) found.push('does not drop ALL');
  for (const capability of sc.capabilities?.add ?? []) if (capability !== 'NET_BIND_SERVICE') found.push(`restricted: adds ${capability}`);
  return found;
}

function volumeTypes(volume: Volume): string[] {
  return Object.keys(volume).filter((k) => k !== 'name');
}

test('Pod Security: the sidecar and every injected volume meet "restricted"; only sidegate-init needs "privileged", for NET_ADMIN and NET_RAW', () => {
  const config = parseInjectionConfig({
    brokerUrl: 'https://broker.sidegate-system.svc',
    brokerCaConfigMap: 'sidegate-broker-ca',
    extraVolumes: [{ name: 'db-ca', secret: { secretName: 'db-ca' } }, { name: 'key', csi: { driver: 'secrets-store.csi.k8s.io' } }],
    extraVolumeMounts: [{ name: 'db-ca', mountPath: '/etc/db-ca' }, { name: 'key', mountPath: '/etc/key' }],
  });
  for (const sidecarMode of ['native', 'classic'] as const) {
    const pod: Pod = { metadata: { name: 'job' }, spec: { containers: [{ name: 'job', image: 'busybox' }] } };
    const result = injectPod({ pod, namespace: { name: 'ci', labels: { 'sidegate.dev/inject': 'enabled' } }, config: { ...config, sidecarMode }, operation: 'CREATE' });
    assert.equal(result.kind, 'inject');
    const patched = applyJsonPatch(pod, result.kind === 'inject' ? result.patch : []);
    const all = [...patched.spec!.initContainers!, ...patched.spec!.containers];
    const sidecar = all.find((c) => c.name === SIDECAR_CONTAINER_NAME)!;
    const init = all.find((c) => c.name === INIT_CONTAINER_NAME)!;
    assert.deepEqual(restrictedViolations(sidecar, patched), [], `${sidecarMode}: the sidecar meets restricted`);
    assert.deepEqual(baselineViolations(init), ['adds NET_ADMIN', 'adds NET_RAW'], `${sidecarMode}: the init container fails baseline on exactly these`);
    assert.deepEqual(restrictedViolations(init, patched).filter((v) => !v.includes('NET_')), ['runAsNonRoot not true', 'runAsUser 0']);
    for (const volume of patched.spec!.volumes!) {
      for (const type of volumeTypes(volume)) assert.ok(RESTRICTED_VOLUME_TYPES.has(type), `${volume.name}: ${type} is allowed under restricted`);
    }
  }
});
