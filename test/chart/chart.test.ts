// The Helm chart, rendered by the real helm binary: it lints, every rendered object validates
// against the Kubernetes (and cert-manager) schemas, the webhook configuration fails closed and
// never targets the injector itself, RBAC is least privilege, the generated TLS material is a
// real CA-signed chain for the Service's names, and the configuration files it renders are
// accepted by the webhook's and the policy loader's own strict parsers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pod as PodModel } from 'kubernetes-models/v1';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { applyJsonPatch } from '../support/apply-json-patch.js';
import { chartDirectory } from './repository-root.js';
import { runHelm } from './helm-binary.js';
import { renderChart, setArguments, variantRenderer, RELEASE_NAME, RELEASE_NAMESPACE, type KubernetesObject, type RenderedChart } from './rendered-chart.js';
import { validateAgainstKubernetesSchema } from './kubernetes-schema-validation.js';
import { labelSelectorMatches, type LabelSelector } from './label-selector.js';
import { injectionConfigSchema, parseInjectionConfigYaml } from '../../webhook/config/injection-config.js';
import {
  INJECTOR_COMPONENT_LABEL,
  INJECTOR_NAME_LABEL,
  NAMESPACE_INJECT_ENABLED,
  NAMESPACE_INJECT_LABEL,
  POD_INJECT_LABEL,
  POD_INJECT_LABEL_ENABLED,
  SIDECAR_ENV_NAMES,
} from '../../webhook/injection/pod-markers.js';
import { injectPod } from '../../webhook/injection/inject-pod.js';
import { parsePolicy } from '../../policies/loader.js';

// The chart variants the issue names; each is rendered once and shared by the tests below.
const variants = {
  default: [],
  certManager: ['tls.certManager.enabled=true'],
  certManagerWithIssuer: ['tls.certManager.enabled=true', 'tls.certManager.issuerRef.name=corp-ca', 'tls.certManager.issuerRef.kind=ClusterIssuer'],
  failOpen: ['webhook.failurePolicy=Ignore'],
  classic: ['injection.sidecarMode=classic'],
  noBudgets: ['webhook.podDisruptionBudget.enabled=false', 'broker.podDisruptionBudget.enabled=false'],
  hardAntiAffinityAndRunnerNamespaces: ['webhook.podAntiAffinity=hard', 'policy.runnerNamespaces={ci-a,ci-b}'],
} satisfies Record<string, string[]>;
type Variant = keyof typeof variants;

const rendered = variantRenderer(variants);

/** The configuration, its two entries, and `webhook`: the namespace entry (what both share is checked on both). */
function webhookOf(chart: RenderedChart) {
  const configuration = chart.one('MutatingWebhookConfiguration') as KubernetesObject & { webhooks: Array<Record<string, any>> };
  assert.deepEqual(configuration.webhooks.map((w) => w.name), ['namespace.inject.sidegate.dev', 'pod.inject.sidegate.dev']);
  return { configuration, webhooks: configuration.webhooks, webhook: configuration.webhooks[0]!, podWebhook: configuration.webhooks[1]! };
}

function deploymentOf(chart: RenderedChart) {
  return chart.one('Deployment', 'webhook') as KubernetesObject & { spec: Record<string, any> };
}

function injectionConfigOf(chart: RenderedChart) {
  return parseInjectionConfigYaml(chart.configMapData(`${RELEASE_NAME}-sidegate-injection`, 'injection.yaml'), 'injection.yaml');
}

test('helm lint passes, also with --strict, for every variant', () => {
  for (const [name, settings] of Object.entries(variants)) {
    for (const strict of [[], ['--strict']]) {
      const result = runHelm(['lint', chartDirectory, ...strict, ...setArguments(settings)]);
      assert.equal(result.status, 0, `helm lint ${strict.join(' ')} (${name}):\n${result.stdout}${result.stderr}`);
      assert.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      assert.doesNotMatch(result.stdout, /\[(WARNING|ERROR)\]/, `${name}: ${result.stdout}`);
    }
  }
});

test('every rendered object of every variant validates against the Kubernetes and cert-manager schemas', () => {
  for (const variant of Object.keys(variants) as Variant[]) {
    const chart = rendered(variant);
    assert.ok(chart.objects.length >= 10, `${variant}: rendered ${chart.objects.length} objects`);
    for (const object of chart.objects) validateAgainstKubernetesSchema(object);
  }
});

