// The token exchange as the chart deploys it, rendered by the real helm: off by default; on, a
// Deployment of two replicas with its disruption budget, probes and pod security, its own
// identity, Service and TLS, the exchange.yaml it renders (accepted by the exchange's own strict
// parser, every file it names mounted from the Secret key the values say, one key per directory),
// its audit spool and collector, the issuer-discovery binding, and the sidecars' exchange URL, CA
// and token audience in the injection configuration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { dirname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { chartDirectory } from './repository-root.js';
import { runHelm } from './helm-binary.js';
import { EXCHANGE_MINIMAL_VALUES, renderChart, setArguments, variantRenderer, RELEASE_NAME, RELEASE_NAMESPACE, type KubernetesObject, type RenderedChart } from './rendered-chart.js';
import { validateAgainstKubernetesSchema } from './kubernetes-schema-validation.js';
import { labelSelectorMatches, type LabelSelector } from './label-selector.js';
import { exchangeConfigSchema, parseExchangeConfigYaml, type ExchangeConfig } from '../../exchange/config/exchange-config.js';

const EXCHANGE = `${RELEASE_NAME}-sidegate-exchange`;
const EXCHANGE_URL = `https://${EXCHANGE}.${RELEASE_NAMESPACE}.svc:443`;
const CLUSTER_ISSUER = 'https://kubernetes.default.svc.cluster.local';

// The least an enabled exchange needs: one target, one grant.
const minimal = [...EXCHANGE_MINIMAL_VALUES];

// Every exchange value that reaches exchange.yaml or a mounted Secret, set at once.
const everything = [
  ...minimal,
  'exchange.config.targets[0].port=6432',
  'exchange.config.targets[0].tls.serverName=orders-db.internal',
  'exchange.config.targets[0].tls.ca.existingSecret=orders-db-ca',
  'exchange.config.targets[0].tls.ca.key=ca.pem',
  'exchange.config.targets[0].rolePrefix=sgx_',
  'exchange.config.targets[1].name=billing',
  'exchange.config.targets[1].protocol=postgres',
  'exchange.config.targets[1].host=billing-db',
  'exchange.config.targets[1].database=billing',
  'exchange.config.targets[1].admin.username=exchange',
  'exchange.config.targets[1].admin.existingSecret=billing-admin',
  'exchange.config.targets[1].admin.key=pw',
  'exchange.config.targets[2].name=shop',
  'exchange.config.targets[2].protocol=mysql',
  'exchange.config.targets[2].host=shop-db',
  'exchange.config.targets[2].admin.username=sidegate_admin',
  'exchange.config.targets[2].admin.existingSecret=shop-admin',
  'exchange.config.targets[2].admin.key=password',
  'exchange.config.targets[2].userPrefix=sgm_',
  'exchange.config.targets[2].maxUserConnections=20',
  'exchange.config.issuers[0].issuer=https://token.actions.githubusercontent.com',
  'exchange.config.issuers[0].audience=sidegate-exchange',
  'exchange.config.issuers[1].issuer=https://gitlab.example.com',
  'exchange.config.issuers[1].audience=sidegate-exchange',
  'exchange.config.issuers[1].ca.existingSecret=gitlab-ca',
  'exchange.config.issuers[1].ca.key=ca.crt',
  'exchange.config.issuers[1].clockSkewSeconds=10',
  'exchange.config.grants[1].name=app-deploys',
  'exchange.config.grants[1].issuer=https://token.actions.githubusercontent.com',
  'exchange.config.grants[1].claims.repository=acme/app',
  'exchange.config.grants[1].claims.ref={refs/heads/main,refs/tags/v*}',
  'exchange.config.grants[1].actor.claims.kubernetes\\.io\\.namespace=ci',
  'exchange.config.grants[1].target=billing',
  'exchange.config.grants[1].roles={billing_migrator,billing_reader}',
  'exchange.config.grants[1].ttl=30m',
  'exchange.config.sweepInterval=30s',
  'exchange.config.maxConcurrent=32',
  'exchange.audit.otlpEndpoint=http://collector.observability:4318',
  'exchange.audit.spool.sizeLimit=2Gi',
];

