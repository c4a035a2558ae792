// Golden tests for the injection: every test/golden/injection/<case>.input.yaml (pod, namespace,
// optional config overrides) must produce exactly <case>.result.json and, for injected pods,
// <case>.patch.json. UPDATE_GOLDEN=1 rewrites them (review the diff!). Each produced patch is also
// applied to its pod and the result validated against the Kubernetes schema, re-injected (must be
// a no-op), and checked for the properties that keep capture sound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { Pod as PodModel } from 'kubernetes-models/v1';
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import { injectPod, type InjectionResult, type InjectionStatus } from './inject-pod.js';
import { applyJsonPatch } from '../../test/support/apply-json-patch.js';
import { parseInjectionConfig, type InjectionConfig } from '../config/injection-config.js';
import { INIT_CONTAINER_NAME, POD_STATUS_ANNOTATION, SIDECAR_CONTAINER_NAME, SIDECAR_PATHS, VOLUME_NAMES } from './pod-markers.js';
import { AUDIT_VOLUME_HEADROOM_BYTES } from './audit-volume.js';
import { parseResourceQuantity } from './resource-quantity.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const goldenDir = join(repoRoot, 'test/golden/injection');
const update = process.env['UPDATE_GOLDEN'] === '1';

interface GoldenCase {
  description: string;
  namespace: { name: string; labels: Record<string, string> };
  pod: Pod;
  config?: unknown;
}

const cases = readdirSync(goldenDir)
  .filter((f) => f.endsWith('.input.yaml'))
  .map((f) => f.slice(0, -'.input.yaml'.length))
  .sort();

test('the golden directory holds every case the issue names', () => {
  for (const required of [
    'plain-pod', 'opted-out-pod', 'already-injected-pod', 'host-network-pod', 'gitlab-runner-pod', 'arc-runner-pod',
    'tekton-pod', 'traffic-annotations', 'traffic-all-ports', 'classic-sidecar-config', 'classic-sidecar-annotation',
    'explicit-opt-in', 'injector-own-pod', 'escape-uid-pod-level-warn', 'escape-uid-pod-level-refuse',
    'escape-privileged-warn', 'escape-privileged-refuse', 'escape-net-admin-warn', 'escape-net-admin-refuse',
    'escape-net-raw-warn', 'escape-net-raw-refuse', 'broker-with-ca', 'broker-without-ca', 'no-broker',
    'label-opt-in-unlabelled-namespace', 'label-opt-out-labelled-namespace', 'invalid-inject-label',
    'inject-label-annotation-conflict', 'namespace-disabled-pod-opts-in', 'sidecar-extras', 'sidecar-resource-annotations',
    'sidecar-invalid-annotations', 'sidecar-request-above-limit', 'extra-volume-name-collision',
    'exchange-with-ca', 'exchange-with-fallback-secret', 'escape-exchange-token-refuse',
    'forged-status-annotation', 'forged-status-fake-sidecar', 'forged-status-unlabelled-namespace',
    'escape-risk-with-control-plane-token', 'escape-shared-pid-ptrace-warn',
    'metrics-scrape-annotations', 'metrics-scrape-appended', 'metrics-scrape-pod-own',
    'audit-otlp-export', 'audit-file-explicit',
  ]) {
    assert.ok(cases.includes(required), `missing golden case ${required}`);
  }
});

for (const name of cases) {
  test(`golden injection: ${name}`, () => {
    const input = parseYaml(readFileSync(join(goldenDir, `${name}.input.yaml`), 'utf8')) as GoldenCase;
    const config = parseInjectionConfig(input.config ?? {}, `${name}.input.yaml config`);
    const podBefore = structuredClone(input.pod);
    const result = injectPod({ pod: input.pod, namespace: input.namespace, config, operation: 'CREATE' });
    assert.deepEqual(input.pod, podBefore, 'injectPod must not modify its input');

    const summary = result.kind === 'inject' ? { kind: result.kind, warnings: result.warnings } : result;
    compareGolden(join(goldenDir, `${name}.result.json`), summary);
    const patchFile = join(goldenDir, `${name}.patch.json`);
    if (result.kind !== 'inject') {
      if (update && existsSync(patchFile)) rmSync(patchFile);
      assert.ok(!existsSync(patchFile), `${name}: a ${result.kind} result has no patch, but ${name}.patch.json exists`);
      return;
    }
    compareGolden(patchFile, result.patch);
    checkInjectedPod(name, input, config, result);
  });
}