test('the schema check is not a formality: a broken object is rejected', () => {
  const deployment = structuredClone(deploymentOf(rendered('default')));
  deployment.spec.replicas = 'two';
  assert.throws(() => validateAgainstKubernetesSchema(deployment), /Deployment .*replicas/);
  const configuration = structuredClone(webhookOf(rendered('default')).configuration);
  configuration.webhooks[0]!.failurePolicy = 'Sometimes';
  assert.throws(() => validateAgainstKubernetesSchema(configuration), /failurePolicy/);
});

test('default render: exactly the expected objects, all labelled app.kubernetes.io/*, namespaced ones in the release namespace', () => {
  const chart = rendered('default');
  const kindsOf = (component: string) => chart.objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === component).map((o) => o.kind).sort();
  assert.deepEqual(kindsOf('webhook'), [
    'ClusterRole',
    'ClusterRoleBinding',
    'ConfigMap',
    'Deployment',
    'MutatingWebhookConfiguration',
    'PodDisruptionBudget',
    'Secret',
    'Service',
    'ServiceAccount',
    'ValidatingWebhookConfiguration',
  ]);
  assert.deepEqual(kindsOf('policy'), ['ConfigMap']);
  // The broker's (broker-chart.test.ts): config and CA ConfigMaps, TLS and session Secrets.
  assert.deepEqual(kindsOf('broker'), ['ClusterRoleBinding', 'ConfigMap', 'ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Secret', 'Secret', 'Service', 'ServiceAccount']);
  assert.equal(chart.objects.length, 20);
  const clusterScoped = new Set(['ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']);
  for (const object of chart.objects) {
    const labels = object.metadata.labels ?? {};
    assert.equal(labels['app.kubernetes.io/name'], 'sidegate', `${object.kind} ${object.metadata.name}`);
    assert.equal(labels['app.kubernetes.io/instance'], RELEASE_NAME);
    assert.equal(labels['app.kubernetes.io/version'], '0.1.0');
    assert.equal(labels['app.kubernetes.io/managed-by'], 'Helm');
    assert.ok(labels['app.kubernetes.io/component'], `${object.kind} ${object.metadata.name} has a component`);
    assert.equal(object.metadata.namespace, clusterScoped.has(object.kind) ? undefined : RELEASE_NAMESPACE, `${object.kind} ${object.metadata.name}`);
  }
});

test('MutatingWebhookConfiguration: pods CREATE, v1 reviews, fail closed, no side effects, re-invoked if needed', () => {
  for (const webhook of webhookOf(rendered('default')).webhooks) {
    assert.deepEqual(webhook.admissionReviewVersions, ['v1']);
    assert.deepEqual(webhook.rules, [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }]);
    assert.equal(webhook.failurePolicy, 'Fail');
    assert.equal(webhook.sideEffects, 'None');
    assert.equal(webhook.reinvocationPolicy, 'IfNeeded');
    assert.equal(webhook.matchPolicy, 'Equivalent');
    assert.equal(webhook.timeoutSeconds, 5);
    const service = rendered('default').one('Service', 'webhook') as KubernetesObject & { spec: Record<string, any> };
    assert.deepEqual(webhook.clientConfig.service, { name: service.metadata.name, namespace: RELEASE_NAMESPACE, path: '/mutate', port: 443 });
  }
});

