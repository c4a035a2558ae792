// The chart's metrics options, rendered by the real helm: ServiceMonitors (off by default) that
// select exactly their component's Service, scrape its https port and verify it with the CA of the
// Secret that serves it; prometheus.io/* annotations on the webhook, broker and exchange pods when
// asked for; and the injection setting that gives every injected pod the sidecar's scrape
// annotations, as the webhook's own parser and injection read it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chartDirectory } from './repository-root.js';
import { runHelm } from './helm-binary.js';
import { setArguments, variantRenderer, RELEASE_NAME, RELEASE_NAMESPACE, type KubernetesObject, type RenderedChart, EXCHANGE_MINIMAL_VALUES } from './rendered-chart.js';
import { validateAgainstKubernetesSchema } from './kubernetes-schema-validation.js';
import { labelSelectorMatches } from './label-selector.js';
import { parseInjectionConfigYaml } from '../../webhook/config/injection-config.js';
import { injectPod } from '../../webhook/injection/inject-pod.js';
import { applyJsonPatch } from '../support/apply-json-patch.js';
import type { Pod } from 'kubernetes-types/core/v1.js';

const exchange = [...EXCHANGE_MINIMAL_VALUES];
const monitored = ['metrics.serviceMonitor.enabled=true', 'metrics.serviceMonitor.labels.release=kube-prometheus-stack', 'metrics.serviceMonitor.interval=30s', 'metrics.serviceMonitor.scrapeTimeout=10s'];

const variants = {
  default: [],
  monitored: [...monitored, ...exchange],
  monitoredNoBroker: ['metrics.serviceMonitor.enabled=true', 'broker.enabled=false'],
  monitoredCertManager: [...monitored, 'tls.certManager.enabled=true'],
  monitoredOwnTls: [...monitored, 'metrics.serviceMonitor.tlsConfig.ca.configMap.name=corp-ca', 'metrics.serviceMonitor.tlsConfig.ca.configMap.key=ca.crt', 'metrics.serviceMonitor.tlsConfig.serverName=metrics.example.com'],
  annotated: ['webhook.metrics.scrapeAnnotations=true', 'broker.metrics.scrapeAnnotations=true', 'exchange.metrics.scrapeAnnotations=true', 'injection.metricsScrapeAnnotations=true', 'injection.adminPort=16012', ...exchange],
} satisfies Record<string, string[]>;
type Variant = keyof typeof variants;
const rendered = variantRenderer(variants);

interface Monitor extends KubernetesObject {
  spec: {
    selector: { matchLabels: Record<string, string> };
    namespaceSelector: { matchNames: string[] };
    endpoints: { port: string; scheme: string; path: string; interval?: string; scrapeTimeout?: string; tlsConfig: { serverName?: string; ca?: { secret?: { name: string; key: string }; configMap?: { name: string; key: string } } } }[];
  };
}
interface Service extends KubernetesObject {
  spec: { ports: { name: string }[] };
}
interface Workload extends KubernetesObject {
  spec: { template: { metadata: { annotations?: Record<string, string> }; spec: { containers: { ports: { name: string; containerPort: number }[] }[] } } };
}

test('helm lint --strict passes and every object validates, for every metrics variant', () => {
  for (const [name, settings] of Object.entries(variants)) {
    const result = runHelm(['lint', chartDirectory, '--strict', ...setArguments(settings)]);
    assert.equal(result.status, 0, `helm lint (${name}):\n${result.stdout}${result.stderr}`);
    for (const object of rendered(name as Variant).objects) validateAgainstKubernetesSchema(object);
  }
});

test('no ServiceMonitor and no scrape annotations by default', () => {
  const chart = rendered('default');
  assert.deepEqual(chart.ofKind('ServiceMonitor'), []);
  for (const workload of [...chart.ofKind('Deployment'), ...chart.ofKind('StatefulSet')]) {
    const annotations = (workload as Workload).spec.template.metadata.annotations ?? {};
    assert.ok(!Object.keys(annotations).some((k) => k.startsWith('prometheus.io/')), `${workload.metadata.name} has no prometheus.io/*`);
  }
  const config = parseInjectionConfigYaml(chart.configMapData(`${RELEASE_NAME}-sidegate-injection`, 'injection.yaml'));
  assert.equal(config.metricsScrapeAnnotations, false);
});

/** The certificate a component's Service presents (chart-made TLS): from its Secret. */
function servingCertificate(chart: RenderedChart, secretName: string): X509Certificate {
  const secret = chart.ofKind('Secret').find((s) => s.metadata.name === secretName) as { data?: Record<string, string> } | undefined;
  assert.ok(secret?.data?.['ca.crt'], `Secret ${secretName} carries ca.crt for Prometheus`);
  return new X509Certificate(Buffer.from(secret.data['tls.crt']!, 'base64'));
}