const variants = {
  default: [],
  minimal,
  everything,
  runners: [...minimal, 'policy.runnerNamespaces={ci-a,ci-b}', 'exchange.podAntiAffinity=hard', 'exchange.replicas=3'],
  noBudget: [...minimal, 'exchange.podDisruptionBudget.enabled=false'],
  jwks: [...minimal, 'exchange.config.kubernetes.discovery=false', 'exchange.config.kubernetes.jwksUrl=https://oidc.example.com/keys'],
  ciOnly: [...minimal.filter((s) => !s.startsWith('exchange.config.grants')), 'exchange.config.kubernetes.enabled=false', 'exchange.config.issuers[0].issuer=https://token.actions.githubusercontent.com', 'exchange.config.issuers[0].audience=sidegate-exchange'],
  certManager: [...minimal, 'tls.certManager.enabled=true'],
  conventions: [
    ...minimal,
    'exchange.serviceAccount.create=false',
    'exchange.serviceAccount.name=existing-exchange-sa',
    'exchange.topologySpreadConstraints[0].maxSkew=1',
    'exchange.topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone',
    'exchange.topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway',
    'exchange.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=node-role',
    'exchange.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists',
    'exchange.podSecurityContext.runAsUser=null',
    'exchange.podSecurityContext.runAsGroup=null',
    'exchange.podSecurityContext.fsGroup=null',
    'commonLabels.team=platform',
  ],
  sidecarsCollector: [...minimal, 'injection.otlpEndpoint=http://otel.monitoring:4318', 'exchange.audit.spool.volume.ephemeral.volumeClaimTemplate.spec.accessModes={ReadWriteOnce}', 'exchange.audit.spool.volume.ephemeral.volumeClaimTemplate.spec.resources.requests.storage=3Gi'],
} satisfies Record<string, string[]>;
type Variant = keyof typeof variants;
const rendered = variantRenderer(variants);

type Workload = KubernetesObject & { spec: Record<string, any> };

const exchangeDeployment = (chart: RenderedChart) => chart.one('Deployment', 'exchange') as Workload;

function exchangeConfigOf(chart: RenderedChart): ExchangeConfig {
  return parseExchangeConfigYaml(chart.configMapData(EXCHANGE, 'exchange.yaml'), 'exchange.yaml');
}

/**
 * The injection configuration as rendered. Read as YAML rather than by the webhook's parser: the
 * webhook side of exchangeUrl lands with the sidecar's credential source (another branch).
 */
function injectionOf(chart: RenderedChart): Record<string, unknown> {
  return parseYaml(chart.configMapData(`${RELEASE_NAME}-sidegate-injection`, 'injection.yaml')) as Record<string, unknown>;
}

/** Where a file the container sees comes from: Secret name and key, by mount path + item path. */
function secretFiles(workload: Workload): Map<string, { secret: string; key: string }> {
  const pod = workload.spec.template.spec;
  const container = pod.containers[0];
  const files = new Map<string, { secret: string; key: string }>();
  for (const mount of container.volumeMounts as Array<{ name: string; mountPath: string }>) {
    const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
    assert.ok(volume, `volume ${mount.name} exists`);
    for (const item of volume.secret?.items ?? []) files.set(`${mount.mountPath}/${item.path}`, { secret: volume.secret.secretName, key: item.key });
  }
  return files;
}

function renderFails(settings: string[]): string {
  const result = runHelm(['template', RELEASE_NAME, chartDirectory, '--namespace', RELEASE_NAMESPACE, ...setArguments(settings)]);
  assert.notEqual(result.status, 0, `${settings.join(' ')} should fail`);
  return result.stderr;
}

test('helm lint --strict passes and every object validates, for every exchange variant', () => {
  for (const [name, settings] of Object.entries(variants)) {
    const result = runHelm(['lint', chartDirectory, '--strict', ...setArguments(settings)]);
    assert.equal(result.status, 0, `helm lint (${name}):\n${result.stdout}${result.stderr}`);
    assert.doesNotMatch(result.stdout, /\[(WARNING|ERROR)\]/, `${name}: ${result.stdout}`);
    for (const object of rendered(name as Variant).objects) validateAgainstKubernetesSchema(object);
  }
});

test('off by default: no exchange object, and the sidecars are not pointed at one', () => {
  const chart = rendered('default');
  assert.deepEqual(chart.objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'exchange' || o.metadata.name.includes('exchange')), []);
  const injection = injectionOf(chart);
  for (const key of ['exchangeUrl', 'exchangeCaConfigMap', 'exchangeTokenAudience']) assert.equal(injection[key], undefined, key);
});