test('webhook.failurePolicy=Ignore is the only thing that opens it, and the notes warn about it', () => {
  assert.deepEqual(webhookOf(rendered('failOpen')).webhooks.map((w) => w.failurePolicy), ['Ignore', 'Ignore']);
  const notes = (failurePolicy: string) =>
    runHelm(['install', RELEASE_NAME, chartDirectory, '--namespace', RELEASE_NAMESPACE, '--dry-run=client', '--set', `webhook.failurePolicy=${failurePolicy}`, ...setArguments([])]);
  const open = notes('Ignore');
  assert.equal(open.status, 0, open.stderr);
  assert.match(open.stdout, /WARNING: failurePolicy is Ignore.*\n.*start WITHOUT sidegate/);
  const closed = notes('Fail');
  assert.equal(closed.status, 0, closed.stderr);
  assert.doesNotMatch(closed.stdout, /WARNING: failurePolicy/);
  assert.match(closed.stdout, /kubectl label namespace RUNNER_NAMESPACE sidegate\.dev\/inject=enabled/);
  assert.match(closed.stdout, /jsonpath='\{\.metadata\.annotations\.sidegate\\\.dev\/status\}/);
});

test('selectors: labelled namespaces only (never the release or control-plane namespaces), never the injector pods', () => {
  const chart = rendered('default');
  const { webhook } = webhookOf(chart);
  const namespaceSelector = webhook.namespaceSelector as LabelSelector;
  const objectSelector = webhook.objectSelector as LabelSelector;
  const namespace = (name: string, labels: Record<string, string> = {}) => ({ 'kubernetes.io/metadata.name': name, ...labels });
  const enabled = { [NAMESPACE_INJECT_LABEL]: NAMESPACE_INJECT_ENABLED };
  assert.equal(labelSelectorMatches(namespaceSelector, namespace('ci-runners', enabled)), true);
  assert.equal(labelSelectorMatches(namespaceSelector, namespace('ci-runners')), false);
  assert.equal(labelSelectorMatches(namespaceSelector, namespace('ci-runners', { [NAMESPACE_INJECT_LABEL]: 'disabled' })), false);
  for (const { namespaceSelector: selector } of webhookOf(chart).webhooks) {
    for (const protectedNamespace of [RELEASE_NAMESPACE, 'kube-system', 'kube-public', 'kube-node-lease']) {
      for (const labels of [{}, enabled]) assert.equal(labelSelectorMatches(selector, namespace(protectedNamespace, labels)), false, protectedNamespace);
    }
  }

  const injectorPodLabels = deploymentOf(chart).spec.template.metadata.labels as Record<string, string>;
  // The webhook's own skip rule (pod-markers) recognises these pods too: two independent guards.
  assert.equal(injectorPodLabels[INJECTOR_NAME_LABEL[0]], INJECTOR_NAME_LABEL[1]);
  assert.equal(injectorPodLabels[INJECTOR_COMPONENT_LABEL[0]], INJECTOR_COMPONENT_LABEL[1]);
  for (const { objectSelector: selector } of webhookOf(chart).webhooks) {
    assert.equal(labelSelectorMatches(selector, injectorPodLabels), false, 'the injector pods are excluded');
    assert.equal(labelSelectorMatches(selector, { ...injectorPodLabels, [POD_INJECT_LABEL]: POD_INJECT_LABEL_ENABLED }), false, 'even labelled to opt in');
  }
  assert.equal(labelSelectorMatches(objectSelector, {}), true, 'an unlabelled runner pod is sent to the webhook');
  assert.equal(labelSelectorMatches(objectSelector, { app: 'gitlab-runner', 'app.kubernetes.io/name': 'runner' }), true);
});

// The chart decides which pods reach the webhook, the pure decision which of them it injects. For
// every combination of namespace label and pod label the two must agree, and no pod may be sent by
// both entries (with reinvocation that would be two calls; the second would find the status
// annotation and skip, but the configuration should not rely on that).
test('the two webhook entries select exactly the pods injectPod injects, and never both the same pod', () => {
  const { webhooks } = webhookOf(rendered('default'));
  const config = injectionConfigOf(rendered('default'));
  const namespaceLabels: Array<string | undefined> = [undefined, 'enabled', 'disabled', 'true'];
  const podLabels: Array<string | undefined> = [undefined, 'enabled', 'disabled'];
  let injected = 0;
  for (const namespaceValue of namespaceLabels) {
    for (const podValue of podLabels) {
      const nsLabels: Record<string, string> = { 'kubernetes.io/metadata.name': 'ci-runners', ...(namespaceValue === undefined ? {} : { [NAMESPACE_INJECT_LABEL]: namespaceValue }) };
      const labels: Record<string, string> = { app: 'job', ...(podValue === undefined ? {} : { [POD_INJECT_LABEL]: podValue }) };
      const matching = webhooks.filter((w) => labelSelectorMatches(w.namespaceSelector, nsLabels) && labelSelectorMatches(w.objectSelector, labels));
      const situation = `namespace label ${namespaceValue ?? '(none)'}, pod label ${podValue ?? '(none)'}`;
      assert.ok(matching.length <= 1, `${situation}: sent by ${matching.map((w) => w.name).join(' and ')}`);
      const result = injectPod({
        pod: { metadata: { name: 'job', labels }, spec: { containers: [{ name: 'job', image: 'busybox' }] } },
        namespace: { name: 'ci-runners', labels: nsLabels },
        config,
        operation: 'CREATE',
      });
      assert.equal(matching.length === 1, result.kind === 'inject', `${situation}: webhook called ${matching.length === 1}, injectPod says ${result.kind}`);
      if (result.kind === 'inject') injected += 1;
    }
  }
  assert.equal(injected, 3, 'enabled namespace with an unlabelled or opted-in pod, unlabelled namespace with an opted-in pod');
});

test('injection.sidecarMode auto: classic before Kubernetes 1.29, native from 1.29; native and classic override it', () => {
  const mode = (kubeVersion: string, settings: string[] = []) => {
    const chart = renderChart(settings, ['--kube-version', kubeVersion]);
    for (const object of chart.objects) validateAgainstKubernetesSchema(object);
    return injectionConfigOf(chart).sidecarMode;
  };
  assert.equal(mode('1.28.0'), 'classic');
  assert.equal(mode('1.28.15'), 'classic');
  assert.equal(mode('1.29.0'), 'native');
  assert.equal(mode('1.30.0'), 'native');
  assert.equal(mode('1.30.0', ['injection.sidecarMode=classic']), 'classic');
  assert.equal(mode('1.28.0', ['injection.sidecarMode=native']), 'native', 'an explicit choice is the operator\'s');
  for (const kubeVersion of ['1.28.0', '1.30.0']) {
    const lint = runHelm(['lint', chartDirectory, '--strict', '--kube-version', kubeVersion, ...setArguments([])]);
    assert.equal(lint.status, 0, `helm lint --kube-version ${kubeVersion}: ${lint.stdout}${lint.stderr}`);
  }
  // `helm install` has no --kube-version; its client-side default (the client library's version) is past 1.29.
  const notes = runHelm(['install', RELEASE_NAME, chartDirectory, '--namespace', RELEASE_NAMESPACE, '--dry-run=client', ...setArguments([])]);
  assert.equal(notes.status, 0, notes.stderr);
  assert.match(notes.stdout, /sidecar \(native mode, chosen for Kubernetes v1\.[0-9]+\.[0-9]+,/);
});

test('webhook.podDisruptionBudget.enabled=false leaves the webhook without a PodDisruptionBudget', () => {
  assert.equal(rendered('default').ofKind('PodDisruptionBudget', 'webhook').length, 1);
  assert.equal(rendered('noBudgets').ofKind('PodDisruptionBudget').length, 0);
});

test('self-signed TLS: the caBundle is a CA that signed the Secret\'s certificate for the Service\'s DNS names', () => {
  const chart = rendered('default');
  const { configuration, webhook } = webhookOf(chart);
  assert.equal(configuration.metadata.annotations?.['cert-manager.io/inject-ca-from'], undefined);
  assert.equal(typeof webhook.clientConfig.caBundle, 'string');
  const ca = new X509Certificate(Buffer.from(webhook.clientConfig.caBundle, 'base64'));
  assert.equal(ca.ca, true);

  const secret = chart.one('Secret', 'webhook') as KubernetesObject & { type: string; data: Record<string, string> };
  assert.equal(secret.type, 'kubernetes.io/tls');
  assert.equal(secret.data['ca.crt'], webhook.clientConfig.caBundle);
  const certificate = new X509Certificate(Buffer.from(secret.data['tls.crt']!, 'base64'));
  assert.equal(certificate.verify(ca.publicKey), true, 'the serving certificate is signed by the caBundle');
  assert.equal(certificate.checkPrivateKey(createPrivateKey(Buffer.from(secret.data['tls.key']!, 'base64'))), true);
  const service = `${RELEASE_NAME}-sidegate-webhook`;
  for (const name of [`${service}.${RELEASE_NAMESPACE}.svc`, `${service}.${RELEASE_NAMESPACE}.svc.cluster.local`]) {
    assert.equal(certificate.checkHost(name), name, `certificate covers ${name}`);
  }
  assert.equal(certificate.checkHost('evil.example'), undefined);
  assert.ok(new Date(certificate.validTo).getTime() > Date.now() + 365 * 24 * 3600 * 1000, 'valid for more than a year');

  const tlsVolume = deploymentOf(chart).spec.template.spec.volumes.find((v: { name: string }) => v.name === 'tls');
  assert.equal(tlsVolume.secret.secretName, secret.metadata.name);
});

test('cert-manager TLS: CA chain of Issuers and Certificates, inject-ca-from annotation, no chart-made secret or caBundle', () => {
  const chart = rendered('certManager');
  assert.equal(chart.ofKind('Secret', 'webhook').length, 0);
  const { configuration, webhook } = webhookOf(chart);
  assert.equal(webhook.clientConfig.caBundle, undefined);

  const certificates = chart.ofKind('Certificate', 'webhook') as Array<KubernetesObject & { spec: Record<string, any> }>;
  const issuers = chart.ofKind('Issuer') as Array<KubernetesObject & { spec: Record<string, any> }>;
  assert.equal(certificates.length, 2);
  assert.equal(issuers.length, 2);
  const serving = certificates.find((c) => !c.spec.isCA)!;
  const caCertificate = certificates.find((c) => c.spec.isCA)!;
  assert.equal(configuration.metadata.annotations?.['cert-manager.io/inject-ca-from'], `${RELEASE_NAMESPACE}/${serving.metadata.name}`);

  const selfSigned = issuers.find((i) => i.spec.selfSigned)!;
  const caIssuer = issuers.find((i) => i.spec.ca)!;
  assert.equal(caCertificate.spec.issuerRef.name, selfSigned.metadata.name);
  assert.equal(caIssuer.spec.ca.secretName, caCertificate.spec.secretName);
  assert.equal(serving.spec.issuerRef.name, caIssuer.metadata.name);
  const service = `${RELEASE_NAME}-sidegate-webhook`;
  assert.ok(serving.spec.dnsNames.includes(`${service}.${RELEASE_NAMESPACE}.svc`));
  assert.ok(serving.spec.dnsNames.includes(`${service}.${RELEASE_NAMESPACE}.svc.cluster.local`));
  assert.ok(serving.spec.usages.includes('server auth'));
  const tlsVolume = deploymentOf(chart).spec.template.spec.volumes.find((v: { name: string }) => v.name === 'tls');
  assert.equal(tlsVolume.secret.secretName, serving.spec.secretName);

  const withIssuer = rendered('certManagerWithIssuer');
  assert.equal(withIssuer.ofKind('Issuer').length, 0, 'an existing issuer replaces the chart-made CA');
  const servingOnly = withIssuer.one('Certificate', 'webhook') as KubernetesObject & { spec: Record<string, any> };
  assert.deepEqual(servingOnly.spec.issuerRef, { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'corp-ca' });
});

test('RBAC: one ClusterRole whose only permission is get on namespaces, bound to the webhook\'s ServiceAccount', () => {
  const chart = rendered('default');
  assert.equal(chart.ofKind('Role').length + chart.ofKind('RoleBinding').length, 0);
  const role = chart.one('ClusterRole') as KubernetesObject & { rules: unknown[] };
  assert.deepEqual(role.rules, [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get'] }]);
  const binding = chart.one('ClusterRoleBinding', 'webhook') as KubernetesObject & { roleRef: Record<string, string>; subjects: Array<Record<string, string>> };
  assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name });
  const serviceAccount = chart.one('ServiceAccount', 'webhook');
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: serviceAccount.metadata.name, namespace: RELEASE_NAMESPACE }]);
  assert.equal(deploymentOf(chart).spec.template.spec.serviceAccountName, serviceAccount.metadata.name);
});

