// The chart's conventional values (nameOverride, fullnameOverride, commonLabels, serviceAccount,
// affinity, topology spread, security contexts, image registry/digest, pod labels) for the webhook
// and the broker: each renders, lints strictly and validates against the Kubernetes schemas, and
// none of them can break what the chart relies on (selectors, the injector's own-pod exclusion,
// the strict security defaults).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chartDirectory } from './repository-root.js';
import { runHelm } from './helm-binary.js';
import { renderChart, setArguments, RELEASE_NAME, RELEASE_NAMESPACE, type KubernetesObject, type RenderedChart } from './rendered-chart.js';
import { validateAgainstKubernetesSchema } from './kubernetes-schema-validation.js';
import { labelSelectorMatches, type LabelSelector } from './label-selector.js';
import { parseInjectionConfigYaml } from '../../webhook/config/injection-config.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const everything = `
nameOverride: gate
commonLabels: { team: platform, cost-center: ci }
image: { registry: registry.example.com:5000, repository: tools/sidegate, tag: "1.2.3", digest: "${DIGEST}" }
serviceAccount: { create: false, name: existing-webhook-sa }
webhook:
  podLabels: { app.kubernetes.io/name: not-sidegate, extra: "yes" }
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms: [{ matchExpressions: [{ key: node-role, operator: In, values: [system] }] }]
  topologySpreadConstraints:
    - { maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway }
  tolerations: [{ key: dedicated, operator: Equal, value: system, effect: NoSchedule }]
  podSecurityContext: { runAsUser: null, runAsGroup: null, fsGroup: null }
  securityContext: { runAsUser: null, runAsGroup: null }
broker:
  serviceAccount: { create: false, name: existing-broker-sa }
  affinity:
    podAntiAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        - topologyKey: topology.kubernetes.io/zone
          labelSelector: { matchLabels: { app.kubernetes.io/component: broker } }
  topologySpreadConstraints:
    - maxSkew: 2
      topologyKey: kubernetes.io/hostname
      whenUnsatisfiable: DoNotSchedule
      labelSelector: { matchLabels: { custom: selector } }