test('on: a Deployment of 2 replicas, rolled without losing a ready replica, with its disruption budget', () => {
  const chart = rendered('minimal');
  const deployment = exchangeDeployment(chart);
  assert.equal(deployment.metadata.name, EXCHANGE);
  assert.equal(deployment.spec.replicas, 2);
  assert.deepEqual(deployment.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
  const podLabels = deployment.spec.template.metadata.labels;
  assert.equal(labelSelectorMatches(deployment.spec.selector, podLabels), true);
  for (const other of ['webhook', 'broker']) {
    assert.equal(labelSelectorMatches(deployment.spec.selector, (chart.one('Deployment', other) as Workload).spec.template.metadata.labels), false, `not the ${other} pods`);
  }
  const budget = chart.one('PodDisruptionBudget', 'exchange') as Workload;
  assert.equal(budget.spec.minAvailable, 1);
  assert.equal(labelSelectorMatches(budget.spec.selector, podLabels), true);
  assert.equal(rendered('noBudget').ofKind('PodDisruptionBudget', 'exchange').length, 0);
  assert.equal(exchangeDeployment(rendered('runners')).spec.replicas, 3);
});

test('the exchange pod: the command contract, HTTPS probes, non-root 7331, read-only, no capabilities, seccomp, spread by hostname', () => {
  const deployment = exchangeDeployment(rendered('minimal'));
  const pod = deployment.spec.template.spec;
  assert.deepEqual(pod.securityContext, { runAsNonRoot: true, runAsUser: 7331, runAsGroup: 7331, fsGroup: 7331, seccompProfile: { type: 'RuntimeDefault' } });
  assert.equal(pod.containers.length, 1);
  const container = pod.containers[0];
  assert.equal(container.image, 'sidegate:0.1.0');
  assert.deepEqual(container.args, ['exchange', '--config', '/config/exchange.yaml', '--tls-cert', '/tls/tls.crt', '--tls-key', '/tls/tls.key', '--port', '8443']);
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
  const soft = pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
  assert.equal(soft[0].podAffinityTerm.topologyKey, 'kubernetes.io/hostname');
  assert.equal(labelSelectorMatches(soft[0].podAffinityTerm.labelSelector, deployment.spec.template.metadata.labels), true);
  const hard = exchangeDeployment(rendered('runners')).spec.template.spec.affinity.podAntiAffinity;
  assert.equal(hard.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey, 'kubernetes.io/hostname');
  // Every writable path is a volume: /audit (the spool) and /tmp.
  const writable = container.volumeMounts.filter((m: { readOnly?: boolean }) => !m.readOnly).map((m: { mountPath: string }) => m.mountPath).sort();
  assert.deepEqual(writable, ['/audit', '/tmp']);
  // The webhook never injects the exchange: its objectSelector excludes app.kubernetes.io/name=sidegate.
  const objectSelector = (rendered('minimal').one('MutatingWebhookConfiguration') as KubernetesObject & { webhooks: Array<{ objectSelector: LabelSelector }> }).webhooks[0]!.objectSelector;
  assert.equal(labelSelectorMatches(objectSelector, deployment.spec.template.metadata.labels), false);
});

test('its own ServiceAccount and Service (443 → https), selecting only exchange pods', () => {
  const chart = rendered('minimal');
  const pod = exchangeDeployment(chart).spec.template;
  const account = chart.one('ServiceAccount', 'exchange');
  assert.equal(pod.spec.serviceAccountName, account.metadata.name);
  assert.ok(!['webhook', 'broker'].some((c) => chart.one('ServiceAccount', c).metadata.name === account.metadata.name));
  const service = chart.one('Service', 'exchange') as Workload;
  assert.equal(service.metadata.name, EXCHANGE);
  assert.deepEqual(service.spec.ports, [{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }]);
  assert.equal(labelSelectorMatches({ matchLabels: service.spec.selector }, pod.metadata.labels), true);
  assert.equal(labelSelectorMatches({ matchLabels: service.spec.selector }, (chart.one('Deployment', 'broker') as Workload).spec.template.metadata.labels), false);
});

test("exchange.yaml: accepted by the exchange's own parser, every key set from values, every file it names mounted from the right Secret key", () => {
  const chart = rendered('everything');
  const config = exchangeConfigOf(chart);
  assert.deepEqual(Object.keys(config).sort(), Object.keys(exchangeConfigSchema.shape).sort(), 'the chart renders every key the exchange reads');
  assert.deepEqual(
    config.issuers.map((i) => [i.issuer, i.audience, i.kubernetes, i.caFile, i.clockSkewSeconds]),
    [
      [CLUSTER_ISSUER, 'sidegate-exchange', true, undefined, 30],
      ['https://token.actions.githubusercontent.com', 'sidegate-exchange', false, undefined, 30],
      ['https://gitlab.example.com', 'sidegate-exchange', false, '/secrets/issuer-1-ca/ca.crt', 10],
    ],
  );
  assert.equal(config.issuers[0]!.discoveryUrl, undefined, 'the in-cluster API server, with the pod\'s CA and token');
  assert.deepEqual(config.targets, [
    { name: 'orders', protocol: 'postgres', host: 'orders-db.example.com', port: 6432, database: 'orders', tls: { serverName: 'orders-db.internal', caFile: '/secrets/target-0-ca/ca.crt' }, admin: { username: 'sidegate_admin', passwordFile: '/secrets/target-0-admin/password' }, rolePrefix: 'sgx_' },
    { name: 'billing', protocol: 'postgres', host: 'billing-db', port: 5432, database: 'billing', tls: {}, admin: { username: 'exchange', passwordFile: '/secrets/target-1-admin/password' }, rolePrefix: 'sidegate_x_' },
    { name: 'shop', protocol: 'mysql', host: 'shop-db', port: 3306, tls: {}, admin: { username: 'sidegate_admin', passwordFile: '/secrets/target-2-admin/password' }, userPrefix: 'sgm_', maxUserConnections: 20 },
  ]);
  assert.deepEqual(config.grants, [
    { name: 'ci-runners', issuer: CLUSTER_ISSUER, subject: ['system:serviceaccount:ci:*'], claims: {}, target: 'orders', roles: ['orders_reader'], ttl: 3_600_000 },
    { name: 'app-deploys', issuer: 'https://token.actions.githubusercontent.com', claims: { repository: ['acme/app'], ref: ['refs/heads/main', 'refs/tags/v*'] }, actor: { claims: { 'kubernetes.io.namespace': ['ci'] } }, target: 'billing', roles: ['billing_migrator', 'billing_reader'], ttl: 30 * 60_000 },
  ]);
  assert.equal(config.sweepInterval, 30_000);
  assert.equal(config.maxConcurrent, 32);
  assert.deepEqual(config.audit, { stateDir: '/audit' });

  const files = secretFiles(exchangeDeployment(chart));
  const expected: Array<[string, string, string]> = [
    [config.targets[0]!.admin.passwordFile, 'orders-exchange-admin', 'password'],
    [config.targets[0]!.tls.caFile!, 'orders-db-ca', 'ca.pem'],
    [config.targets[1]!.admin.passwordFile, 'billing-admin', 'pw'],
    [config.targets[2]!.admin.passwordFile, 'shop-admin', 'password'],
    [config.issuers[2]!.caFile!, 'gitlab-ca', 'ca.crt'],
    ['/tls/tls.crt', `${EXCHANGE}-tls`, 'tls.crt'],
    ['/tls/tls.key', `${EXCHANGE}-tls`, 'tls.key'],
  ];
  for (const [path, secret, key] of expected) assert.deepEqual(files.get(path), { secret, key }, path);
  assert.equal(files.size, expected.length, 'no Secret is mounted that exchange.yaml does not name');
  // Each Secret key sits alone in its own directory under /secrets.
  const directories = [...files.keys()].filter((p) => !p.startsWith('/tls/')).map((p) => dirname(p));
  assert.ok(directories.every((d) => d.startsWith('/secrets/')));
  assert.equal(new Set(directories).size, directories.length);
  const volumes = exchangeDeployment(chart).spec.template.spec.volumes.filter((v: { name: string; secret?: unknown }) => v.secret && v.name !== 'tls');
  assert.equal(volumes.length, expected.length - 2);
  assert.ok(volumes.every((v: { secret: { items: unknown[] } }) => v.secret.items.length === 1), 'one key per volume');

  // The least configuration parses too, and a changed configuration rolls the exchange.
  const minimalConfig = exchangeConfigOf(rendered('minimal'));
  assert.deepEqual(minimalConfig.targets[0]!.tls, {});
  const checksum = (c: RenderedChart) => exchangeDeployment(c).spec.template.metadata.annotations['checksum/exchange-config'];
  assert.match(checksum(rendered('minimal')), /^[0-9a-f]{64}$/);
  assert.notEqual(checksum(rendered('minimal')), checksum(rendered('everything')));
});

test('the sidecars log in by this release\'s exchange: its URL, its CA ConfigMap, a token of the audience it verifies', () => {
  const chart = rendered('runners');
  const injection = injectionOf(chart);
  assert.equal(injection['exchangeUrl'], EXCHANGE_URL);
  assert.equal(injection['exchangeCaConfigMap'], 'sidegate-exchange-ca');
  assert.equal(injection['exchangeTokenAudience'], exchangeConfigOf(chart).issuers.find((i) => i.kubernetes)!.audience);
  assert.notEqual(injection['exchangeTokenAudience'], injection['tokenAudience']);
  assert.notEqual(injection['exchangeTokenAudience'], injection['brokerTokenAudience']);

  const certManager = injectionOf(rendered('certManager'));
  assert.equal(certManager['exchangeUrl'], EXCHANGE_URL);
  assert.equal(certManager['exchangeCaConfigMap'], undefined, "no chart-rendered CA ConfigMap to name; trust-manager's is the operator's");
  const ciOnly = injectionOf(rendered('ciOnly'));
  assert.equal(ciOnly['exchangeTokenAudience'], undefined, 'no cluster issuer: the webhook\'s default');
});

test('no database password mounted with the exchange: no credentials Secret unless one is named as the fallback', () => {
  assert.equal(injectionOf(rendered('default'))['credentialsSecret'], 'sidegate-credentials', 'without an exchange the static Secret is the source');
  assert.equal(injectionOf(rendered('runners'))['credentialsSecret'], undefined);
  const fallback = renderChart([...variants.runners, 'injection.credentialsSecret=legacy-logins']);
  assert.equal(injectionOf(fallback)['credentialsSecret'], 'legacy-logins', 'an explicit fallback stays');
});

test('one audience per relying party, and an enabled exchange needs a target: else the render fails', () => {
  assert.match(renderFails([...minimal, 'exchange.config.kubernetes.audience=sidegate']), /exchange\.config\.kubernetes\.audience "sidegate" equals injection\.tokenAudience/);
  assert.match(renderFails([...minimal, 'exchange.config.kubernetes.audience=sidegate-broker']), /equals the broker's token audience/);
  assert.match(renderFails(['exchange.enabled=true']), /targets/);
});

test("generated TLS: the exchange's own CA signs a certificate for its Service's names; every runner namespace gets that CA", () => {
  const chart = rendered('runners');
  const secret = chart.ofKind('Secret', 'exchange').find((s) => s.metadata.name === `${EXCHANGE}-tls`) as KubernetesObject & { type: string; data: Record<string, string> };
  assert.equal(secret.type, 'kubernetes.io/tls');
  const ca = new X509Certificate(Buffer.from(secret.data['ca.crt']!, 'base64'));
  const certificate = new X509Certificate(Buffer.from(secret.data['tls.crt']!, 'base64'));
  assert.equal(ca.ca, true);
  assert.equal(certificate.verify(ca.publicKey), true);
  assert.equal(certificate.checkPrivateKey(createPrivateKey(Buffer.from(secret.data['tls.key']!, 'base64'))), true);
  for (const name of [EXCHANGE, `${EXCHANGE}.${RELEASE_NAMESPACE}`, `${EXCHANGE}.${RELEASE_NAMESPACE}.svc`, `${EXCHANGE}.${RELEASE_NAMESPACE}.svc.cluster.local`]) {
    assert.equal(certificate.checkHost(name), name, `certificate covers ${name}`);
  }
  assert.equal(new URL(EXCHANGE_URL).hostname, `${EXCHANGE}.${RELEASE_NAMESPACE}.svc`, "the sidecars' URL is one of them");
  assert.equal(certificate.checkHost(`${RELEASE_NAME}-sidegate-broker.${RELEASE_NAMESPACE}.svc`), undefined, "not the broker's");
  const brokerTls = chart.ofKind('Secret', 'broker').find((s) => s.metadata.name.endsWith('-tls')) as KubernetesObject & { data: Record<string, string> };
  assert.notEqual(brokerTls.data['ca.crt'], secret.data['ca.crt'], "trusting the exchange does not mean trusting the broker's CA");

  const caConfigMaps = chart.ofKind('ConfigMap', 'exchange').filter((c) => c.metadata.name === 'sidegate-exchange-ca');
  assert.deepEqual(caConfigMaps.map((c) => c.metadata.namespace).sort(), ['ci-a', 'ci-b', RELEASE_NAMESPACE]);
  for (const configMap of caConfigMaps) {
    assert.equal(new X509Certificate(chart.configMapData('sidegate-exchange-ca', 'ca.crt', configMap.metadata.namespace)).fingerprint256, ca.fingerprint256);
  }
  const tlsVolume = exchangeDeployment(chart).spec.template.spec.volumes.find((v: { name: string }) => v.name === 'tls');
  assert.equal(tlsVolume.secret.secretName, secret.metadata.name);
});

test('cert-manager TLS: an exchange Certificate for the Service\'s names from the chart CA', () => {
  const chart = rendered('certManager');
  assert.equal(chart.ofKind('Secret', 'exchange').length, 0);
  assert.equal(chart.ofKind('ConfigMap', 'exchange').filter((c) => c.metadata.name === 'sidegate-exchange-ca').length, 0);
  const certificate = chart.one('Certificate', 'exchange') as Workload;
  assert.deepEqual(certificate.spec.dnsNames, [EXCHANGE, `${EXCHANGE}.${RELEASE_NAMESPACE}`, `${EXCHANGE}.${RELEASE_NAMESPACE}.svc`, `${EXCHANGE}.${RELEASE_NAMESPACE}.svc.cluster.local`]);
  const caIssuer = chart.ofKind('Issuer').find((i) => (i as Workload).spec.ca) as Workload;
  assert.deepEqual(certificate.spec.issuerRef, { group: 'cert-manager.io', kind: 'Issuer', name: caIssuer.metadata.name });
  const tlsVolume = exchangeDeployment(chart).spec.template.spec.volumes.find((v: { name: string }) => v.name === 'tls');
  assert.equal(tlsVolume.secret.secretName, certificate.spec.secretName);
});

test('issuer discovery: the ServiceAccount is bound to system:service-account-issuer-discovery and gets a token only when discovery is on', () => {
  const chart = rendered('minimal');
  const binding = chart.one('ClusterRoleBinding', 'exchange') as KubernetesObject & { roleRef: Record<string, string>; subjects: Array<Record<string, string>> };
  assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:service-account-issuer-discovery' });
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: chart.one('ServiceAccount', 'exchange').metadata.name, namespace: RELEASE_NAMESPACE }]);
  assert.equal(exchangeDeployment(chart).spec.template.spec.automountServiceAccountToken, true);
  for (const variant of ['jwks', 'ciOnly'] as const) {
    const other = rendered(variant);
    assert.equal(other.ofKind('ClusterRoleBinding', 'exchange').length, 0, variant);
    assert.equal(exchangeDeployment(other).spec.template.spec.automountServiceAccountToken, false, `${variant}: no token it has no use for`);
    assert.equal((other.one('ServiceAccount', 'exchange') as KubernetesObject & { automountServiceAccountToken: boolean }).automountServiceAccountToken, false, variant);
  }
  assert.deepEqual(exchangeConfigOf(rendered('jwks')).issuers[0]!.jwksUrl, 'https://oidc.example.com/keys');
  assert.equal(exchangeConfigOf(rendered('ciOnly')).issuers.some((i) => i.kubernetes), false);
});