test('Deployment: 2 replicas spread by hostname, HTTPS probes, non-root 7331, read-only, no capabilities, seccomp', () => {
  const chart = rendered('default');
  const deployment = deploymentOf(chart);
  assert.equal(deployment.spec.replicas, 2);
  const pod = deployment.spec.template.spec;
  const podLabels = deployment.spec.template.metadata.labels;
  assert.equal(labelSelectorMatches(deployment.spec.selector, podLabels), true);

  const soft = pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
  assert.equal(soft.length, 1);
  assert.equal(soft[0].podAffinityTerm.topologyKey, 'kubernetes.io/hostname');
  assert.equal(labelSelectorMatches(soft[0].podAffinityTerm.labelSelector, podLabels), true);
  const hard = deploymentOf(rendered('hardAntiAffinityAndRunnerNamespaces')).spec.template.spec.affinity.podAntiAffinity;
  assert.equal(hard.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey, 'kubernetes.io/hostname');
  assert.equal(hard.preferredDuringSchedulingIgnoredDuringExecution, undefined);

  assert.deepEqual(pod.securityContext, { runAsNonRoot: true, runAsUser: 7331, runAsGroup: 7331, fsGroup: 7331, seccompProfile: { type: 'RuntimeDefault' } });
  assert.equal(pod.containers.length, 1);
  const container = pod.containers[0];
  assert.equal(container.image, 'sidegate:0.1.0');
  assert.deepEqual(container.args, ['webhook', '--tls-cert', '/tls/tls.crt', '--tls-key', '/tls/tls.key', '--config', '/config/injection.yaml', '--port', '8443']);
  assert.equal(container.command, undefined, 'the image entrypoint (sidegate) runs the subcommand');
  assert.deepEqual(container.ports, [{ name: 'https', containerPort: 8443, protocol: 'TCP' }]);
  assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port: 'https', scheme: 'HTTPS' });
  assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'https', scheme: 'HTTPS' });
  const sc = container.securityContext;
  assert.equal(sc.runAsNonRoot, true);
  assert.equal(sc.runAsUser, 7331);
  assert.equal(sc.readOnlyRootFilesystem, true);
  assert.equal(sc.allowPrivilegeEscalation, false);
  assert.deepEqual(sc.capabilities, { drop: ['ALL'] });
  assert.deepEqual(sc.seccompProfile, { type: 'RuntimeDefault' });

  const mounts = Object.fromEntries(container.volumeMounts.map((m: { name: string; mountPath: string }) => [m.mountPath, m.name]));
  assert.equal(mounts['/tls'], 'tls');
  assert.equal(mounts['/config'], 'config');
  const configVolume = pod.volumes.find((v: { name: string }) => v.name === 'config');
  assert.equal(configVolume.configMap.name, `${RELEASE_NAME}-sidegate-injection`);

  const service = chart.one('Service', 'webhook') as KubernetesObject & { spec: Record<string, any> };
  assert.equal(labelSelectorMatches({ matchLabels: service.spec.selector }, podLabels), true);
  assert.deepEqual(service.spec.ports, [{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }]);

  const budget = chart.one('PodDisruptionBudget', 'webhook') as KubernetesObject & { spec: Record<string, any> };
  assert.equal(budget.spec.minAvailable, 1);
  assert.equal(budget.spec.maxUnavailable, undefined);
  assert.equal(labelSelectorMatches(budget.spec.selector, podLabels), true);
});