test('dryRun gets the same answer (injection has no side effects)', () => {
  const input = parseYaml(readFileSync(join(goldenDir, 'plain-pod.input.yaml'), 'utf8')) as GoldenCase;
  const config = parseInjectionConfig({});
  const normal = injectPod({ pod: input.pod, namespace: input.namespace, config, operation: 'CREATE' });
  const dry = injectPod({ pod: input.pod, namespace: input.namespace, config, operation: 'CREATE', dryRun: true });
  assert.deepEqual(dry, normal);
});

test('a pod without metadata gets the whole metadata object with the status annotation', () => {
  const result = injectPod({
    pod: { spec: { containers: [{ name: 'c', image: 'busybox' }] } },
    namespace: { name: 'ci', labels: { 'sidegate.dev/inject': 'enabled' } },
    config: parseInjectionConfig({}),
    operation: 'CREATE',
  });
  assert.equal(result.kind, 'inject');
  const patched = applyJsonPatch({ spec: { containers: [{ name: 'c', image: 'busybox' }] } } as Pod, result.kind === 'inject' ? result.patch : []);
  assert.ok(patched.metadata?.annotations?.[POD_STATUS_ANNOTATION]);
});

function checkInjectedPod(name: string, input: GoldenCase, config: InjectionConfig, result: Extract<InjectionResult, { kind: 'inject' }>) {
  const patched = applyJsonPatch(input.pod, result.patch);
  // Valid against the Kubernetes OpenAPI schema (throws with the offending path if not).
  new PodModel(patched as ConstructorParameters<typeof PodModel>[0]).validate();

  const status = JSON.parse(patched.metadata!.annotations![POD_STATUS_ANNOTATION]!) as InjectionStatus;
  const init = patched.spec!.initContainers!;
  const containers = patched.spec!.containers;
  assert.equal(init[0]!.name, INIT_CONTAINER_NAME, `${name}: the rules are installed before anything else runs`);
  let sidecar: Container;
  if (status.sidecarMode === 'native') {
    sidecar = init[1]!;
    assert.equal(sidecar.name, SIDECAR_CONTAINER_NAME);
    assert.equal(sidecar.restartPolicy, 'Always');
    assert.deepEqual(status.initContainers, [INIT_CONTAINER_NAME, SIDECAR_CONTAINER_NAME]);
    assert.deepEqual(init.slice(2), input.pod.spec!.initContainers ?? [], `${name}: the pod's own init containers follow, unchanged`);
    assert.deepEqual(containers, input.pod.spec!.containers, `${name}: runner containers are unchanged`);
  } else {
    sidecar = containers[0]!;
    assert.equal(sidecar.name, SIDECAR_CONTAINER_NAME);
    assert.equal(sidecar.restartPolicy, undefined);
    assert.deepEqual(status.containers, [SIDECAR_CONTAINER_NAME]);
    assert.deepEqual(containers.slice(1), input.pod.spec!.containers);
    assert.deepEqual(init.slice(1), input.pod.spec!.initContainers ?? []);
  }
  assert.deepEqual(patched.spec!.volumes!.slice(0, input.pod.spec!.volumes?.length ?? 0), input.pod.spec!.volumes ?? []);

  // The projected token is readable by the sidecar only; no runner container mounts any of our
  // volumes, nor the configuration's extra ones.
  const extras = config.extraVolumes.map((v) => v.name);
  const ours = new Set<string>([...Object.values(VOLUME_NAMES), ...extras]);
  for (const c of [...init, ...containers]) {
    const mounted = (c.volumeMounts ?? []).map((m) => m.name).filter((v) => ours.has(v));
    if (c.name === SIDECAR_CONTAINER_NAME) {
      assert.ok(mounted.includes(VOLUME_NAMES.token));
      for (const mount of config.extraVolumeMounts) assert.ok(mounted.includes(mount.name), `${name}: the sidecar mounts ${mount.name}`);
      for (const env of config.extraEnv) assert.deepEqual(c.env!.filter((e) => e.name === env.name), [env], `${name}: ${env.name} once, as configured`);
      const names = c.env!.map((e) => e.name);
      assert.equal(new Set(names).size, names.length, `${name}: no variable twice`);
    }
    else if (c.name === INIT_CONTAINER_NAME) assert.deepEqual(mounted, [VOLUME_NAMES.initTmp]);
    else assert.deepEqual(mounted, [], `${name}: runner container ${c.name} must not mount ${mounted.join(', ')}`);
  }
  const tokenVolume = patched.spec!.volumes!.find((v) => v.name === VOLUME_NAMES.token)!;
  assert.equal(tokenVolume.projected!.sources![0]!.serviceAccountToken!.audience, config.tokenAudience);
  checkBrokerWiring(name, config, patched, sidecar);
  checkAuditWiring(name, config, result, patched, sidecar);

  // The sidecar runs as the uid the rules exclude, with nothing to spare; the init container has only network capabilities.
  assert.equal(sidecar.securityContext!.runAsUser, config.uid);
  assert.equal(sidecar.securityContext!.runAsGroup, config.gid);
  assert.deepEqual(sidecar.securityContext!.capabilities, { drop: ['ALL'] });
  assert.equal(sidecar.securityContext!.readOnlyRootFilesystem, true);
  assert.deepEqual(init[0]!.securityContext!.capabilities, { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] });
  const initArgs = init[0]!.args!;
  assert.equal(initArgs[initArgs.indexOf('--uid') + 1], String(config.uid));
  assert.equal(initArgs[initArgs.indexOf('--capture-port') + 1], String(config.capturePort));

  // Re-invocation is a no-op.
  const again = injectPod({ pod: patched, namespace: input.namespace, config, operation: 'CREATE' });
  assert.equal(again.kind, 'skip', `${name}: re-injecting must be a no-op`);
}

