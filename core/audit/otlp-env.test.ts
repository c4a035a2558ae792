import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OtlpConfigError, otlpTracesConfig, parseOtlpHeaders } from './otlp-env.js';

test('no endpoint means file mode', () => {
  assert.equal(otlpTracesConfig({}), undefined);
  assert.equal(otlpTracesConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }), undefined);
});

test('the base endpoint gets /v1/traces; the traces endpoint is used as is and wins', () => {
  assert.equal(otlpTracesConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })!.url, 'http://collector:4318/v1/traces');
  const both = otlpTracesConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://b/custom/path' });
  assert.equal(both!.url, 'https://b/custom/path');
});

test('headers: traces-specific override general, values URL-decoded; the display URL drops credentials', () => {
  const c = otlpTracesConfig({
    OTEL_EXPORTER_OTLP_ENDPOINT: 'https://user:secret@collector:4318?token=abc',
    OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20one,x-tenant=a',
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'authorization=Bearer%20two',
    OTEL_EXPORTER_OTLP_TIMEOUT: '2500',
  })!;
  assert.deepEqual(c.headers, { authorization: 'Bearer two', 'x-tenant': 'a' });
  assert.equal(c.timeoutMs, 2500);
  assert.ok(!c.displayUrl.includes('secret') && !c.displayUrl.includes('abc'), c.displayUrl);
  assert.deepEqual(parseOtlpHeaders('novalue,=x,k=%E0%A4%A,ok=1'), { ok: '1' });
});

test('a malformed endpoint is a configuration error that does not echo the value', () => {
  assert.throws(() => otlpTracesConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url with secret' }), (e: Error) => e instanceof OtlpConfigError && !e.message.includes('secret'));
  assert.throws(() => otlpTracesConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://x' }), OtlpConfigError);
});