test('injection.yaml is accepted by the webhook\'s own strict parser, in native and classic mode', () => {
  const native = injectionConfigOf(rendered('default'));
  assert.equal(native.image, 'sidegate:0.1.0');
  assert.equal(native.uid, 7331);
  assert.equal(native.gid, 7331);
  assert.equal(native.capturePort, 16001);
  assert.equal(native.adminPort, 16002);
  assert.equal(native.sidecarMode, 'native');
  assert.equal(native.escapePolicy, 'warn');
  assert.equal(native.failureMode, 'deny');
  assert.equal(native.policyConfigMap, 'sidegate-policy');
  assert.deepEqual(native.resources, { requests: { cpu: '50m', memory: '96Mi' }, limits: { cpu: '500m', memory: '256Mi' } });
  assert.equal(native.brokerUrl, `https://${RELEASE_NAME}-sidegate-broker.${RELEASE_NAMESPACE}.svc:443`, 'this release\'s broker');

  assert.equal(injectionConfigOf(rendered('classic')).sidecarMode, 'classic');

  const custom = injectionConfigOf(
    renderChart([
      'image.tag=1.2.3',
      'injection.escapePolicy=refuse',
      'injection.failureMode=admit-unchanged',
      'injection.brokerUrl=https://broker.sidegate-system.svc:8443',
      'injection.includeOutboundPorts=*',
    ]),
  );
  assert.equal(custom.image, 'sidegate:1.2.3', 'the sidecar follows the chart image tag');
  assert.equal(custom.escapePolicy, 'refuse');
  assert.equal(custom.failureMode, 'admit-unchanged');
  assert.equal(custom.brokerUrl, 'https://broker.sidegate-system.svc:8443');
  assert.equal(custom.includeOutboundPorts, '*');

  // A configuration change rolls the webhook (it reads the file once at start).
  const checksum = (chart: RenderedChart) => deploymentOf(chart).spec.template.metadata.annotations['checksum/injection-config'];
  assert.notEqual(checksum(rendered('default')), checksum(rendered('classic')));
});

