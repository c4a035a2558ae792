// The approval broker as the chart deploys it, rendered by the real helm: replicas and store,
// disruption budget, probes and pod security, its own identity, Service and TLS, the broker.yaml
// it renders (accepted by the broker's own strict parser, every file it names mounted from the
// Secret the values say), the issuer-discovery binding, and the sidecars' default broker URL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { dirname } from 'node:path';
import { chartDirectory } from './repository-root.js';
import { runHelm } from './helm-binary.js';
import { renderChart, setArguments, variantRenderer, RELEASE_NAME, RELEASE_NAMESPACE, type KubernetesObject, type RenderedChart } from './rendered-chart.js';
import { validateAgainstKubernetesSchema } from './kubernetes-schema-validation.js';
import { labelSelectorMatches, type LabelSelector } from './label-selector.js';
import { brokerConfigSchema, parseBrokerConfigYaml, type BrokerConfig } from '../../broker/config/broker-config.js';
import { parseInjectionConfigYaml } from '../../webhook/config/injection-config.js';
import { injectPod } from '../../webhook/injection/inject-pod.js';
import { SIDECAR_CONTAINER_NAME } from '../../webhook/injection/pod-markers.js';
import { applyJsonPatch } from '../support/apply-json-patch.js';
import type { Pod } from 'kubernetes-types/core/v1.js';

const BROKER = `${RELEASE_NAME}-sidegate-broker`;
const BROKER_URL = `https://${BROKER}.${RELEASE_NAMESPACE}.svc:443`;

// Every broker value that reaches broker.yaml or a mounted Secret, set at once.
const everything = [
  'broker.config.publicUrl=https://approvals.example.com',
  'broker.config.approvers.oidc[0].issuer=https://login.example.com',
  'broker.config.approvers.oidc[0].clientId=sidegate',
  'broker.config.approvers.oidc[0].clientSecret.existingSecret=sidegate-oidc',
  'broker.config.approvers.oidc[0].clientSecret.key=client-secret',
  'broker.config.approvers.oidc[0].groupsClaim=roles',
  'broker.config.approvers.oidc[0].ca.existingSecret=corp-ca',
  'broker.config.approvers.oidc[0].ca.key=ca.pem',
  'broker.config.approvers.oidc[1].issuer=https://gitlab.example.com',
  'broker.config.approvers.oidc[1].clientId=sidegate-web',
  'broker.config.approvers.oidc[1].cliClientId=sidegate-cli',
  // Two issuers: each scopes the names and groups it vouches for.
  'broker.config.approvers.oidc[0].usernamePrefix=corp:',
  'broker.config.approvers.oidc[0].groupsPrefix=corp:',
  'broker.config.approvers.oidc[1].usernamePrefix=gitlab:',
  'broker.config.approvers.oidc[1].groupsPrefix=gitlab:',
  // Two issuers: a super-approver is an identity, never a name either issuer could give anyone.
  'broker.config.approvers.superApprovers[0].issuer=https://login.example.com',
  'broker.config.approvers.superApprovers[0].subject=alice-0a1b',
  'broker.config.approvers.superApprovers[1].issuer=https://gitlab.example.com',
  'broker.config.approvers.superApprovers[1].subject=u-42',
  'broker.config.notifications.slack.existingSecret=sidegate-slack',
  'broker.config.notifications.webhooks[0].url=https://hooks.example.com/sidegate',
  'broker.config.notifications.webhooks[0].existingSecret=sidegate-hooks',
  'broker.config.notifications.webhooks[0].key=hmac',
  'broker.config.notifications.webhooks[0].events={approval.decided}',
  'broker.store.postgres.existingSecret=approvals-db',
  'broker.store.postgres.key=url',
  'broker.store.postgres.ca.existingSecret=approvals-db-ca',
  'broker.store.postgres.maxConnections=25',
  'broker.session.existingSecret=approvals-session',
  'broker.config.maxPending=50',
  'broker.config.maxTimeout=30m',
  'broker.audit.otlpEndpoint=http://collector.observability:4318',
  'broker.audit.spool.sizeLimit=2Gi',
];