`;

function valuesFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sidegate-values-')), 'values.yaml');
  writeFileSync(file, text);
  return file;
}

let cached: RenderedChart | undefined;
function renderedEverything(): RenderedChart {
  cached ??= renderChart([], ['-f', valuesFile(everything)]);
  return cached;
}

type Workload = KubernetesObject & { spec: Record<string, any> };
const workload = (chart: RenderedChart, component: string) => chart.ofKind('Deployment', component)[0] as Workload;

test('every standard value at once lints strictly and validates against the Kubernetes schemas', () => {
  const lint = runHelm(['lint', chartDirectory, '--strict', '-f', valuesFile(everything), ...setArguments([])]);
  assert.equal(lint.status, 0, lint.stdout + lint.stderr);
  for (const object of renderedEverything().objects) validateAgainstKubernetesSchema(object);
});

test('nameOverride and fullnameOverride rename objects; app.kubernetes.io/name stays sidegate so the injector is still excluded', () => {
  const chart = renderedEverything();
  assert.equal(workload(chart, 'webhook').metadata.name, `${RELEASE_NAME}-gate-webhook`);
  assert.equal(workload(chart, 'broker').metadata.name, `${RELEASE_NAME}-gate-broker`);
  const renamed = renderChart(['fullnameOverride=acme']);
  assert.equal(workload(renamed, 'webhook').metadata.name, 'acme-webhook');
  for (const object of [...chart.objects, ...renamed.objects]) assert.equal(object.metadata.labels?.['app.kubernetes.io/name'], 'sidegate', `${object.kind} ${object.metadata.name}`);
  const configuration = chart.one('MutatingWebhookConfiguration') as KubernetesObject & { webhooks: Array<{ objectSelector: LabelSelector; clientConfig: { service: { name: string } } }> };
  for (const entry of configuration.webhooks) {
    assert.equal(entry.clientConfig.service.name, `${RELEASE_NAME}-gate-webhook`);
    for (const component of ['webhook', 'broker']) {
      assert.equal(labelSelectorMatches(entry.objectSelector, workload(chart, component).spec.template.metadata.labels), false, `${entry.clientConfig.service.name}: ${component} pods`);
    }
  }
});

test('commonLabels are on every object and pod, never in a selector; podLabels cannot replace the chart\'s own labels', () => {
  const chart = renderedEverything();
  for (const object of chart.objects) {
    assert.equal(object.metadata.labels?.['team'], 'platform', `${object.kind} ${object.metadata.name}`);
    assert.equal(object.metadata.labels?.['cost-center'], 'ci');
  }
  for (const component of ['webhook', 'broker']) {
    const deployment = workload(chart, component);
    const podLabels = deployment.spec.template.metadata.labels;
    assert.equal(podLabels.team, 'platform');
    assert.equal(podLabels['app.kubernetes.io/name'], 'sidegate', 'podLabels did not replace it');
    assert.equal(deployment.spec.selector.matchLabels.team, undefined);
    assert.equal(labelSelectorMatches(deployment.spec.selector, podLabels), true);
  }
  assert.equal(workload(chart, 'webhook').spec.template.metadata.labels.extra, 'yes');
  const refused = runHelm(['template', RELEASE_NAME, chartDirectory, '--namespace', RELEASE_NAMESPACE, '--set', 'commonLabels.app\\.kubernetes\\.io/name=other', ...setArguments([])]);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /commonLabels/);
});

test('serviceAccount.create=false uses the named accounts (RBAC bound to them) and renders none; a name is then required', () => {
  const chart = renderedEverything();
  assert.equal(chart.ofKind('ServiceAccount').length, 0);
  assert.equal(workload(chart, 'webhook').spec.template.spec.serviceAccountName, 'existing-webhook-sa');
  assert.equal(workload(chart, 'broker').spec.template.spec.serviceAccountName, 'existing-broker-sa');
  const subjects = (component: string) => (chart.ofKind('ClusterRoleBinding', component)[0] as KubernetesObject & { subjects: Array<{ name: string; namespace: string }> }).subjects;
  assert.deepEqual(subjects('webhook'), [{ kind: 'ServiceAccount', name: 'existing-webhook-sa', namespace: RELEASE_NAMESPACE }]);
  assert.deepEqual(subjects('broker'), [{ kind: 'ServiceAccount', name: 'existing-broker-sa', namespace: RELEASE_NAMESPACE }]);
  for (const setting of ['serviceAccount.create=false', 'broker.serviceAccount.create=false']) {
    const result = runHelm(['template', RELEASE_NAME, chartDirectory, '--namespace', RELEASE_NAMESPACE, '--set', setting, ...setArguments([])]);
    assert.notEqual(result.status, 0, setting);
    assert.match(result.stderr, /serviceAccount.*name|name.*required|missing propert/i, setting);
  }
});

test('affinity merges over the rendered spread, topology spread gets the component\'s selector when it names none', () => {
  const chart = renderedEverything();
  const webhook = workload(chart, 'webhook').spec.template;
  assert.ok(webhook.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution, 'the operator\'s nodeAffinity is added');
  assert.equal(webhook.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey, 'kubernetes.io/hostname', 'the spread stays');
  const [spread] = webhook.spec.topologySpreadConstraints;
  assert.equal(spread.topologyKey, 'topology.kubernetes.io/zone');
  assert.equal(labelSelectorMatches(spread.labelSelector, webhook.metadata.labels), true);
  assert.equal(labelSelectorMatches(spread.labelSelector, workload(chart, 'broker').spec.template.metadata.labels), false);
  assert.deepEqual(webhook.spec.tolerations, [{ key: 'dedicated', operator: 'Equal', value: 'system', effect: 'NoSchedule' }]);

  const broker = workload(chart, 'broker').spec.template.spec;
  assert.equal(broker.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution, undefined, 'the operator\'s podAntiAffinity replaces the spread');
  assert.equal(broker.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey, 'topology.kubernetes.io/zone');
  assert.deepEqual(broker.topologySpreadConstraints[0].labelSelector, { matchLabels: { custom: 'selector' } }, 'an explicit selector is kept');
});

test('security contexts: strict by default, keys can be dropped for platforms that assign ids, privileged is refused', () => {
  const defaults = renderChart();
  for (const component of ['webhook', 'broker']) {
    const pod = workload(defaults, component).spec.template.spec;
    assert.deepEqual(pod.securityContext, { runAsNonRoot: true, runAsUser: 7331, runAsGroup: 7331, fsGroup: 7331, seccompProfile: { type: 'RuntimeDefault' } });
    assert.deepEqual(pod.containers[0].securityContext, {
      runAsNonRoot: true, runAsUser: 7331, runAsGroup: 7331, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true,
      privileged: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
    });
  }
  const webhook = workload(renderedEverything(), 'webhook').spec.template.spec;
  assert.deepEqual(webhook.securityContext, { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  assert.equal(webhook.containers[0].securityContext.runAsUser, undefined);
  assert.equal(webhook.containers[0].securityContext.readOnlyRootFilesystem, true, 'the rest stays');
  for (const [setting, field] of [['webhook.securityContext.privileged=true', /privileged/], ['broker.podSecurityContext.runAsUser=-1', /runAsUser/], ['webhook.tolerations[0].operator=Maybe', /operator/]] as const) {
    const result = runHelm(['template', RELEASE_NAME, chartDirectory, '--namespace', RELEASE_NAMESPACE, '--set', setting, ...setArguments([])]);
    assert.notEqual(result.status, 0, setting);
    assert.match(result.stderr, field, setting);
  }
});

test('image registry and digest: the digest wins over the tag, for the webhook, the broker and the injected containers', () => {
  const chart = renderedEverything();
  const expected = `registry.example.com:5000/tools/sidegate@${DIGEST}`;
  assert.equal(workload(chart, 'webhook').spec.template.spec.containers[0].image, expected);
  assert.equal(workload(chart, 'broker').spec.template.spec.containers[0].image, expected);
  const injection = (c: RenderedChart) => parseInjectionConfigYaml(c.configMapData(`${RELEASE_NAME}-${c === chart ? 'gate' : 'sidegate'}-injection`, 'injection.yaml'));
  assert.equal(injection(chart).image, expected, 'the sidecar runs the same pinned image');
  assert.equal(injection(renderChart(['image.tag=2.0.0'])).image, 'sidegate:2.0.0');
  const ownRepository = renderChart([`image.digest=${DIGEST}`, 'injection.image.repository=mirror/sidegate']);
  assert.equal(injection(ownRepository).image, 'mirror/sidegate:0.1.0', 'another repository does not inherit a digest of a different image');
  const ownDigest = renderChart(['injection.image.digest=' + `sha256:${'cd'.repeat(32)}`]);
  assert.equal(injection(ownDigest).image, `sidegate@sha256:${'cd'.repeat(32)}`);
  for (const setting of ['image.digest=sha256:short', 'image.tag=has space', 'image.registry=https://registry.example.com']) {
    const result = runHelm(['template', RELEASE_NAME, chartDirectory, '--namespace', RELEASE_NAMESPACE, '--set', setting, ...setArguments([])]);
    assert.notEqual(result.status, 0, setting);
    assert.match(result.stderr, /schema/, setting);
  }
});