test('the injected sidecar\'s extra env, volumes, mounts and log level: rendered into injection.yaml, and the pod the webhook makes from it validates', () => {
  const values = join(mkdtempSync(join(tmpdir(), 'sidegate-chart-')), 'extras.yaml');
  writeFileSync(values, `
injection:
  logLevel: warn
  extraEnv:
    - name: OTEL_EXPORTER_OTLP_HEADERS
      valueFrom: { secretKeyRef: { name: otlp-auth, key: headers } }
    - name: OTEL_EXPORTER_OTLP_CERTIFICATE
      value: /etc/sidegate-extra/otlp-ca/ca.crt
  extraVolumes:
    - name: otlp-ca
      configMap: { name: otlp-collector-ca }
    - name: masking-key
      csi: { driver: secrets-store.csi.k8s.io, readOnly: true, volumeAttributes: { secretProviderClass: sidegate-masking } }
  extraVolumeMounts:
    - { name: otlp-ca, mountPath: /etc/sidegate-extra/otlp-ca }
    - { name: masking-key, mountPath: /etc/sidegate-extra/masking }
`);
  const lint = runHelm(['lint', chartDirectory, '--strict', '-f', values, ...setArguments([])]);
  assert.equal(lint.status, 0, lint.stdout + lint.stderr);
  const chart = renderChart([], ['-f', values]);
  for (const object of chart.objects) validateAgainstKubernetesSchema(object);
  const config = injectionConfigOf(chart);
  assert.equal(config.logLevel, 'warn');
  assert.deepEqual(config.extraVolumeMounts.map((m) => [m.name, m.readOnly]), [['otlp-ca', true], ['masking-key', true]]);

  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'job' }, spec: { containers: [{ name: 'job', image: 'busybox' }] } };
  const result = injectPod({ pod, namespace: { name: 'ci', labels: { [NAMESPACE_INJECT_LABEL]: NAMESPACE_INJECT_ENABLED } }, config, operation: 'CREATE' });
  assert.equal(result.kind, 'inject');
  const patched = applyJsonPatch(pod, result.kind === 'inject' ? result.patch : []);
  new PodModel(patched as ConstructorParameters<typeof PodModel>[0]).validate();
  const sidecar = patched.spec!.initContainers!.find((c) => c.name === 'sidegate')!;
  assert.deepEqual(sidecar.env!.find((e) => e.name === 'OTEL_EXPORTER_OTLP_HEADERS'), { name: 'OTEL_EXPORTER_OTLP_HEADERS', valueFrom: { secretKeyRef: { name: 'otlp-auth', key: 'headers' } } });
  assert.deepEqual(sidecar.env!.find((e) => e.name === 'SIDEGATE_LOG_LEVEL'), { name: 'SIDEGATE_LOG_LEVEL', value: 'warn' });
  assert.equal(patched.spec!.containers[0]!.volumeMounts, undefined, 'the runner container gets none of them');
});