const variants = {
  default: [],
  everything,
  embedded: ['broker.store.kind=embedded', 'broker.store.embedded.size=5Gi', 'broker.store.embedded.storageClassName=fast'],
  sidecarsCollector: ['injection.otlpEndpoint=http://otel.monitoring:4318', 'broker.audit.spool.volume.ephemeral.volumeClaimTemplate.spec.accessModes={ReadWriteOnce}', 'broker.audit.spool.volume.ephemeral.volumeClaimTemplate.spec.resources.requests.storage=3Gi'],
  noBudget: ['broker.podDisruptionBudget.enabled=false'],
  disabled: ['broker.enabled=false'],
  disabledWithUrl: ['broker.enabled=false', 'injection.brokerUrl=https://approvals.example.com'],
  jwks: ['broker.config.requesters.kubernetes.discovery=false', 'broker.config.requesters.kubernetes.jwksUrl=https://oidc.example.com/keys'],
  certManager: ['tls.certManager.enabled=true'],
  certManagerWithIssuer: ['tls.certManager.enabled=true', 'tls.certManager.issuerRef.name=corp-ca', 'tls.certManager.issuerRef.kind=ClusterIssuer'],
  scrapedHardSpread: ['broker.metrics.scrapeAnnotations=true', 'broker.podAntiAffinity=hard', 'broker.replicas=3', 'policy.runnerNamespaces={ci-a,ci-b}'],
  customAudience: ['broker.config.requesters.kubernetes.audience=approvals-broker'],
  certManagerWithTrustBundle: ['tls.certManager.enabled=true', 'injection.brokerCaConfigMap=broker-trust-bundle'],
} satisfies Record<string, string[]>;
type Variant = keyof typeof variants;
const rendered = variantRenderer(variants);

type Workload = KubernetesObject & { spec: Record<string, any> };

function brokerWorkload(chart: RenderedChart): Workload {
  const workloads = [...chart.ofKind('Deployment', 'broker'), ...chart.ofKind('StatefulSet', 'broker')];
  assert.equal(workloads.length, 1, 'one broker workload');
  return workloads[0] as Workload;
}

function brokerConfigOf(chart: RenderedChart): BrokerConfig {
  return parseBrokerConfigYaml(chart.configMapData(BROKER, 'broker.yaml'), 'broker.yaml');
}

function injectionConfigOf(chart: RenderedChart) {
  return parseInjectionConfigYaml(chart.configMapData(`${RELEASE_NAME}-sidegate-injection`, 'injection.yaml'), 'injection.yaml');
}

/** Where a file the container sees comes from: Secret name and key, by mount path + item path. */
function secretFiles(workload: Workload): Map<string, { secret: string; key: string }> {
  const pod = workload.spec.template.spec;
  const container = pod.containers[0];
  const files = new Map<string, { secret: string; key: string }>();
  const claims = new Set((workload.spec.volumeClaimTemplates ?? []).map((c: KubernetesObject) => c.metadata.name));
  for (const mount of container.volumeMounts as Array<{ name: string; mountPath: string }>) {
    const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
    assert.ok(volume || claims.has(mount.name), `volume ${mount.name} exists`);
    if (!volume) continue;
    for (const item of volume.secret?.items ?? []) files.set(`${mount.mountPath}/${item.path}`, { secret: volume.secret.secretName, key: item.key });
  }
  return files;
}

test('helm lint --strict passes and every object validates, for every broker variant', () => {
  for (const [name, settings] of Object.entries(variants)) {
    const result = runHelm(['lint', chartDirectory, '--strict', ...setArguments(settings)]);
    assert.equal(result.status, 0, `helm lint (${name}):\n${result.stdout}${result.stderr}`);
    assert.doesNotMatch(result.stdout, /\[(WARNING|ERROR)\]/, `${name}: ${result.stdout}`);
    for (const object of rendered(name as Variant).objects) validateAgainstKubernetesSchema(object);
  }
});

