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
    tokenExpirationSeconds: 3600,
  });
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