test('values.schema.json refuses extras named like sidegate\'s own, with the same list the webhook refuses', () => {
  const schema = JSON.parse(readFileSync(join(chartDirectory, 'values.schema.json'), 'utf8'));
  const reserved = schema.properties.injection.properties.extraEnv.items.allOf[1].properties.name.not.enum;
  assert.deepEqual([...reserved].sort(), [...SIDECAR_ENV_NAMES].sort());
  const cases: Array<[string, RegExp]> = [
    ['injection.extraEnv=[{"name":"SIDEGATE_POD_NAME","value":"x"}]', /extraEnv/],
    ['injection.extraEnv=[{"name":"A"}]', /extraEnv/],
    ['injection.extraEnv=[{"name":"A","value":"x","valueFrom":{"fieldRef":{"fieldPath":"spec.nodeName"}}}]', /extraEnv/],
    ['injection.extraVolumes=[{"name":"sidegate-token","emptyDir":{}}]', /extraVolumes/],
    ['injection.extraVolumes=[{"name":"root","hostPath":{"path":"/"}}]', /extraVolumes/],
    ['injection.extraVolumes=[{"name":"two","emptyDir":{},"secret":{"secretName":"s"}}]', /extraVolumes/],
    ['injection.extraVolumeMounts=[{"name":"ca","mountPath":"relative"}]', /extraVolumeMounts/],
    ['injection.logLevel="verbose"', /logLevel/],
  ];
  for (const [json, expected] of cases) {
    const result = runHelm(['template', RELEASE_NAME, chartDirectory, '--namespace', RELEASE_NAMESPACE, '--set-json', json, ...setArguments([])]);
    assert.notEqual(result.status, 0, `${json} should fail`);
    assert.match(result.stderr, /schema/, json);
    assert.match(result.stderr, expected, json);
  }
});

test('policy ConfigMap: a deny-all policy the policy loader accepts, rendered into every runner namespace', () => {
  const text = rendered('default').configMapData('sidegate-policy', 'policy.yaml');
  const policy = parsePolicy(text, 'policy.yaml').document;
  assert.equal(policy.defaults?.action, 'deny');
  assert.equal(policy.defaults?.unparsable, 'deny');
  assert.deepEqual(policy.rules, []);

  const spread = rendered('hardAntiAffinityAndRunnerNamespaces')
    .ofKind('ConfigMap')
    .filter((c) => c.metadata.name === 'sidegate-policy');
  assert.deepEqual(spread.map((c) => c.metadata.namespace).sort(), ['ci-a', 'ci-b', RELEASE_NAMESPACE]);
  for (const configMap of spread) assert.equal((configMap as KubernetesObject & { data: Record<string, string> }).data['policy.yaml'], text);
});