test('default: a Deployment of 2 replicas on PostgreSQL, rolled without losing a ready replica, with its disruption budget', () => {
  const chart = rendered('default');
  const deployment = brokerWorkload(chart);
  assert.equal(deployment.kind, 'Deployment');
  assert.equal(deployment.metadata.name, BROKER);
  assert.equal(deployment.spec.replicas, 2);
  assert.deepEqual(deployment.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
  assert.equal(brokerConfigOf(chart).store.kind, 'postgres');
  const podLabels = deployment.spec.template.metadata.labels;
  assert.equal(labelSelectorMatches(deployment.spec.selector, podLabels), true);
  assert.equal(labelSelectorMatches(deployment.spec.selector, (chart.one('Deployment', 'webhook') as Workload).spec.template.metadata.labels), false, 'not the webhook pods');

  const budget = chart.one('PodDisruptionBudget', 'broker') as Workload;
  assert.equal(budget.spec.minAvailable, 1);
  assert.equal(labelSelectorMatches(budget.spec.selector, podLabels), true);
  assert.equal(chart.ofKind('PodDisruptionBudget', 'broker').length, 1);
  assert.equal(rendered('noBudget').ofKind('PodDisruptionBudget', 'broker').length, 0, 'podDisruptionBudget.enabled=false renders none');
  assert.equal(rendered('noBudget').ofKind('PodDisruptionBudget', 'webhook').length, 1, 'the webhook keeps its own');
  assert.equal(brokerWorkload(rendered('scrapedHardSpread')).spec.replicas, 3);
});

test('the broker pod: the command contract, HTTPS probes, non-root 7331, read-only, no capabilities, seccomp, spread by hostname', () => {
  const pod = brokerWorkload(rendered('default')).spec.template.spec;
  assert.deepEqual(pod.securityContext, { runAsNonRoot: true, runAsUser: 7331, runAsGroup: 7331, fsGroup: 7331, seccompProfile: { type: 'RuntimeDefault' } });
  assert.equal(pod.containers.length, 1);
  const container = pod.containers[0];
  assert.equal(container.image, 'sidegate:0.1.0');
  assert.deepEqual(container.args, ['broker', '--config', '/config/broker.yaml', '--tls-cert', '/tls/tls.crt', '--tls-key', '/tls/tls.key', '--port', '8443']);
  assert.deepEqual(container.ports, [{ name: 'https', containerPort: 8443, protocol: 'TCP' }]);
  assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port: 'https', scheme: 'HTTPS' });
  assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'https', scheme: 'HTTPS' });
  assert.deepEqual(container.securityContext, {
    runAsNonRoot: true,
    runAsUser: 7331,
    runAsGroup: 7331,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  });
  assert.deepEqual(container.resources, { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } });

  const labels = brokerWorkload(rendered('default')).spec.template.metadata.labels;
  const soft = pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
  assert.equal(soft[0].podAffinityTerm.topologyKey, 'kubernetes.io/hostname');
  assert.equal(labelSelectorMatches(soft[0].podAffinityTerm.labelSelector, labels), true);
  const hard = brokerWorkload(rendered('scrapedHardSpread')).spec.template.spec.affinity.podAntiAffinity;
  assert.equal(hard.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey, 'kubernetes.io/hostname');
  assert.equal(hard.preferredDuringSchedulingIgnoredDuringExecution, undefined);

  // The webhook never injects the broker: both entries' objectSelectors exclude app.kubernetes.io/name=sidegate,
  // even if the broker's pods were labelled to opt in.
  const webhooks = (rendered('default').one('MutatingWebhookConfiguration') as KubernetesObject & { webhooks: Array<{ objectSelector: LabelSelector }> }).webhooks;
  assert.equal(webhooks.length, 2);
  for (const { objectSelector } of webhooks) {
    assert.equal(labelSelectorMatches(objectSelector, labels), false);
    assert.equal(labelSelectorMatches(objectSelector, { ...labels, 'sidegate.dev/inject': 'enabled' }), false);
  }
});

test('scrape annotations only when asked for, pointing at /metrics over HTTPS', () => {
  assert.equal(brokerWorkload(rendered('default')).spec.template.metadata.annotations['prometheus.io/scrape'], undefined);
  const annotations = brokerWorkload(rendered('scrapedHardSpread')).spec.template.metadata.annotations;
  assert.equal(annotations['prometheus.io/scrape'], 'true');
  assert.equal(annotations['prometheus.io/scheme'], 'https');
  assert.equal(annotations['prometheus.io/port'], '8443');
  assert.equal(annotations['prometheus.io/path'], '/metrics');
});

test('its own ServiceAccount and Service (443 → https), selecting only broker pods', () => {
  const chart = rendered('default');
  const pod = brokerWorkload(chart).spec.template;
  const account = chart.one('ServiceAccount', 'broker');
  assert.equal(pod.spec.serviceAccountName, account.metadata.name);
  assert.notEqual(account.metadata.name, chart.one('ServiceAccount', 'webhook').metadata.name);
  const service = chart.one('Service', 'broker') as Workload;
  assert.equal(service.metadata.name, BROKER);
  assert.deepEqual(service.spec.ports, [{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }]);
  assert.equal(labelSelectorMatches({ matchLabels: service.spec.selector }, pod.metadata.labels), true);
  const webhookPod = (chart.one('Deployment', 'webhook') as Workload).spec.template;
  assert.equal(labelSelectorMatches({ matchLabels: service.spec.selector }, webhookPod.metadata.labels), false);
});

