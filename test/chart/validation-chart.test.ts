// The ValidatingWebhookConfiguration, rendered by the real helm: served by the webhook at
// /validate with the mutating configuration's CA, fail closed, no side effects, pods CREATE and
// UPDATE (and ephemeral containers) in every namespace but the release's, and a CEL matchCondition
// whose audiences are exactly the ones the webhook's own check reads from the injection.yaml the
// chart renders — for every way the broker's and the exchange's audiences are set — and which,
// evaluated by a CEL implementation (@bufbuild/cel), selects exactly the pods the webhook's own
// check finds a control-plane token in. What is not checked here: that an API server accepts the
// expression with its Kubernetes CEL extensions (no kube-apiserver in this sandbox).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chartDirectory } from './repository-root.js';
import { runHelm } from './helm-binary.js';
import { EXCHANGE_MINIMAL_VALUES, renderChart, setArguments, variantRenderer, RELEASE_NAME, RELEASE_NAMESPACE, type KubernetesObject, type RenderedChart } from './rendered-chart.js';
import { validateAgainstKubernetesSchema } from './kubernetes-schema-validation.js';
import { labelSelectorMatches, type LabelSelector } from './label-selector.js';
import { parseInjectionConfigYaml } from '../../webhook/config/injection-config.js';
import { controlPlaneAudiences, controlPlaneTokenVolumes } from '../../webhook/injection/control-plane-tokens.js';
import { run as evaluateCel, type CelInput } from '@bufbuild/cel';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { casePods, readValidationCase, validationCases } from '../support/validation-golden-cases.js';
import { applyJsonPatch } from '../support/apply-json-patch.js';
import { repositoryRoot } from './repository-root.js';

const exchangeMinimal = [...EXCHANGE_MINIMAL_VALUES, 'exchange.config.kubernetes.audience=orders-exchange'];

const variants = {
  default: [],
  exchange: exchangeMinimal,
  brokerAudience: ['broker.config.requesters.kubernetes.audience=orders-broker'],
  injectionAudiences: ['broker.enabled=false', 'injection.brokerTokenAudience=other-broker', 'injection.exchangeTokenAudience=other-exchange'],
  certManager: ['tls.certManager.enabled=true'],
  disabled: ['validation.enabled=false'],
} satisfies Record<string, string[]>;
type Variant = keyof typeof variants;
const rendered = variantRenderer(variants);

type Webhook = Record<string, any>;
function validatingOf(chart: RenderedChart): { configuration: KubernetesObject; webhook: Webhook } {
  const configuration = chart.one('ValidatingWebhookConfiguration') as KubernetesObject & { webhooks: Webhook[] };
  assert.equal(configuration.webhooks.length, 1);
  return { configuration, webhook: configuration.webhooks[0]! };
}

/** The audiences the CEL condition lists, read back from its list literal (JSON is CEL here). */
function conditionAudiences(webhook: Webhook): string[] {
  assert.equal(webhook.matchConditions.length, 1);
  const expression: string = webhook.matchConditions[0].expression;
  const match = /\.audience in (\[.*\])\)\)$/.exec(expression);
  assert.ok(match, `unexpected condition: ${expression}`);
  return JSON.parse(match[1]!) as string[];
}

function injectionAudiences(chart: RenderedChart): string[] {
  return controlPlaneAudiences(parseInjectionConfigYaml(chart.configMapData(`${RELEASE_NAME}-sidegate-injection`, 'injection.yaml')));
}

test('lint passes (also --strict) and every object validates against the Kubernetes schema, with validation on and off', () => {
  for (const [name, settings] of Object.entries(variants)) {
    const lint = runHelm(['lint', chartDirectory, '--strict', ...setArguments(settings)]);
    assert.equal(lint.status, 0, `${name}: ${lint.stdout}${lint.stderr}`);
    for (const object of rendered(name as Variant).objects) validateAgainstKubernetesSchema(object);
  }
  assert.equal(rendered('disabled').ofKind('ValidatingWebhookConfiguration').length, 0);
});

test('the schema check reads matchConditions: a condition without an expression is rejected', () => {
  const { configuration } = validatingOf(rendered('default'));
  const broken = structuredClone(configuration) as KubernetesObject & { webhooks: Webhook[] };
  delete broken.webhooks[0]!.matchConditions[0].expression;
  assert.throws(() => validateAgainstKubernetesSchema(broken), /expression/);
});