// The spool's bound and its volume's size limit come from one value and agree; the pod's spans
// name it (downward-API env); spans that stay in the pod are announced in the admission response.
function checkAuditWiring(name: string, config: InjectionConfig, result: Extract<InjectionResult, { kind: 'inject' }>, patched: Pod, sidecar: Container) {
  const args = sidecar.args!;
  const bound = Number(args[args.indexOf('--audit-spool-max-bytes') + 1]);
  const sizeLimit = patched.spec!.volumes!.find((v) => v.name === VOLUME_NAMES.state)!.emptyDir!.sizeLimit!;
  assert.equal(bound, parseResourceQuantity('memory', config.auditSpoolSize), `${name}: the bound is auditSpoolSize`);
  assert.equal(parseResourceQuantity('memory', sizeLimit), bound + AUDIT_VOLUME_HEADROOM_BYTES, `${name}: the volume is the bound plus the headroom`);
  const env = new Map((sidecar.env ?? []).map((e) => [e.name, e]));
  assert.deepEqual(
    ['SIDEGATE_POD_NAME', 'SIDEGATE_POD_NAMESPACE', 'SIDEGATE_POD_UID', 'SIDEGATE_NODE_NAME'].map((n) => env.get(n)?.valueFrom?.fieldRef?.fieldPath),
    ['metadata.name', 'metadata.namespace', 'metadata.uid', 'spec.nodeName'],
  );
  const staysInPod = result.warnings.some((w) => /audit spans stay in the pod/.test(w));
  assert.equal(staysInPod, config.otlpEndpoint === undefined, `${name}: a warning exactly when spans are not exported`);
  assert.equal(env.get('OTEL_EXPORTER_OTLP_ENDPOINT')?.value, config.otlpEndpoint);
}

test('the audit exporter is an explicit choice: otlp needs an endpoint, file refuses one; the spool size is bounded', () => {
  assert.throws(() => parseInjectionConfig({ auditExporter: 'otlp' }), /auditExporter is otlp, but no otlpEndpoint/);
  assert.throws(() => parseInjectionConfig({ auditExporter: 'file', otlpEndpoint: 'http://c:4318' }), /auditExporter: is file, but otlpEndpoint is set/);
  assert.throws(() => parseInjectionConfig({ auditSpoolSize: '1Mi' }), /between 16Mi and 64Gi/);
  assert.throws(() => parseInjectionConfig({ auditSpoolSize: '1.5Gi' }), /auditSpoolSize/);
  assert.equal(parseInjectionConfig({}).auditExporter, 'file');
  assert.equal(parseInjectionConfig({ otlpEndpoint: 'http://c:4318' }).auditExporter, 'otlp');
});