test('broker.yaml: accepted by the broker\'s own parser, every key set from values, every file it names mounted from the right Secret key', () => {
  const config = brokerConfigOf(rendered('everything'));
  assert.deepEqual(Object.keys(config).sort(), Object.keys(brokerConfigSchema.shape).sort(), 'the chart renders every key the broker reads');
  assert.equal(config.publicUrl, 'https://approvals.example.com');
  assert.deepEqual(config.store, { kind: 'postgres', connectionFile: '/secrets/store/connection-string', caFile: '/secrets/store-ca/ca.crt', maxConnections: 25 });
  assert.deepEqual(config.requesters, { kubernetes: { issuer: 'https://kubernetes.default.svc.cluster.local', audience: 'sidegate-broker', discovery: true } });
  assert.deepEqual(config.approvers, {
    oidc: [
      { issuer: 'https://login.example.com', clientId: 'sidegate', clientSecretFile: '/secrets/oidc-0/client-secret', caFile: '/secrets/oidc-0-ca/ca.crt', groupsClaim: 'roles', usernameClaim: 'preferred_username', scopes: ['groups'], usernamePrefix: 'corp:', groupsPrefix: 'corp:' },
      { issuer: 'https://gitlab.example.com', clientId: 'sidegate-web', cliClientId: 'sidegate-cli', groupsClaim: 'groups', usernameClaim: 'preferred_username', scopes: ['groups'], usernamePrefix: 'gitlab:', groupsPrefix: 'gitlab:' },
    ],
    superApprovers: [
      { issuer: 'https://login.example.com', subject: 'alice-0a1b' },
      { issuer: 'https://gitlab.example.com', subject: 'u-42' },
    ],
  });
  assert.deepEqual(config.notifications, {
    slack: { webhookUrlFile: '/secrets/slack/webhook-url' },
    webhooks: [{ url: 'https://hooks.example.com/sidegate', secretFile: '/secrets/webhook-0/secret', events: ['approval.decided'] }],
  });
  assert.equal(config.session.secretFile, '/secrets/session/session-secret');
  assert.equal(config.maxPending, 50);
  assert.equal(config.maxTimeout, 30 * 60_000);

  const files = secretFiles(brokerWorkload(rendered('everything')));
  const expected: Array<[string, string, string]> = [
    [config.store.kind === 'postgres' ? config.store.connectionFile : '', 'approvals-db', 'url'],
    [config.store.kind === 'postgres' ? config.store.caFile! : '', 'approvals-db-ca', 'ca.crt'],
    [config.approvers.oidc[0]!.clientSecretFile!, 'sidegate-oidc', 'client-secret'],
    [config.approvers.oidc[0]!.caFile!, 'corp-ca', 'ca.pem'],
    [config.notifications.slack!.webhookUrlFile, 'sidegate-slack', 'webhook-url'],
    [config.notifications.webhooks[0]!.secretFile, 'sidegate-hooks', 'hmac'],
    [config.session.secretFile, 'approvals-session', 'session-secret'],
    ['/tls/tls.crt', `${BROKER}-tls`, 'tls.crt'],
    ['/tls/tls.key', `${BROKER}-tls`, 'tls.key'],
  ];
  for (const [path, secret, key] of expected) assert.deepEqual(files.get(path), { secret, key }, path);
  assert.equal(files.size, expected.length, 'no Secret is mounted that broker.yaml does not name');
  // Each Secret key sits alone in its own directory: a file can never be read under another's name.
  const directories = [...files.keys()].filter((p) => !p.startsWith('/tls/')).map((p) => dirname(p));
  assert.equal(new Set(directories).size, directories.length);
  assert.equal(rendered('everything').ofKind('Secret', 'broker').filter((s) => s.metadata.name.endsWith('-session')).length, 0, 'an existing session Secret is not generated');

  // The defaults parse too, and a changed configuration rolls the broker.
  const defaults = brokerConfigOf(rendered('default'));
  assert.equal(defaults.publicUrl, `https://${BROKER}.${RELEASE_NAMESPACE}.svc`);
  assert.deepEqual(defaults.approvers, { oidc: [], superApprovers: [] });
  assert.deepEqual(secretFiles(brokerWorkload(rendered('default'))).get('/secrets/store/connection-string'), { secret: 'sidegate-broker-postgres', key: 'connection-string' });
  const checksum = (chart: RenderedChart) => brokerWorkload(chart).spec.template.metadata.annotations['checksum/broker-config'];
  assert.match(checksum(rendered('default')), /^[0-9a-f]{64}$/);
  assert.notEqual(checksum(rendered('default')), checksum(rendered('everything')));
});

