import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultInjectionConfig, loadInjectionConfigFile, parseInjectionConfigYaml } from './injection-config.js';

test('defaults follow DESIGN.md: image, uid/gid 7331, ports 16001/16002, native, warn, deny', () => {
  assert.deepEqual(defaultInjectionConfig, {
    image: 'sidegate:dev',
    imagePullPolicy: 'IfNotPresent',
    uid: 7331,
    gid: 7331,
    capturePort: 16001,
    adminPort: 16002,
    includeOutboundPorts: [3306, 5432],
    excludeOutboundPorts: [],
    excludeOutboundIpRanges: [],
    resources: { requests: { cpu: '50m', memory: '96Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
    sidecarMode: 'native',
    escapePolicy: 'warn',
    failureMode: 'deny',
    policyConfigMap: 'sidegate-policy',
    credentialsSecret: 'sidegate-credentials',
    tokenAudience: 'sidegate',
    brokerTokenAudience: 'sidegate-broker',
    exchangeTokenAudience: 'sidegate-exchange',
    extraControlPlaneAudiences: [],
    tokenExpirationSeconds: 3600,
    // No collector named: spans stay in the pod, and every injection says so (the chart makes
    // this a choice the operator writes down).
    auditExporter: 'file',
    auditSpoolSize: '256Mi',
    extraEnv: [],
    extraVolumes: [],
    extraVolumeMounts: [],
    metricsScrapeAnnotations: false,
  });
});

test('extra environment, volumes and mounts for the sidecar: strictly typed, mounts read-only by default', () => {
  const config = parseInjectionConfigYaml(`
logLevel: debug
extraEnv:
  - { name: OTEL_EXPORTER_OTLP_HEADERS, valueFrom: { secretKeyRef: { name: otlp-auth, key: headers } } }
  - { name: PGSSLROOTCERT, value: /etc/db-ca/ca.crt }
extraVolumes:
  - { name: db-ca, secret: { secretName: db-ca } }
  - { name: scratch, emptyDir: { medium: Memory, sizeLimit: 1Mi } }
extraVolumeMounts:
  - { name: db-ca, mountPath: /etc/db-ca }
  - { name: scratch, mountPath: /scratch, readOnly: false }
`);
  assert.equal(config.logLevel, 'debug');
  assert.equal(config.extraEnv.length, 2);
  assert.deepEqual(config.extraVolumeMounts, [
    { name: 'db-ca', mountPath: '/etc/db-ca', readOnly: true },
    { name: 'scratch', mountPath: '/scratch', readOnly: false },
  ]);
});

test('extras that would collide with what sidegate injects, or with each other, are refused', () => {
  const cases: Array<[string, RegExp]> = [
    ['extraEnv: [{ name: SIDEGATE_POD_NAME, value: x }]', /extraEnv\.0\.name: SIDEGATE_POD_NAME is set by sidegate itself/],
    ['extraEnv: [{ name: SIDEGATE_LOG_LEVEL, value: debug }]', /SIDEGATE_LOG_LEVEL is set by sidegate itself \(use logLevel/],
    ['extraEnv: [{ name: NODE_EXTRA_CA_CERTS, value: /ca.crt }]', /NODE_EXTRA_CA_CERTS is set by sidegate itself.*OTEL_EXPORTER_OTLP_CERTIFICATE/],
    ['extraEnv: [{ name: OTEL_EXPORTER_OTLP_ENDPOINT, value: "http://c:4318" }]', /use otlpEndpoint/],
    ['extraEnv: [{ name: A, value: x }, { name: A, value: y }]', /extraEnv\.1\.name: A is listed twice/],
    ['extraEnv: [{ name: A, value: x, valueFrom: { fieldRef: { fieldPath: spec.nodeName } } }]', /extraEnv\.0/],
    ['extraEnv: [{ name: "1A", value: x }]', /extraEnv\.0/],
    ['extraEnv: [{ name: A, valueFrom: { secretKeyRef: { name: s } } }]', /extraEnv\.0/],
    ['extraVolumes: [{ name: sidegate-token, emptyDir: {} }]', /extraVolumes\.0\.name: sidegate-token: names beginning "sidegate-" are reserved/],
    ['extraVolumes: [{ name: sidegate-extra, emptyDir: {} }]', /reserved for the volumes sidegate injects/],
    ['extraVolumes: [{ name: ca, emptyDir: {} }, { name: ca, emptyDir: {} }]', /extraVolumes\.1\.name: ca is listed twice/],
    ['extraVolumes: [{ name: host, hostPath: { path: / } }]', /extraVolumes\.0/],
    ['extraVolumes: [{ name: Bad_Name, emptyDir: {} }]', /extraVolumes\.0/],
    ['extraVolumeMounts: [{ name: missing, mountPath: /x }]', /extraVolumeMounts\.0\.name: missing is not one of extraVolumes/],
    ['{ extraVolumes: [{ name: ca, emptyDir: {} }], extraVolumeMounts: [{ name: ca, mountPath: /etc/sidegate/policy }] }', /overlaps sidegate's own mount \/etc\/sidegate\/policy/],
    ['{ extraVolumes: [{ name: ca, emptyDir: {} }], extraVolumeMounts: [{ name: ca, mountPath: /etc/sidegate }] }', /overlaps sidegate's own mount/],
    ['{ extraVolumes: [{ name: ca, emptyDir: {} }], extraVolumeMounts: [{ name: ca, mountPath: /var/run/secrets/sidegate/extra }] }', /overlaps sidegate's own mount \/var\/run\/secrets\/sidegate/],
    ['{ extraVolumes: [{ name: ca, emptyDir: {} }], extraVolumeMounts: [{ name: ca, mountPath: / }] }', /overlaps sidegate's own mount/],
    ['{ extraVolumes: [{ name: ca, emptyDir: {} }], extraVolumeMounts: [{ name: ca, mountPath: relative/path }] }', /mountPath: an absolute path/],
    ['{ extraVolumes: [{ name: ca, emptyDir: {} }], extraVolumeMounts: [{ name: ca, mountPath: /a }, { name: ca, mountPath: /a/b }] }', /extraVolumeMounts\.1\.mountPath: \/a\/b overlaps another extra mount/],
    ['logLevel: verbose', /logLevel/],
  ];
  for (const [yaml, expected] of cases) {
    assert.throws(() => parseInjectionConfigYaml(yaml, 'webhook.yaml'), (err: Error) => {
      assert.match(err.message, expected);
      return true;
    }, yaml);
  }
});

test('a YAML file overrides what it names and keeps the other defaults', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'sidegate-config-')), 'webhook.yaml');
  writeFileSync(file, 'sidecarMode: classic\nincludeOutboundPorts: "*"\nbrokerUrl: https://broker.sidegate-system.svc:8443\n');
  const config = await loadInjectionConfigFile(file);
  assert.equal(config.sidecarMode, 'classic');
  assert.equal(config.includeOutboundPorts, '*');
  assert.equal(config.brokerUrl, 'https://broker.sidegate-system.svc:8443');
  assert.equal(config.uid, 7331);
});

test('the broker\'s CA ConfigMap and token audience are read beside its URL', () => {
  const config = parseInjectionConfigYaml('brokerUrl: https://broker.sidegate-system.svc\nbrokerCaConfigMap: sidegate-broker-ca\nbrokerTokenAudience: approvals\n');
  assert.equal(config.brokerCaConfigMap, 'sidegate-broker-ca');
  assert.equal(config.brokerTokenAudience, 'approvals');
  assert.equal(config.tokenAudience, 'sidegate', 'the identity token keeps its own audience');
});

test('with the token exchange, no credentials Secret unless one is named', () => {
  const exchange = parseInjectionConfigYaml('exchangeUrl: https://sidegate-exchange.sidegate-system.svc:8443\nexchangeCaConfigMap: sidegate-exchange-ca\n');
  assert.equal(exchange.credentialsSecret, undefined, 'no static password mounted by default');
  assert.equal(exchange.exchangeTokenAudience, 'sidegate-exchange');
  assert.equal(parseInjectionConfigYaml('exchangeUrl: https://x.example\ncredentialsSecret: fallback-logins\n').credentialsSecret, 'fallback-logins', 'an explicit fallback stays');
});

test('mistakes fail with the field named: typos, bad enums, ports, CIDRs, names', () => {
  const cases: Array<[string, RegExp]> = [
    ['escapPolicy: refuse', /unrecognized key.*escapPolicy|escapPolicy/i],
    ['failureMode: ignore', /failureMode/],
    ['capturePort: 70000', /capturePort/],
    ['excludeOutboundIpRanges: [10.0.0.0/40]', /excludeOutboundIpRanges\.0: an IPv4 or IPv6 CIDR/],
    ['policyConfigMap: My_Policy', /policyConfigMap: a Kubernetes object name/],
    ['resources: { requests: { cpu: lots, memory: 1Gi }, limits: { cpu: "1", memory: 1Gi } }', /resources\.requests\.cpu/],
    ['brokerUrl: ftp://broker', /brokerUrl/],
    ['brokerCaConfigMap: sidegate-broker-ca', /brokerCaConfigMap: names the broker's CA, but brokerUrl is not set/],
    ['{ brokerUrl: "https://broker", brokerCaConfigMap: Broker_CA }', /brokerCaConfigMap: a Kubernetes object name/],
    ['brokerTokenAudience: sidegate', /brokerTokenAudience: must differ from tokenAudience/],
    ['{ tokenAudience: shared, brokerTokenAudience: shared }', /brokerTokenAudience: must differ from tokenAudience \("shared"\)/],
    ['brokerTokenAudience: ""', /brokerTokenAudience/],
    ['exchangeUrl: http://exchange', /exchangeUrl/],
    ['exchangeCaConfigMap: sidegate-exchange-ca', /exchangeCaConfigMap: names the exchange's CA, but exchangeUrl is not set/],
    ['exchangeTokenAudience: sidegate', /exchangeTokenAudience: must differ from tokenAudience/],
    ['exchangeTokenAudience: sidegate-broker', /exchangeTokenAudience: must differ from brokerTokenAudience/],
    ['extraControlPlaneAudiences: [sidegate]', /extraControlPlaneAudiences: must not name tokenAudience/],
    ['extraControlPlaneAudiences: [""]', /extraControlPlaneAudiences\.0/],
    ['image: [', /not valid YAML/],
  ];
  for (const [yaml, expected] of cases) {
    assert.throws(() => parseInjectionConfigYaml(yaml, 'webhook.yaml'), (err: Error) => {
      assert.match(err.message, /^webhook\.yaml: /);
      assert.match(err.message, expected);
      return true;
    }, yaml);
  }
});