test('fail closed, no side effects, v1 reviews, pods CREATE/UPDATE and ephemeral containers, served at /validate with the mutating CA', () => {
  const chart = rendered('default');
  const { webhook } = validatingOf(chart);
  const mutating = (chart.one('MutatingWebhookConfiguration') as KubernetesObject & { webhooks: Webhook[] }).webhooks[0]!;
  assert.equal(webhook.name, 'control-plane-tokens.sidegate.dev');
  assert.deepEqual(webhook.admissionReviewVersions, ['v1']);
  assert.deepEqual(webhook.rules, [{ operations: ['CREATE', 'UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods', 'pods/ephemeralcontainers'], scope: 'Namespaced' }]);
  assert.equal(webhook.failurePolicy, 'Fail');
  assert.equal(webhook.sideEffects, 'None');
  assert.equal(webhook.matchPolicy, 'Equivalent');
  assert.equal(webhook.timeoutSeconds, 5);
  assert.deepEqual(webhook.clientConfig.service, { ...mutating.clientConfig.service, path: '/validate' });
  assert.ok(webhook.clientConfig.caBundle);
  assert.equal(webhook.clientConfig.caBundle, mutating.clientConfig.caBundle, 'one CA for both configurations');
  assert.equal(webhook.objectSelector, undefined, 'an attacker chooses the pod labels: no object selector');
  // webhook.failurePolicy opens the mutating webhook only; this one stays closed.
  const open = validatingOf(renderChart(['webhook.failurePolicy=Ignore'])).webhook;
  assert.equal(open.failurePolicy, 'Fail');
});

test('every namespace but the release namespace, whatever its labels', () => {
  const selector = validatingOf(rendered('default')).webhook.namespaceSelector as LabelSelector;
  const namespace = (name: string, labels: Record<string, string> = {}) => ({ 'kubernetes.io/metadata.name': name, ...labels });
  assert.equal(labelSelectorMatches(selector, namespace(RELEASE_NAMESPACE)), false);
  for (const labels of [{}, { 'sidegate.dev/inject': 'enabled' }, { 'sidegate.dev/inject': 'disabled' }] as Array<Record<string, string>>) {
    for (const name of ['ci', 'build', 'default', 'kube-system']) assert.equal(labelSelectorMatches(selector, namespace(name, labels)), true, `${name} ${JSON.stringify(labels)}`);
  }
});

test('the CEL condition lists exactly the audiences the webhook guards, however they are configured', () => {
  const expected: Record<Variant, string[] | undefined> = {
    default: ['sidegate-broker', 'sidegate-exchange'],
    exchange: ['orders-exchange', 'sidegate-broker'],
    brokerAudience: ['orders-broker', 'sidegate-exchange'],
    injectionAudiences: ['other-broker', 'other-exchange'],
    certManager: ['sidegate-broker', 'sidegate-exchange'],
    disabled: undefined,
  };
  for (const [variant, audiences] of Object.entries(expected) as Array<[Variant, string[] | undefined]>) {
    if (audiences === undefined) continue;
    const chart = rendered(variant);
    assert.deepEqual(conditionAudiences(validatingOf(chart).webhook), audiences, variant);
    assert.deepEqual(injectionAudiences(chart), audiences, `${variant}: the webhook reads the same list from injection.yaml`);
  }
  // Extra audiences, one of them with characters a CEL string literal must escape.
  const extra = renderChart([], ['--set-json', 'injection.extraControlPlaneAudiences=["vault-db","https://exchange.example.com/\\"quoted\\"\\\\"]']);
  const audiences = ['https://exchange.example.com/"quoted"\\', 'sidegate-broker', 'sidegate-exchange', 'vault-db'];
  assert.deepEqual(conditionAudiences(validatingOf(extra).webhook), audiences);
  assert.deepEqual(injectionAudiences(extra), audiences);
});

test('with cert-manager the CA is injected into both configurations from the same Certificate', () => {
  const chart = rendered('certManager');
  const { configuration, webhook } = validatingOf(chart);
  const mutating = chart.one('MutatingWebhookConfiguration');
  assert.equal(configuration.metadata.annotations?.['cert-manager.io/inject-ca-from'], mutating.metadata.annotations?.['cert-manager.io/inject-ca-from']);
  assert.equal(webhook.clientConfig.caBundle, undefined);
});

