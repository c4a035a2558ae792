import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EgressRuleMatcher } from './egress-rule-matcher.js';
import type { EgressPolicy } from '../../core/vocabulary.js';

const policy: EgressPolicy = {
  defaultAction: 'passthrough',
  rules: [
    { name: 'no-metadata', destinations: ['169.254.169.254'], action: 'refuse' },
    { name: 'registry-ok', destinations: ['10.20.0.0/16', 'fd00:20::/32'], ports: [443], protocols: ['tls'], action: 'passthrough' },
    { name: 'internal-refused', destinations: ['10.0.0.0/8', 'fd00::/8'], action: 'refuse' },
    { name: 'no-plain-http', protocols: ['http'], action: 'refuse' },
    { name: 'no-odd-ports', ports: [25, 6667], action: 'refuse' },
  ],
};
const m = new EgressRuleMatcher(policy);

test('first matching rule decides; every condition a rule gives must hold', () => {
  assert.deepEqual(m.decide({ host: '169.254.169.254', port: 80, protocol: 'http' }), { action: 'refuse', rule: 'no-metadata' });
  assert.deepEqual(m.decide({ host: '10.20.3.4', port: 443, protocol: 'tls' }), { action: 'passthrough', rule: 'registry-ok' });
  // Same range, but not TLS, or not 443: the registry rule does not match, the broader one does.
  assert.deepEqual(m.decide({ host: '10.20.3.4', port: 443, protocol: 'unknown' }), { action: 'refuse', rule: 'internal-refused' });
  assert.deepEqual(m.decide({ host: '10.20.3.4', port: 8443, protocol: 'tls' }), { action: 'refuse', rule: 'internal-refused' });
  assert.deepEqual(m.decide({ host: 'fd00:20::7', port: 443, protocol: 'tls' }), { action: 'passthrough', rule: 'registry-ok' });
  assert.deepEqual(m.decide({ host: 'fd00:99::7', port: 443, protocol: 'tls' }), { action: 'refuse', rule: 'internal-refused' });
  assert.deepEqual(m.decide({ host: '192.0.2.1', port: 8080, protocol: 'http' }), { action: 'refuse', rule: 'no-plain-http' });
  assert.deepEqual(m.decide({ host: '192.0.2.1', port: 25, protocol: 'unknown' }), { action: 'refuse', rule: 'no-odd-ports' });
});

test('no rule matches: the default, named egress-default', () => {
  assert.deepEqual(m.decide({ host: '192.0.2.1', port: 443, protocol: 'tls' }), { action: 'passthrough', rule: 'egress-default' });
  const strict = new EgressRuleMatcher({ defaultAction: 'refuse', rules: [] });
  assert.deepEqual(strict.decide({ host: '192.0.2.1', port: 443, protocol: 'tls' }), { action: 'refuse', rule: 'egress-default' });
});

test('an IPv4-mapped IPv6 destination is matched as its IPv4 address', () => {
  assert.deepEqual(m.decide({ host: '::ffff:10.1.2.3', port: 443, protocol: 'tls' }), { action: 'refuse', rule: 'internal-refused' });
  assert.deepEqual(m.decide({ host: '::ffff:169.254.169.254', port: 80, protocol: 'unknown' }), { action: 'refuse', rule: 'no-metadata' });
});

test('a destination that is not an IP address never matches a range', () => {
  assert.deepEqual(m.decide({ host: 'not-an-ip', port: 443, protocol: 'tls' }), { action: 'passthrough', rule: 'egress-default' });
});