test('values.schema.json rejects bad values before anything renders', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--set', 'webhook.failurePolicy=Sometimes'], /failurePolicy/],
    [['--set', 'injection.sidecarMode=sidecar'], /sidecarMode/],
    [['--set', 'injection.escapePolicy=ignore'], /escapePolicy/],
    [['--set', 'injection.failureMode=ignore'], /failureMode/],
    [['--set', 'injection.capturePort=70000'], /capturePort/],
    [['--set', 'injection.uid=0'], /uid/],
    [['--set', 'injection.excludeOutboundIpRanges={10.0.0.0/40}'], /excludeOutboundIpRanges/],
    [['--set', 'injection.brokerUrl=ftp://broker'], /brokerUrl/],
    [['--set', 'webhook.replicas=0'], /replicas/],
    [['--set', 'policy.configMapName=My_Policy'], /configMapName/],
    [['--set', 'webhok.replicas=3'], /webhok/],
  ];
  for (const [args, expected] of cases) {
    const result = runHelm(['template', RELEASE_NAME, chartDirectory, '--namespace', RELEASE_NAMESPACE, ...args, ...setArguments([])]);
    assert.notEqual(result.status, 0, `${args.join(' ')} should fail`);
    assert.match(result.stderr, /schema/, args.join(' '));
    assert.match(result.stderr, expected, args.join(' '));
    assert.equal(result.stdout.includes('kind: Deployment'), false);
  }
});

test('every webhook configuration key can be set from values, and values.injection has no key the webhook lacks', () => {
  const schema = JSON.parse(readFileSync(join(chartDirectory, 'values.schema.json'), 'utf8'));
  const chartKeys = new Set(Object.keys(schema.properties.injection.properties));
  // policyConfigMap comes from policy.configMapName: the chart names the ConfigMap it renders.
  chartKeys.add('policyConfigMap');
  assert.deepEqual([...chartKeys].sort(), Object.keys(injectionConfigSchema.shape).sort());
});

test('audit export to a collector is the default: without an endpoint the chart refuses, unless spans are explicitly kept in the pod', () => {
  const refused = runHelm(['template', RELEASE_NAME, chartDirectory, '--namespace', RELEASE_NAMESPACE]);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /injection\.otlpEndpoint is empty, but injection\.auditExporter is otlp \(the default\).*injection\.auditExporter=file/);
  const both = runHelm(['template', RELEASE_NAME, chartDirectory, '--namespace', RELEASE_NAMESPACE, '--set', 'injection.auditExporter=file', '--set', 'injection.otlpEndpoint=http://c:4318']);
  assert.match(both.stderr, /choose one/);

  const exported = injectionConfigOf(renderChart(['injection.otlpEndpoint=http://otel-collector.observability.svc:4318', 'injection.auditSpoolSize=1Gi']));
  assert.equal(exported.auditExporter, 'otlp');
  assert.equal(exported.otlpEndpoint, 'http://otel-collector.observability.svc:4318');
  const kept = injectionConfigOf(renderChart(['injection.auditExporter=file']));
  assert.equal(kept.auditExporter, 'file');
  assert.equal(kept.auditSpoolSize, '256Mi');

  const notes = (setting: string) => runHelm(['install', RELEASE_NAME, chartDirectory, '--namespace', RELEASE_NAMESPACE, '--dry-run=client', '--set', setting]).stdout;
  assert.match(notes('injection.auditExporter=file'), /WARNING: injection\.auditExporter is file\. Each pod's audit spans stay in a file/);
  assert.match(notes('injection.otlpEndpoint=http://otel-collector.observability.svc:4318'), /Audit spans go to http:\/\/otel-collector\.observability\.svc:4318 \(OTLP\/HTTP\)/);

  // What the webhook makes of the rendered configuration: the spool bound and the volume agree,
  // and only the pod whose spans stay in it gets the warning.
  for (const [config, warned] of [[exported, false], [kept, true]] as const) {
    const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'job' }, spec: { containers: [{ name: 'job', image: 'busybox' }] } };
    const result = injectPod({ pod, namespace: { name: 'ci', labels: { [NAMESPACE_INJECT_LABEL]: NAMESPACE_INJECT_ENABLED } }, config, operation: 'CREATE' });
    assert.equal(result.kind, 'inject');
    if (result.kind !== 'inject') continue;
    assert.equal(result.warnings.some((w) => /audit spans stay in the pod/.test(w)), warned);
    const patched = applyJsonPatch(pod, result.patch);
    const sidecar = [...patched.spec!.initContainers!, ...patched.spec!.containers].find((c) => c.name === 'sidegate')!;
    const bound = Number(sidecar.args![sidecar.args!.indexOf('--audit-spool-max-bytes') + 1]);
    const sizeLimit = patched.spec!.volumes!.find((v) => v.name === 'sidegate-state')!.emptyDir!.sizeLimit;
    assert.deepEqual([bound, sizeLimit], warned ? [256 * 2 ** 20, '288Mi'] : [2 ** 30, '1056Mi']);
  }
});
