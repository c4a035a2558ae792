import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_RESOURCE_ATTRIBUTES, ResourceEnvError, parseResourceAttributes, resourceFromEnv } from './otel-resource-env.js';

test('OTEL_RESOURCE_ATTRIBUTES: key=value pairs, percent-decoded, blanks trimmed', () => {
  assert.deepEqual(parseResourceAttributes(' deployment.environment.name=prod , team=data%20platform,note=a%3Db%2Cc,'), {
    'deployment.environment.name': 'prod',
    team: 'data platform',
    note: 'a=b,c',
  });
  assert.deepEqual(parseResourceAttributes(undefined), {});
  assert.deepEqual(parseResourceAttributes('  '), {});
});

test('OTEL_RESOURCE_ATTRIBUTES: malformed entries refuse the whole value without echoing it', () => {
  for (const raw of ['novalue', '=x', 'k=%E0%A4%A', 'k=ok,secret-token-123']) {
    assert.throws(() => parseResourceAttributes(raw), (e: Error) => e instanceof ResourceEnvError && !e.message.includes('secret') && !e.message.includes('%E0'), raw);
  }
});

test('OTEL_RESOURCE_ATTRIBUTES is bounded in length and entries', () => {
  assert.throws(() => parseResourceAttributes('k=' + 'x'.repeat(9000)), /longer than/);
  const many = Array.from({ length: MAX_RESOURCE_ATTRIBUTES + 1 }, (_, i) => `k${i}=v`).join(',');
  assert.throws(() => parseResourceAttributes(many), /more than 64 entries/);
  const most = Array.from({ length: MAX_RESOURCE_ATTRIBUTES }, (_, i) => `k${i}=v`).join(',');
  assert.equal(Object.keys(parseResourceAttributes(most)).length, MAX_RESOURCE_ATTRIBUTES);
});

test('OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES', () => {
  assert.deepEqual(resourceFromEnv({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attributes,team=a' }), { 'service.name': 'from-attributes', team: 'a' });
  assert.deepEqual(resourceFromEnv({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attributes', OTEL_SERVICE_NAME: 'ci-gateway' }), { 'service.name': 'ci-gateway' });
  assert.deepEqual(resourceFromEnv({}), {});
});