test('embedded store: a StatefulSet of exactly one replica whose PVC holds /data, and no disruption budget', () => {
  const chart = rendered('embedded');
  assert.equal(chart.ofKind('Deployment', 'broker').length, 0);
  const set = chart.one('StatefulSet', 'broker') as Workload;
  assert.equal(set.spec.replicas, 1, 'PGlite has one writer, whatever broker.replicas says');
  assert.equal(set.spec.serviceName, chart.one('Service', 'broker').metadata.name);
  assert.equal(labelSelectorMatches(set.spec.selector, set.spec.template.metadata.labels), true);
  assert.equal(set.spec.volumeClaimTemplates.length, 1);
  const claim = set.spec.volumeClaimTemplates[0];
  assert.equal(claim.metadata.name, 'data');
  assert.deepEqual(claim.spec.accessModes, ['ReadWriteOnce']);
  assert.equal(claim.spec.resources.requests.storage, '5Gi');
  assert.equal(claim.spec.storageClassName, 'fast');
  const container = set.spec.template.spec.containers[0];
  assert.ok(container.volumeMounts.some((m: { name: string; mountPath: string }) => m.name === 'data' && m.mountPath === '/data'));
  assert.equal(set.spec.template.spec.securityContext.fsGroup, 7331, 'the volume is writable by the non-root broker');

  const config = brokerConfigOf(chart);
  assert.deepEqual(config.store, { kind: 'embedded', dataDir: '/data' });
  assert.equal([...secretFiles(set).values()].some((f) => f.secret === 'sidegate-broker-postgres'), false, 'no PostgreSQL Secret is mounted');
  assert.equal(chart.ofKind('PodDisruptionBudget', 'broker').length, 0, 'minAvailable 1 of 1 would block every node drain');
});

test('broker.enabled=false: no broker object, and the sidecars\' broker URL stays as given', () => {
  for (const variant of ['disabled', 'disabledWithUrl'] as const) {
    assert.deepEqual(rendered(variant).ofKind('Deployment', 'broker').concat(rendered(variant).objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'broker')), [], variant);
    assert.equal(rendered(variant).objects.some((o) => o.metadata.name.includes('broker')), false, variant);
  }
  assert.equal(injectionConfigOf(rendered('disabled')).brokerUrl, undefined);
  assert.equal(injectionConfigOf(rendered('disabledWithUrl')).brokerUrl, 'https://approvals.example.com');
  assert.equal(injectionConfigOf(rendered('default')).brokerUrl, BROKER_URL, 'enabled and not given: this release\'s broker Service');
});

test('generated TLS: the broker\'s own CA signs a certificate for the broker Service\'s names; the sidecars get that CA', () => {
  const chart = rendered('scrapedHardSpread');
  const secrets = chart.ofKind('Secret', 'broker');
  assert.deepEqual(secrets.map((s) => s.metadata.name).sort(), [`${BROKER}-session`, `${BROKER}-tls`]);
  const secret = secrets.find((s) => s.metadata.name === `${BROKER}-tls`) as KubernetesObject & { type: string; data: Record<string, string> };
  assert.equal(secret.type, 'kubernetes.io/tls');
  const ca = new X509Certificate(Buffer.from(secret.data['ca.crt']!, 'base64'));
  const certificate = new X509Certificate(Buffer.from(secret.data['tls.crt']!, 'base64'));
  assert.equal(ca.ca, true);
  assert.equal(certificate.verify(ca.publicKey), true);
  assert.equal(certificate.checkPrivateKey(createPrivateKey(Buffer.from(secret.data['tls.key']!, 'base64'))), true);
  for (const name of [BROKER, `${BROKER}.${RELEASE_NAMESPACE}`, `${BROKER}.${RELEASE_NAMESPACE}.svc`, `${BROKER}.${RELEASE_NAMESPACE}.svc.cluster.local`]) {
    assert.equal(certificate.checkHost(name), name, `certificate covers ${name}`);
  }
  assert.equal(new URL(BROKER_URL).hostname, `${BROKER}.${RELEASE_NAMESPACE}.svc`, 'the sidecars\' URL is one of them');
  assert.equal(certificate.checkHost(`${RELEASE_NAME}-sidegate-webhook.${RELEASE_NAMESPACE}.svc`), undefined, 'not the webhook\'s');
  const webhookCa = (chart.one('MutatingWebhookConfiguration') as KubernetesObject & { webhooks: Array<{ clientConfig: { caBundle: string } }> }).webhooks[0]!.clientConfig.caBundle;
  assert.notEqual(webhookCa, secret.data['ca.crt'], 'trusting the broker does not mean trusting the webhook\'s CA');

  const caConfigMaps = chart.ofKind('ConfigMap', 'broker').filter((c) => c.metadata.name === 'sidegate-broker-ca');
  assert.deepEqual(caConfigMaps.map((c) => c.metadata.namespace).sort(), ['ci-a', 'ci-b', RELEASE_NAMESPACE]);
  for (const configMap of caConfigMaps) {
    assert.equal(new X509Certificate(chart.configMapData('sidegate-broker-ca', 'ca.crt', configMap.metadata.namespace)).fingerprint256, ca.fingerprint256);
  }
});

