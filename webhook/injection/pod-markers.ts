// The labels and annotations that steer injection (docs: DESIGN.md "Conventions"). One place so
// that the webhook, the chart's selectors and the tests agree on every spelling.
export const NAMESPACE_INJECT_LABEL = 'sidegate.dev/inject';
export const NAMESPACE_INJECT_ENABLED = 'enabled';
/** The pod label that opts in (a namespace without the label) or out (a labelled namespace), as Istio's does. */
export const POD_INJECT_LABEL = 'sidegate.dev/inject';
export const POD_INJECT_LABEL_ENABLED = 'enabled';
export const POD_INJECT_LABEL_DISABLED = 'disabled';
/** The older per-pod switch ("true"/"false"); the chart's selectors see labels only (webhook/README.md). */
export const POD_INJECT_ANNOTATION = 'sidegate.dev/inject';
export const POD_STATUS_ANNOTATION = 'sidegate.dev/status';
export const POD_SIDECAR_MODE_ANNOTATION = 'sidegate.dev/sidecar-mode';
export const INCLUDE_PORTS_ANNOTATION = 'traffic.sidegate.dev/include-outbound-ports';
export const EXCLUDE_PORTS_ANNOTATION = 'traffic.sidegate.dev/exclude-outbound-ports';
export const EXCLUDE_CIDRS_ANNOTATION = 'traffic.sidegate.dev/exclude-outbound-ip-ranges';

/** The injector's own pods carry these labels (set by the chart) and are never injected. */
export const INJECTOR_NAME_LABEL = ['app.kubernetes.io/name', 'sidegate'] as const;
export const INJECTOR_COMPONENT_LABEL = ['app.kubernetes.io/component', 'webhook'] as const;

/** Names of everything the patch adds; a pod that already uses one of them cannot be injected. */
export const INIT_CONTAINER_NAME = 'sidegate-init';
export const SIDECAR_CONTAINER_NAME = 'sidegate';
export const VOLUME_NAMES = {
  token: 'sidegate-token',
  podinfo: 'sidegate-podinfo',
  policy: 'sidegate-policy',
  credentials: 'sidegate-credentials',
  state: 'sidegate-state',
  initTmp: 'sidegate-init-tmp',
  brokerCa: 'sidegate-broker-ca',
  exchangeCa: 'sidegate-exchange-ca',
} as const;

/** Per-pod annotations for the injected sidecar itself (like traffic.sidegate.dev/* for capture). */
export const SIDECAR_ANNOTATION_PREFIX = 'sidecar.sidegate.dev/';
export const SIDECAR_ANNOTATIONS = {
  cpuRequest: 'sidecar.sidegate.dev/cpu-request',
  cpuLimit: 'sidecar.sidegate.dev/cpu-limit',
  memoryRequest: 'sidecar.sidegate.dev/memory-request',
  memoryLimit: 'sidecar.sidegate.dev/memory-limit',
  logLevel: 'sidecar.sidegate.dev/log-level',
} as const;

/**
 * Environment variables the webhook sets on the sidecar (some only with brokerCaConfigMap,
 * otlpEndpoint or a log level). The configuration's extraEnv may not name them: a second entry
 * would silently win or lose depending on the order.
 */
export const SIDECAR_ENV_NAMES = [
  'SIDEGATE_POD_NAME',
  'SIDEGATE_POD_NAMESPACE',
  'SIDEGATE_POD_UID',
  'SIDEGATE_NODE_NAME',
  'SIDEGATE_SERVICE_ACCOUNT',
  'SIDEGATE_PODINFO_DIR',
  'SIDEGATE_LOG_LEVEL',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'NODE_EXTRA_CA_CERTS',
] as const;

/** Paths inside the sidecar container. */
export const SIDECAR_PATHS = {
  tokenDir: '/var/run/secrets/sidegate',
  tokenFile: '/var/run/secrets/sidegate/token',
  /** In the token volume beside the identity token, minted for the broker's audience. */
  brokerTokenFile: '/var/run/secrets/sidegate/broker-token',
  /** In the token volume too, minted for the token exchange's audience. */
  exchangeTokenFile: '/var/run/secrets/sidegate/exchange-token',
  exchangeCaDir: '/etc/sidegate/exchange-ca',
  exchangeCaFile: '/etc/sidegate/exchange-ca/ca.crt',
  brokerCaDir: '/etc/sidegate/broker-ca',
  brokerCaFile: '/etc/sidegate/broker-ca/ca.crt',
  podinfoDir: '/etc/sidegate/podinfo',
  policyDir: '/etc/sidegate/policy',
  policyFile: '/etc/sidegate/policy/policy.yaml',
  credentialsDir: '/etc/sidegate/credentials',
  credentialsFile: '/etc/sidegate/credentials/credentials.yaml',
  stateDir: '/var/run/sidegate',
} as const;

/** Where the sidecar mounts sidegate's own volumes; extra mounts may not be at, above or below any. */
export const SIDECAR_MOUNT_DIRS = [
  SIDECAR_PATHS.tokenDir,
  SIDECAR_PATHS.podinfoDir,
  SIDECAR_PATHS.policyDir,
  SIDECAR_PATHS.credentialsDir,
  SIDECAR_PATHS.stateDir,
  SIDECAR_PATHS.brokerCaDir,
] as const;

/** Bumped when the shape of the injected spec changes, so operators can tell old pods apart. */
export const INJECTION_TEMPLATE_VERSION = 1;