test('evidence: exchange.yaml names /audit, a writable spool volume is mounted there, OTEL_EXPORTER_OTLP_ENDPOINT is the collector', () => {
  const env = (chart: RenderedChart) => exchangeDeployment(chart).spec.template.spec.containers[0].env as Array<{ name: string; value: string }> | undefined;
  const auditVolume = (chart: RenderedChart) => {
    const pod = exchangeDeployment(chart).spec.template.spec;
    const mount = pod.containers[0].volumeMounts.find((m: { name: string }) => m.name === 'audit');
    assert.equal(mount.mountPath, exchangeConfigOf(chart).audit!.stateDir, 'the spool is where exchange.yaml says');
    assert.equal(mount.readOnly, undefined, 'writable');
    return pod.volumes.find((v: { name: string }) => v.name === 'audit');
  };
  assert.deepEqual(auditVolume(rendered('minimal')), { name: 'audit', emptyDir: { sizeLimit: '1Gi' } });
  assert.equal(env(rendered('minimal')), undefined, 'no collector anywhere: the spool volume holds the file');
  assert.deepEqual(auditVolume(rendered('everything')), { name: 'audit', emptyDir: { sizeLimit: '2Gi' } });
  assert.deepEqual(env(rendered('everything')), [{ name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://collector.observability:4318' }]);
  assert.deepEqual(env(rendered('sidecarsCollector')), [{ name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://otel.monitoring:4318' }]);
  assert.deepEqual(auditVolume(rendered('sidecarsCollector')), {
    name: 'audit',
    ephemeral: { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '3Gi' } } } } },
  });
});

test("the chart's standard values apply to the exchange: an existing ServiceAccount, topology spread, affinity, security contexts, common labels", () => {
  const chart = rendered('conventions');
  const deployment = exchangeDeployment(chart);
  const pod = deployment.spec.template.spec;
  assert.equal(chart.ofKind('ServiceAccount', 'exchange').length, 0, 'no ServiceAccount created');
  assert.equal(pod.serviceAccountName, 'existing-exchange-sa');
  const binding = chart.one('ClusterRoleBinding', 'exchange') as KubernetesObject & { subjects: Array<Record<string, string>> };
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'existing-exchange-sa', namespace: RELEASE_NAMESPACE }], 'discovery is granted to the account the pods run as');
  assert.equal(pod.topologySpreadConstraints.length, 1);
  assert.equal(labelSelectorMatches(pod.topologySpreadConstraints[0].labelSelector, deployment.spec.template.metadata.labels), true, 'the exchange pods\' selector filled in');
  assert.ok(pod.affinity.nodeAffinity, 'the operator\'s nodeAffinity added');
  assert.ok(pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution, 'beside the spread');
  assert.deepEqual(pod.securityContext, { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }, 'platform-assigned ids');
  assert.equal(pod.containers[0].securityContext.readOnlyRootFilesystem, true);
  assert.equal(deployment.spec.template.metadata.labels['team'], 'platform');
  assert.equal(deployment.spec.selector.matchLabels['team'], undefined, 'selectors never change');
});