test('an injected sidecar trusts this release\'s broker by its CA ConfigMap and presents a token of the audience it verifies', () => {
  const chart = rendered('scrapedHardSpread');
  const config = injectionConfigOf(chart);
  assert.equal(config.brokerUrl, BROKER_URL);
  assert.equal(config.brokerCaConfigMap, 'sidegate-broker-ca');
  assert.equal(config.brokerTokenAudience, brokerConfigOf(chart).requesters.kubernetes!.audience);
  assert.notEqual(config.brokerTokenAudience, config.tokenAudience);

  // What the webhook makes of a runner pod in a runner namespace with exactly this file.
  const pod: Pod = { metadata: { name: 'job' }, spec: { containers: [{ name: 'job', image: 'postgres:15' }] } };
  const result = injectPod({ pod, namespace: { name: 'ci-a', labels: { 'sidegate.dev/inject': 'enabled' } }, config, operation: 'CREATE' });
  assert.equal(result.kind, 'inject');
  const patched = applyJsonPatch(pod, result.kind === 'inject' ? result.patch : []);
  const sidecar = patched.spec!.initContainers!.find((c) => c.name === SIDECAR_CONTAINER_NAME)!;
  const volumes = new Map(patched.spec!.volumes!.map((v) => [v.name, v]));
  const mountOf = (file: string) => sidecar.volumeMounts!.find((m) => file.startsWith(`${m.mountPath}/`))!;

  const caFile = sidecar.env!.find((e) => e.name === 'NODE_EXTRA_CA_CERTS')!.value!;
  const caMount = mountOf(caFile);
  const caSource = volumes.get(caMount.name)!.configMap!;
  const caItem = caSource.items!.find((i) => `${caMount.mountPath}/${i.path}` === caFile)!;
  const tlsSecret = chart.ofKind('Secret', 'broker').find((s) => s.metadata.name === `${BROKER}-tls`) as KubernetesObject & { data: Record<string, string> };
  assert.equal(
    new X509Certificate(chart.configMapData(caSource.name!, caItem.key, 'ci-a')).fingerprint256,
    new X509Certificate(Buffer.from(tlsSecret.data['ca.crt']!, 'base64')).fingerprint256,
    'the file NODE_EXTRA_CA_CERTS names is the CA of the broker\'s certificate, rendered in the runner namespace',
  );

  const args = sidecar.args!;
  const brokerTokenFile = args[args.indexOf('--broker-token-file') + 1]!;
  const tokenMount = mountOf(brokerTokenFile);
  const brokerToken = volumes.get(tokenMount.name)!.projected!.sources!.find((s) => `${tokenMount.mountPath}/${s.serviceAccountToken?.path}` === brokerTokenFile)!;
  assert.equal(brokerToken.serviceAccountToken!.audience, 'sidegate-broker', 'the audience broker.yaml verifies');
  assert.equal(args[args.indexOf('--broker-url') + 1], BROKER_URL);

  const runner = patched.spec!.containers.find((c) => c.name === 'job')!;
  assert.equal(runner.env, undefined, 'the runner gets no NODE_EXTRA_CA_CERTS');
  assert.equal(runner.volumeMounts, undefined, 'nor the CA or either token');

  assert.equal(injectionConfigOf(rendered('customAudience')).brokerTokenAudience, 'approvals-broker', 'follows broker.config.requesters.kubernetes.audience');
});

test('the sidecars\' broker CA and token audience when the broker is not this release\'s or its TLS is cert-manager\'s', () => {
  const certManager = injectionConfigOf(rendered('certManager'));
  assert.equal(certManager.brokerCaConfigMap, undefined, 'no chart-rendered CA ConfigMap to name; trust-manager\'s is named explicitly');
  assert.equal(certManager.brokerTokenAudience, 'sidegate-broker');
  assert.equal(injectionConfigOf(rendered('certManagerWithTrustBundle')).brokerCaConfigMap, 'broker-trust-bundle');
  for (const variant of ['disabled', 'disabledWithUrl'] as const) {
    const config = injectionConfigOf(rendered(variant));
    assert.equal(config.brokerCaConfigMap, undefined, variant);
    assert.equal(config.brokerTokenAudience, 'sidegate-broker', `${variant}: the webhook's default`);
  }
  const external = injectionConfigOf(renderChart(['injection.brokerUrl=https://approvals.example.com', 'injection.brokerCaConfigMap=corp-ca', 'injection.brokerTokenAudience=approvals.example.com']));
  assert.deepEqual([external.brokerUrl, external.brokerCaConfigMap, external.brokerTokenAudience], ['https://approvals.example.com', 'corp-ca', 'approvals.example.com']);
});