// The broker's token and CA reach the sidecar when a broker is configured, and nothing else ever:
// not the init container, not a runner container (nor the pod's own init containers).
function checkBrokerWiring(name: string, config: InjectionConfig, patched: Pod, sidecar: Container) {
  const tokens = patched.spec!.volumes!.find((v) => v.name === VOLUME_NAMES.token)!.projected!.sources!.map((s) => s.serviceAccountToken!);
  const caVolume = patched.spec!.volumes!.find((v) => v.name === VOLUME_NAMES.brokerCa);
  const args = sidecar.args!;
  const caEnv = (c: Container) => (c.env ?? []).find((e) => e.name === 'NODE_EXTRA_CA_CERTS');
  const exchangeToken = config.exchangeUrl ? [[config.exchangeTokenAudience, 'exchange-token', config.tokenExpirationSeconds]] : [];
  if (config.brokerUrl) {
    assert.deepEqual(tokens.map((t) => [t.audience, t.path, t.expirationSeconds]), [
      [config.tokenAudience, 'token', config.tokenExpirationSeconds],
      [config.brokerTokenAudience, 'broker-token', config.tokenExpirationSeconds],
      ...exchangeToken,
    ], `${name}: the broker gets a token of its own audience, the identity token stays`);
    assert.equal(args[args.indexOf('--broker-token-file') + 1], SIDECAR_PATHS.brokerTokenFile);
    assert.equal(args[args.indexOf('--token-file') + 1], SIDECAR_PATHS.tokenFile);
  } else {
    assert.equal(tokens.length, 1 + exchangeToken.length, `${name}: no broker, no broker token`);
    assert.ok(!args.includes('--broker-url') && !args.includes('--broker-token-file'));
  }
  if (config.brokerCaConfigMap) {
    assert.deepEqual(caVolume?.configMap, { name: config.brokerCaConfigMap, items: [{ key: 'ca.crt', path: 'ca.crt' }] });
    const mount = sidecar.volumeMounts!.find((m) => m.name === VOLUME_NAMES.brokerCa)!;
    assert.equal(mount.readOnly, true);
    assert.equal(caEnv(sidecar)?.value, `${mount.mountPath}/ca.crt`, `${name}: NODE_EXTRA_CA_CERTS names the mounted ca.crt`);
  } else {
    assert.equal(caVolume, undefined, `${name}: no broker CA configured, no CA volume`);
    assert.equal(caEnv(sidecar), undefined);
  }
  checkExchangeWiring(name, config, patched, sidecar);
  for (const c of [...patched.spec!.initContainers!, ...patched.spec!.containers]) {
    if (c.name === SIDECAR_CONTAINER_NAME) continue;
    assert.equal(caEnv(c), undefined, `${name}: ${c.name} must not get the broker CA`);
    assert.ok(!(c.volumeMounts ?? []).some((m) => m.name === VOLUME_NAMES.credentials || m.name === VOLUME_NAMES.exchangeCa), `${name}: ${c.name} must not mount credentials or the exchange CA`);
    assert.ok(!(c.volumeMounts ?? []).some((m) => m.name === VOLUME_NAMES.token || m.name === VOLUME_NAMES.brokerCa), `${name}: ${c.name} must not mount a token or the broker CA`);
  }
}

// The exchange's token, URL and CA reach the sidecar alone; with the exchange and no Secret named,
// no static database password is mounted anywhere in the pod.
function checkExchangeWiring(name: string, config: InjectionConfig, patched: Pod, sidecar: Container) {
  const volumes = patched.spec!.volumes!;
  const tokens = volumes.find((v) => v.name === VOLUME_NAMES.token)!.projected!.sources!.map((s) => s.serviceAccountToken!);
  const args = sidecar.args!;
  const argOf = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
  if (config.exchangeUrl) {
    const token = tokens.find((t) => t.path === 'exchange-token');
    assert.equal(token?.audience, config.exchangeTokenAudience, `${name}: the exchange gets a token of its own audience`);
    assert.equal(new Set(tokens.map((t) => t.audience)).size, tokens.length, `${name}: every projected token has its own audience`);
    assert.equal(argOf('--exchange-url'), config.exchangeUrl);
    assert.equal(argOf('--exchange-token-file'), SIDECAR_PATHS.exchangeTokenFile);
  } else {
    assert.ok(!args.includes('--exchange-url') && !tokens.some((t) => t.path === 'exchange-token'), `${name}: no exchange, no exchange token`);
  }
  const ca = volumes.find((v) => v.name === VOLUME_NAMES.exchangeCa);
  if (config.exchangeCaConfigMap) {
    assert.deepEqual(ca?.configMap, { name: config.exchangeCaConfigMap, items: [{ key: 'ca.crt', path: 'ca.crt' }] });
    const mount = sidecar.volumeMounts!.find((m) => m.name === VOLUME_NAMES.exchangeCa)!;
    assert.equal(argOf('--exchange-ca-file'), `${mount.mountPath}/ca.crt`);
  } else {
    assert.equal(ca, undefined);
    assert.ok(!args.includes('--exchange-ca-file'));
  }
  const secret = volumes.find((v) => v.name === VOLUME_NAMES.credentials);
  assert.equal(secret?.secret?.secretName, config.credentialsSecret, `${name}: the credentials Secret is mounted exactly when one is configured`);
  assert.equal(args.includes('--credentials'), config.credentialsSecret !== undefined);
}

function compareGolden(file: string, actual: unknown) {
  const text = JSON.stringify(actual, null, 2) + '\n';
  if (update) writeFileSync(file, text);
  assert.ok(existsSync(file), `${file} is missing; run with UPDATE_GOLDEN=1 to create it`);
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), actual, `${file} differs; if the change is intended, run with UPDATE_GOLDEN=1 and review the diff`);
}