test('a ServiceMonitor per Service: its selector matches that Service alone, https /metrics, verified with its CA for its name', () => {
  const chart = rendered('monitored');
  const monitors = chart.ofKind('ServiceMonitor') as Monitor[];
  assert.deepEqual(monitors.map((m) => m.metadata.labels?.['app.kubernetes.io/component']).sort(), ['broker', 'exchange', 'webhook']);
  const services = chart.ofKind('Service') as Service[];
  for (const monitor of monitors) {
    assert.equal(monitor.metadata.namespace, RELEASE_NAMESPACE);
    assert.equal(monitor.metadata.labels?.['release'], 'kube-prometheus-stack', 'the operator\'s selector label');
    assert.deepEqual(monitor.spec.namespaceSelector.matchNames, [RELEASE_NAMESPACE]);
    const selected = services.filter((s) => labelSelectorMatches(monitor.spec.selector, s.metadata.labels ?? {}));
    assert.deepEqual(selected.map((s) => s.metadata.name), [monitor.metadata.name], `${monitor.metadata.name} selects its own Service only`);
    const [endpoint] = monitor.spec.endpoints;
    assert.ok(endpoint);
    assert.deepEqual([endpoint.port, endpoint.scheme, endpoint.path, endpoint.interval, endpoint.scrapeTimeout], ['https', 'https', '/metrics', '30s', '10s']);
    assert.ok(selected[0]!.spec.ports.some((p) => p.name === endpoint.port), 'the Service has that port');
    const secretName = endpoint.tlsConfig.ca?.secret?.name;
    assert.ok(secretName, 'the CA comes from a Secret');
    assert.equal(endpoint.tlsConfig.ca?.secret?.key, 'ca.crt');
    const certificate = servingCertificate(chart, secretName);
    assert.ok(certificate.checkHost(endpoint.tlsConfig.serverName!), `${endpoint.tlsConfig.serverName} is a name of the certificate the Service serves`);
    assert.equal(endpoint.tlsConfig.serverName, `${monitor.metadata.name}.${RELEASE_NAMESPACE}.svc`);
  }
});

test('only the webhook is monitored without a broker; with cert-manager the CA is its Certificate\'s Secret', () => {
  assert.deepEqual(rendered('monitoredNoBroker').ofKind('ServiceMonitor').map((m) => m.metadata.labels?.['app.kubernetes.io/component']), ['webhook']);
  const chart = rendered('monitoredCertManager');
  for (const monitor of chart.ofKind('ServiceMonitor') as Monitor[]) {
    const certificate = chart.ofKind('Certificate').find((c) => c.metadata.name === monitor.metadata.name) as { spec: { secretName: string; dnsNames: string[] } } | undefined;
    assert.ok(certificate, `a Certificate serves ${monitor.metadata.name}`);
    const tls = monitor.spec.endpoints[0]!.tlsConfig;
    assert.equal(tls.ca?.secret?.name, certificate.spec.secretName);
    assert.ok(certificate.spec.dnsNames.includes(tls.serverName!));
  }
});

test('metrics.serviceMonitor.tlsConfig replaces the verification', () => {
  for (const monitor of rendered('monitoredOwnTls').ofKind('ServiceMonitor') as Monitor[]) {
    assert.deepEqual(monitor.spec.endpoints[0]!.tlsConfig, { ca: { configMap: { name: 'corp-ca', key: 'ca.crt' } }, serverName: 'metrics.example.com' });
  }
});

test('scrape annotations on the webhook, broker and exchange pods point at /metrics over HTTPS on their port', () => {
  const chart = rendered('annotated');
  for (const component of ['webhook', 'broker', 'exchange']) {
    const workload = chart.one('Deployment', component) as Workload;
    const annotations = workload.spec.template.metadata.annotations ?? {};
    const https = workload.spec.template.spec.containers[0]!.ports.find((p) => p.name === 'https');
    assert.deepEqual(
      [annotations['prometheus.io/scrape'], annotations['prometheus.io/scheme'], annotations['prometheus.io/port'], annotations['prometheus.io/path']],
      ['true', 'https', String(https?.containerPort), '/metrics'],
      component,
    );
  }
});

test('injection.metricsScrapeAnnotations reaches the webhook, which annotates injected pods with the admin port', () => {
  const chart = rendered('annotated');
  const config = parseInjectionConfigYaml(chart.configMapData(`${RELEASE_NAME}-sidegate-injection`, 'injection.yaml'));
  assert.equal(config.metricsScrapeAnnotations, true);
  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'job' }, spec: { containers: [{ name: 'job', image: 'postgres:15' }] } };
  const result = injectPod({ pod, namespace: { name: 'ci', labels: { 'sidegate.dev/inject': 'enabled' } }, config, operation: 'CREATE' });
  assert.equal(result.kind, 'inject');
  const annotations = applyJsonPatch(pod, result.kind === 'inject' ? result.patch : []).metadata!.annotations!;
  assert.deepEqual([annotations['prometheus.io/scrape'], annotations['prometheus.io/port'], annotations['prometheus.io/path']], ['true', '16012', '/metrics']);
});

test('the ServiceMonitor check refuses what prometheus-operator would', () => {
  const good = rendered('monitored').ofKind('ServiceMonitor')[0] as Monitor;
  validateAgainstKubernetesSchema(good);
  const endpoint = good.spec.endpoints[0]!;
  const broken = (change: Partial<Monitor['spec']['endpoints'][number]> & Record<string, unknown>): KubernetesObject => ({ ...good, spec: { ...good.spec, endpoints: [{ ...endpoint, ...change }] } });
  assert.throws(() => validateAgainstKubernetesSchema(broken({ port: undefined as unknown as string })), /port must name a Service port/);
  assert.throws(() => validateAgainstKubernetesSchema(broken({ scheme: 'tcp' })), /scheme must be http or https/);
  assert.throws(() => validateAgainstKubernetesSchema(broken({ interval: '30 seconds' })), /interval must be a Prometheus duration/);
  assert.throws(() => validateAgainstKubernetesSchema(broken({ tlsConfig: { ca: { secret: { name: 'x' } } } as never })), /tlsConfig.ca must name one Secret or ConfigMap key/);
  assert.throws(() => validateAgainstKubernetesSchema(broken({ targetPort: 8443 })), /targetPort is not a field/);
});