test('a broker CA without a broker, or one audience for both tokens, fails the render', () => {
  const cases: Array<[string[], RegExp]> = [
    [['broker.enabled=false', 'injection.brokerCaConfigMap=corp-ca'], /injection\.brokerCaConfigMap is set, but no broker is/],
    [['injection.tokenAudience=sidegate-broker'], /token audience "sidegate-broker" equals injection\.tokenAudience/],
    [['injection.brokerTokenAudience=sidegate'], /token audience "sidegate" equals injection\.tokenAudience/],
  ];
  for (const [settings, expected] of cases) {
    const result = runHelm(['template', RELEASE_NAME, chartDirectory, '--namespace', RELEASE_NAMESPACE, ...setArguments(settings)]);
    assert.notEqual(result.status, 0, `${settings.join(' ')} should fail`);
    assert.match(result.stderr, expected, settings.join(' '));
  }
});

test('cert-manager TLS: a broker Certificate for the Service\'s names from the chart CA or the given issuer', () => {
  const chart = rendered('certManager');
  assert.equal(chart.ofKind('Secret', 'broker').filter((s) => s.metadata.name.endsWith('-tls')).length, 0);
  assert.equal(chart.ofKind('ConfigMap', 'broker').filter((c) => c.metadata.name === 'sidegate-broker-ca').length, 0, 'cert-manager\'s CA is distributed by trust-manager, not rendered');
  const certificate = chart.one('Certificate', 'broker') as Workload;
  assert.deepEqual(certificate.spec.dnsNames, [BROKER, `${BROKER}.${RELEASE_NAMESPACE}`, `${BROKER}.${RELEASE_NAMESPACE}.svc`, `${BROKER}.${RELEASE_NAMESPACE}.svc.cluster.local`]);
  assert.ok(certificate.spec.usages.includes('server auth'));
  const caIssuer = chart.ofKind('Issuer').find((i) => (i as Workload).spec.ca) as Workload;
  assert.deepEqual(certificate.spec.issuerRef, { group: 'cert-manager.io', kind: 'Issuer', name: caIssuer.metadata.name }, 'the same CA as the webhook\'s');
  const tlsVolume = brokerWorkload(chart).spec.template.spec.volumes.find((v: { name: string }) => v.name === 'tls');
  assert.equal(tlsVolume.secret.secretName, certificate.spec.secretName);
  assert.deepEqual((rendered('certManagerWithIssuer').one('Certificate', 'broker') as Workload).spec.issuerRef, { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'corp-ca' });
});

test('session key: generated (at least 32 bytes) when no Secret is named, and mounted', () => {
  const chart = rendered('default');
  const secret = chart.ofKind('Secret', 'broker').find((s) => s.metadata.name === `${BROKER}-session`) as KubernetesObject & { data: Record<string, string> };
  assert.ok(secret, 'session Secret rendered');
  assert.ok(Buffer.from(secret.data['session-secret']!, 'base64').length >= 32);
  assert.deepEqual(secretFiles(brokerWorkload(chart)).get(brokerConfigOf(chart).session.secretFile), { secret: secret.metadata.name, key: 'session-secret' });
});

test('issuer discovery: the ServiceAccount is bound to system:service-account-issuer-discovery only when discovery is on', () => {
  const chart = rendered('default');
  const binding = chart.one('ClusterRoleBinding', 'broker') as KubernetesObject & { roleRef: Record<string, string>; subjects: Array<Record<string, string>> };
  assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:service-account-issuer-discovery' });
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: chart.one('ServiceAccount', 'broker').metadata.name, namespace: RELEASE_NAMESPACE }]);
  assert.equal(chart.ofKind('ClusterRole', 'broker').length, 0, 'no permission of its own beyond the built-in role');
  assert.equal(brokerWorkload(chart).spec.template.spec.automountServiceAccountToken, true);

  const jwks = rendered('jwks');
  assert.equal(jwks.ofKind('ClusterRoleBinding', 'broker').length, 0);
  assert.equal(brokerWorkload(jwks).spec.template.spec.automountServiceAccountToken, false, 'no token it has no use for');
  assert.equal((jwks.one('ServiceAccount', 'broker') as KubernetesObject & { automountServiceAccountToken: boolean }).automountServiceAccountToken, false);
  assert.deepEqual(brokerConfigOf(jwks).requesters.kubernetes, { issuer: 'https://kubernetes.default.svc.cluster.local', audience: 'sidegate-broker', discovery: false, jwksUrl: 'https://oidc.example.com/keys' });
});

