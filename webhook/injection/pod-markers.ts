// The labels and annotations that steer injection (docs: DESIGN.md "Conventions"). One place so
// that the webhook, the chart's selectors and the tests agree on every spelling.
export const NAMESPACE_INJECT_LABEL = 'sidegate.dev/inject';
export const NAMESPACE_INJECT_ENABLED = 'enabled';
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

/** Bumped when the shape of the injected spec changes, so operators can tell old pods apart. */
export const INJECTION_TEMPLATE_VERSION = 1;