test('values.schema.json rejects bad exchange values before anything renders', () => {
  const cases: Array<[string[], RegExp]> = [
    [['exchange.replicas=0'], /replicas/],
    [['exchange.enabled=yes'], /enabled/],
    [[...minimal, 'exchange.config.targets[0].protocol=oracle'], /protocol/],
    // A MariaDB target has no database and no rolePrefix; a PostgreSQL one no MariaDB keys.
    [[...minimal, 'exchange.config.targets[0].protocol=mysql'], /targets\/0': 'not' failed/],
    [[...minimal, 'exchange.config.targets[0].userPrefix=sgx_'], /targets\/0': 'not' failed/],
    [[...minimal, 'exchange.config.targets[0].admin.existingSecret=Not_A_Name'], /existingSecret/],
    [[...minimal, 'exchange.config.targets[0].password=hunter2'], /password/],
    [[...minimal, 'exchange.config.targets[0].rolePrefix=X'], /rolePrefix/],
    [[...minimal, 'exchange.config.grants[0].roles={Admin}'], /roles/],
    [[...minimal, 'exchange.config.grants[0].ttl=forever'], /ttl/],
    [[...minimal.filter((s) => !s.includes('grants[0].subject')), 'exchange.config.grants[0].target=orders'], /subject|claims/],
    [[...minimal, 'exchange.config.kubernetes.discovery=false'], /jwksUrl/],
    [[...minimal, 'exchange.config.issuers[0].issuer=http://token.example.com', 'exchange.config.issuers[0].audience=x'], /issuer/],
    [[...minimal, 'exchange.config.sweepInterval=often'], /sweepInterval/],
    [['exchange.replica=3'], /replica/],
    [['exchange.serviceAccount.create=false'], /name/],
  ];
  for (const [settings, expected] of cases) {
    const stderr = renderFails(settings);
    assert.match(stderr, /schema/, settings.join(' '));
    assert.match(stderr, expected, settings.join(' '));
  }
});