test('before Kubernetes 1.28 (no matchConditions) the render refuses rather than send every pod of the cluster', () => {
  const old = runHelm(['template', RELEASE_NAME, chartDirectory, '--namespace', RELEASE_NAMESPACE, '--kube-version', '1.27.0', ...setArguments([])]);
  assert.notEqual(old.status, 0);
  assert.match(old.stderr, /validation\.enabled needs matchConditions \(Kubernetes 1\.28 or later\)/);
  const without = renderChart(['validation.enabled=false'], ['--kube-version', '1.27.0']);
  assert.equal(without.ofKind('ValidatingWebhookConfiguration').length, 0);
  assert.equal(validatingOf(renderChart([], ['--kube-version', '1.28.0'])).webhook.failurePolicy, 'Fail');
});

test('values.schema.json refuses an open or unknown validation setting', () => {
  for (const setting of ['validation.failurePolicy=Ignore', 'validation.enabled=maybe', 'validation.timeoutSeconds=0']) {
    const result = runHelm(['template', RELEASE_NAME, chartDirectory, '--namespace', RELEASE_NAMESPACE, '--set', setting, ...setArguments([])]);
    assert.notEqual(result.status, 0, setting);
  }
  for (const audiences of ['[""]', '["a","a"]']) {
    const result = runHelm(['template', RELEASE_NAME, chartDirectory, '--namespace', RELEASE_NAMESPACE, '--set-json', `injection.extraControlPlaneAudiences=${audiences}`, ...setArguments([])]);
    assert.notEqual(result.status, 0, audiences);
  }
});

/** A JSON value as CEL sees an API object: objects are maps, arrays lists. */
function celValue(v: unknown): CelInput {
  if (Array.isArray(v)) return v.map(celValue);
  if (v !== null && typeof v === 'object') return new Map(Object.entries(v).map(([k, x]) => [k, celValue(x)]));
  return v as CelInput;
}

/** Every pod of the validation and injection golden files (injected ones patched), and edge shapes. */
function goldenPods(): [string, Pod][] {
  const pods: [string, Pod][] = [];
  for (const name of validationCases) {
    const { pod, updated } = casePods(name, readValidationCase(name));
    pods.push([name, pod]);
    if (updated) pods.push([`${name} (updated)`, updated]);
  }
  const injection = join(repositoryRoot, 'test', 'golden', 'injection');
  for (const file of readdirSync(injection).filter((f) => f.endsWith('.input.yaml'))) {
    const name = file.slice(0, -'.input.yaml'.length);
    const input = parseYaml(readFileSync(join(injection, file), 'utf8')) as { pod: Pod };
    pods.push([name, input.pod]);
    let patch: unknown;
    try {
      patch = JSON.parse(readFileSync(join(injection, `${name}.patch.json`), 'utf8'));
    } catch {
      continue; // a skipped or denied case has no patch
    }
    pods.push([`${name} (patched)`, applyJsonPatch(input.pod, patch as never) as Pod]);
  }
  const edges: Pod[] = [
    { spec: { containers: [] } },
    { spec: { containers: [], volumes: [] } },
    { spec: { containers: [], volumes: [{ name: 'p', projected: {} }] } },
    { spec: { containers: [], volumes: [{ name: 'p', projected: { sources: [{ serviceAccountToken: { path: 't' } }, { configMap: { name: 'x' } }] } }] } },
    { spec: { containers: [], volumes: [{ name: 'e', emptyDir: {} }] } },
  ];
  edges.forEach((pod, n) => pods.push([`edge ${n}`, pod]));
  return pods;
}

test("evaluated as CEL, the condition sends exactly the pods in which the webhook's check finds a control-plane token", () => {
  const pods = goldenPods();
  assert.ok(pods.length > 100);
  for (const variant of ['default', 'exchange', 'brokerAudience', 'injectionAudiences'] as const) {
    const chart = rendered(variant);
    const expression: string = validatingOf(chart).webhook.matchConditions[0].expression;
    const config = parseInjectionConfigYaml(chart.configMapData(`${RELEASE_NAME}-sidegate-injection`, 'injection.yaml'));
    let selected = 0;
    for (const [name, pod] of pods) {
      const expected = controlPlaneTokenVolumes(pod, config).size > 0;
      assert.equal(evaluateCel(expression, { object: celValue(pod) }), expected, `${variant}: ${name}`);
      if (expected) selected++;
    }
    // The golden pods carry the default audiences: only configurations that guard those select any.
    assert.ok(selected < pods.length, `${variant}: not every pod (${selected}/${pods.length})`);
    if (variant === 'default' || variant === 'exchange') assert.ok(selected > 0, `${variant}: the golden pods with tokens are selected`);
  }
});
