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

test('protocol: http/protobuf by default (the specification\'s), http/json on request, the traces variable wins', () => {
  const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
  assert.equal(otlpTracesConfig(endpoint)!.protocol, 'http/protobuf');
  assert.equal(otlpTracesConfig({ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })!.protocol, 'http/json');
  assert.equal(otlpTracesConfig({ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' })!.protocol, 'http/protobuf');
});

test('protocol: grpc is a clear start-up error; anything else unknown too', () => {
  const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317' };
  assert.throws(() => otlpTracesConfig({ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), (e: Error) => e instanceof OtlpConfigError && /grpc is not supported.*http\/protobuf.*4318/.test(e.message));
  assert.throws(() => otlpTracesConfig({ ...endpoint, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/xml' }), /OTEL_EXPORTER_OTLP_TRACES_PROTOCOL must be http\/protobuf or http\/json/);
});

test('certificates: CA and client pair per signal, only for https, the pair complete', () => {
  const c = otlpTracesConfig({
    OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector:4318',
    OTEL_EXPORTER_OTLP_CERTIFICATE: '/etc/otlp/general-ca.crt',
    OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: '/etc/otlp/ca.crt',
    OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: '/etc/otlp/tls.crt',
    OTEL_EXPORTER_OTLP_CLIENT_KEY: '/etc/otlp/tls.key',
    OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
  })!;
  assert.deepEqual(c.tls, { caFile: '/etc/otlp/ca.crt', certFile: '/etc/otlp/tls.crt', keyFile: '/etc/otlp/tls.key' });
  assert.equal(c.compression, 'gzip');
  assert.throws(() => otlpTracesConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_CERTIFICATE: '/ca.crt' }), /CERTIFICATE is set, but the OTLP endpoint is http:\/\//);
  assert.throws(() => otlpTracesConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector:4318', OTEL_EXPORTER_OTLP_CLIENT_KEY: '/k' }), /go together/);
  assert.throws(() => otlpTracesConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector:4318', OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd' }), /gzip or none/);
  assert.deepEqual(otlpTracesConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })!.tls, {});
});
