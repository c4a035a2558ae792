// The two containers the patch adds: `sidegate-init`, which installs the redirect rules and exits,
// and `sidegate`, the proxy itself. Both use the image's entrypoint (the `sidegate` CLI), so only
// args are set here; the preStop hook needs an executable, hence `sidegate` on the image's PATH.
import type { Container } from 'kubernetes-types/core/v1.js';
import type { InjectionConfig } from '../config/injection-config.js';
import type { TrafficSettings } from './traffic-settings.js';
import type { SidecarSettings } from './sidecar-annotations.js';
import { auditSpoolBytes } from './audit-volume.js';
import { INIT_CONTAINER_NAME, SIDECAR_CONTAINER_NAME, SIDECAR_PATHS, VOLUME_NAMES } from './pod-markers.js';

export type SidecarMode = 'native' | 'classic';

export function buildInitContainer(config: InjectionConfig, traffic: TrafficSettings): Container {
  const args = [
    'init',
    '--capture-port', String(config.capturePort),
    '--uid', String(config.uid),
    '--gid', String(config.gid),
    '--include-ports', traffic.includePorts === '*' ? '*' : traffic.includePorts.join(','),
  ];
  if (traffic.excludePorts.length > 0) args.push('--exclude-ports', traffic.excludePorts.join(','));
  if (traffic.excludeCidrs.length > 0) args.push('--exclude-cidrs', traffic.excludeCidrs.join(','));
  return {
    name: INIT_CONTAINER_NAME,
    image: config.image,
    imagePullPolicy: config.imagePullPolicy,
    args,
    // iptables takes a lock file under /run, which a read-only root filesystem does not allow.
    env: [{ name: 'XTABLES_LOCKFILE', value: '/tmp/xtables.lock' }],
    resources: structuredClone(config.resources),
    securityContext: {
      // Installing nat rules needs root with NET_ADMIN/NET_RAW in the pod's network namespace;
      // nothing else, and the container exits before any runner container starts.
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [{ name: VOLUME_NAMES.initTmp, mountPath: '/tmp' }],
  };
}

export function buildSidecarContainer(config: InjectionConfig, mode: SidecarMode, settings: SidecarSettings): Container {
  const args = [
    'sidecar',
    '--policy', SIDECAR_PATHS.policyFile,
    // A Secret volume's files are root-owned and world-readable (0444) so uid 7331 can read them;
    // the volume is mounted into the sidecar alone, so the file-mode check is meaningless there.
    ...(config.credentialsSecret ? ['--credentials', SIDECAR_PATHS.credentialsFile, '--credentials-from-secret'] : []),
    '--token-file', SIDECAR_PATHS.tokenFile,
    '--state-dir', SIDECAR_PATHS.stateDir,
    '--capture-port', String(config.capturePort),
    '--admin-port', String(config.adminPort),
    // The bound the state volume's sizeLimit is made from (audit-volume.ts): the two agree.
    '--audit-spool-max-bytes', String(auditSpoolBytes(config)),
  ];
  if (config.brokerUrl) args.push('--broker-url', config.brokerUrl, '--broker-token-file', SIDECAR_PATHS.brokerTokenFile);
  if (config.exchangeUrl) {
    args.push('--exchange-url', config.exchangeUrl, '--exchange-token-file', SIDECAR_PATHS.exchangeTokenFile);
    if (config.exchangeCaConfigMap) args.push('--exchange-ca-file', SIDECAR_PATHS.exchangeCaFile);
  }
  const env: NonNullable<Container['env']> = [
    { name: 'SIDEGATE_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'SIDEGATE_POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: 'SIDEGATE_POD_UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
    // With the three above, the Resource of the pod's spans (k8s.node.name).
    { name: 'SIDEGATE_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
    { name: 'SIDEGATE_SERVICE_ACCOUNT', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
    { name: 'SIDEGATE_PODINFO_DIR', value: SIDECAR_PATHS.podinfoDir },
  ];
  if (config.otlpEndpoint) env.push({ name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: config.otlpEndpoint });
  // Node adds this file to its trusted roots when the process starts, which covers the broker
  // client's fetch; the sidecar is the only container that gets it.
  if (config.brokerCaConfigMap) env.push({ name: 'NODE_EXTRA_CA_CERTS', value: SIDECAR_PATHS.brokerCaFile });
  if (settings.logLevel) env.push({ name: 'SIDEGATE_LOG_LEVEL', value: settings.logLevel });
  // The operator's own last, so they can refer to ours as $(SIDEGATE_POD_NAME); names never repeat
  // (the configuration refuses a name of ours).
  env.push(...structuredClone(config.extraEnv));
  const volumeMounts: NonNullable<Container['volumeMounts']> = [
    { name: VOLUME_NAMES.token, mountPath: SIDECAR_PATHS.tokenDir, readOnly: true },
    { name: VOLUME_NAMES.podinfo, mountPath: SIDECAR_PATHS.podinfoDir, readOnly: true },
    { name: VOLUME_NAMES.policy, mountPath: SIDECAR_PATHS.policyDir, readOnly: true },
    ...(config.credentialsSecret ? [{ name: VOLUME_NAMES.credentials, mountPath: SIDECAR_PATHS.credentialsDir, readOnly: true }] : []),
    { name: VOLUME_NAMES.state, mountPath: SIDECAR_PATHS.stateDir },
  ];
  if (config.brokerCaConfigMap) volumeMounts.push({ name: VOLUME_NAMES.brokerCa, mountPath: SIDECAR_PATHS.brokerCaDir, readOnly: true });
  if (config.exchangeCaConfigMap) volumeMounts.push({ name: VOLUME_NAMES.exchangeCa, mountPath: SIDECAR_PATHS.exchangeCaDir, readOnly: true });
  volumeMounts.push(...structuredClone(config.extraVolumeMounts));
  const container: Container = {
    name: SIDECAR_CONTAINER_NAME,
    image: config.image,
    imagePullPolicy: config.imagePullPolicy,
    args,
    env,
    ports: [
      { name: 'sg-capture', containerPort: config.capturePort, protocol: 'TCP' },
      { name: 'sg-admin', containerPort: config.adminPort, protocol: 'TCP' },
    ],
    // The runner's first connection must find the sidecar listening: for a native sidecar the
    // kubelet starts the next container only once this probe passes.
    startupProbe: { httpGet: { path: '/readyz', port: config.adminPort }, periodSeconds: 1, failureThreshold: 60 },
    livenessProbe: { httpGet: { path: '/healthz', port: config.adminPort }, periodSeconds: 10, failureThreshold: 3 },
    // Finish in-flight commands (and flush audit) before the container is stopped.
    lifecycle: { preStop: { exec: { command: ['sidegate', 'drain', '--admin-port', String(config.adminPort)] } } },
    resources: settings.resources,
    securityContext: {
      runAsUser: config.uid,
      runAsGroup: config.gid,
      runAsNonRoot: true,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts,
  };
  // A native sidecar is an init container that keeps running; the kubelet stops it after the
  // runner containers exit, so Jobs complete.
  return mode === 'native' ? { ...container, restartPolicy: 'Always' } : container;
}