test('values.schema.json rejects bad broker values before anything renders', () => {
  const cases: Array<[string[], RegExp]> = [
    [['broker.store.kind=sqlite'], /kind/],
    [['broker.replicas=0'], /replicas/],
    [['broker.config.publicUrl=http://approvals.example.com'], /publicUrl/],
    [['broker.config.requesters.kubernetes.discovery=false'], /jwksUrl/],
    [['broker.config.requesters.kubernetes.jwksUrl=https://k/keys'], /jwksUrl/],
    [['broker.config.maxTimeout=forever'], /maxTimeout/],
    [['broker.config.notifications.webhooks[0].url=https://h', 'broker.config.notifications.webhooks[0].existingSecret=s', 'broker.config.notifications.webhooks[0].key=k', 'broker.config.notifications.webhooks[0].events={approval.expired}'], /events/],
    [['broker.config.approvers.oidc[0].issuer=https://login.example.com'], /clientId/],
    // Two issuers unscoped: refused at render, before a broker that would refuse to start.
    [['broker.config.approvers.oidc[0].issuer=https://a.example.com', 'broker.config.approvers.oidc[0].clientId=a', 'broker.config.approvers.oidc[1].issuer=https://b.example.com', 'broker.config.approvers.oidc[1].clientId=b', 'broker.config.approvers.oidc[1].usernamePrefix=b:', 'broker.config.approvers.oidc[1].groupsPrefix=b:'], /usernamePrefix/],
    [['broker.config.approvers.oidc[0].issuer=https://a.example.com', 'broker.config.approvers.oidc[0].clientId=a', 'broker.config.approvers.oidc[0].usernamePrefix=a b'], /usernamePrefix/],
    [['broker.store.postgres.existingSecret=Not_A_Name'], /existingSecret/],
    [['broker.podDisruptionBudget.enabled=maybe'], /enabled/],
    [['broker.replica=3'], /replica/],
    [['injection.brokerCaConfigMap=Broker_CA'], /brokerCaConfigMap/],
  ];
  for (const [settings, expected] of cases) {
    const result = runHelm(['template', RELEASE_NAME, chartDirectory, '--namespace', RELEASE_NAMESPACE, ...setArguments(settings)]);
    assert.notEqual(result.status, 0, `${settings.join(' ')} should fail`);
    assert.match(result.stderr, /schema/, settings.join(' '));
    assert.match(result.stderr, expected, settings.join(' '));
  }
});

test('evidence: broker.yaml names /audit, a writable spool volume is mounted there, OTEL_EXPORTER_OTLP_ENDPOINT is the collector', () => {
  const env = (chart: RenderedChart) => brokerWorkload(chart).spec.template.spec.containers[0].env as Array<{ name: string; value: string }> | undefined;
  const auditVolume = (chart: RenderedChart) => {
    const pod = brokerWorkload(chart).spec.template.spec;
    const mount = pod.containers[0].volumeMounts.find((m: { name: string }) => m.name === 'audit');
    assert.equal(mount.mountPath, brokerConfigOf(chart).audit.stateDir, 'the spool is where broker.yaml says');
    assert.equal(mount.readOnly, undefined, 'writable');
    return pod.volumes.find((v: { name: string }) => v.name === 'audit');
  };
  assert.equal(brokerConfigOf(rendered('default')).audit.stateDir, '/audit');
  assert.deepEqual(auditVolume(rendered('default')), { name: 'audit', emptyDir: { sizeLimit: '1Gi' } });
  assert.equal(env(rendered('default')), undefined, 'no collector anywhere: the spool volume holds the file');
  assert.deepEqual(auditVolume(rendered('everything')), { name: 'audit', emptyDir: { sizeLimit: '2Gi' } });
  assert.deepEqual(env(rendered('everything')), [{ name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://collector.observability:4318' }]);
  // The sidecars' collector by default, and any volume source in place of the emptyDir.
  assert.deepEqual(env(rendered('sidecarsCollector')), [{ name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://otel.monitoring:4318' }]);
  assert.deepEqual(auditVolume(rendered('sidecarsCollector')), {
    name: 'audit',
    ephemeral: { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '3Gi' } } } } },
  });
  assert.ok(auditVolume(rendered('embedded')).emptyDir, 'the embedded store too');
});
