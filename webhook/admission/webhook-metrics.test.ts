// The webhook's /metrics over real HTTPS after one admission of each result: Prometheus' promtool
// accepts it and the counts are the answers given.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseInjectionConfig } from '../config/injection-config.js';
import { makeSelfSignedCertificate } from '../../test/support/self-signed-certificate.js';
import { httpsRequest } from '../../test/support/https-json-client.js';
import { helpedNames, parseSamples, promtoolCheck, sampleValue } from '../../test/support/prometheus-text.js';
import { createStaticNamespaceLookup } from './namespace-lookup.js';
import { startWebhookServer } from './webhook-server.js';
import { WebhookMetrics } from './webhook-metrics.js';

function review(namespace: string, containers: unknown[]) {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `uid-${Math.random().toString(16).slice(2)}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace,
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:job-controller' },
      object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'job-canary-pod' }, spec: { containers } },
      oldObject: null,
      dryRun: false,
    },
  };
}

test('/metrics counts injected, skipped, refused and failed admissions, with their latency', async () => {
  const cert = makeSelfSignedCertificate();
  const labelled = createStaticNamespaceLookup({ ci: { 'sidegate.dev/inject': 'enabled' }, plain: {} });
  const server = await startWebhookServer({
    host: '127.0.0.1',
    port: 0,
    tls: { certFile: cert.certFile, keyFile: cert.keyFile },
    config: parseInjectionConfig({ escapePolicy: 'refuse' }),
    namespaceLookup: async (name, signal) => {
      if (name === 'broken') throw new Error('HTTP 403 from the API');
      return labelled(name, signal);
    },
    metrics: new WebhookMetrics(),
  });
  const base = `https://localhost:${server.port}`;
  const post = (body: unknown, path = '/mutate') => httpsRequest(`${base}${path}`, { ca: cert.cert, method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  try {
    const job = { name: 'job', image: 'postgres:15' };
    assert.ok((await post(review('ci', [job]))).json.response.patch, 'injected');
    assert.ok((await post(review('ci', [job]))).json.response.patch, 'injected again');
    assert.equal((await post(review('plain', [job]))).json.response.patch, undefined, 'skipped');
    assert.equal((await post(review('ci', [{ ...job, securityContext: { privileged: true } }]))).json.response.allowed, false, 'refused');
    assert.equal((await post(review('broken', [job]))).json.response.status.code, 500, 'failed');
    assert.equal((await post(review('ci', [job]), '/validate')).json.response.allowed, true, 'validated: holds no control-plane token');

    const reply = await httpsRequest(`${base}/metrics`, { ca: cert.cert });
    assert.equal(reply.status, 200);
    assert.match(String(reply.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const check = promtoolCheck(reply.text);
    assert.deepEqual(check.problems.filter((p) => !/^nodejs_active_(handles|requests|resources)_total /.test(p)), [], check.problems.join('\n'));
    const samples = parseSamples(reply.text);
    const v = (name: string, labels: Record<string, string>) => sampleValue(samples, name, labels);
    assert.equal(v('sidegate_webhook_admissions_total', { check: 'mutate', result: 'injected' }), 2);
    assert.equal(v('sidegate_webhook_admissions_total', { check: 'mutate', result: 'skipped' }), 1);
    assert.equal(v('sidegate_webhook_admissions_total', { check: 'mutate', result: 'refused' }), 1);
    assert.equal(v('sidegate_webhook_admissions_total', { check: 'mutate', result: 'error' }), 1);
    assert.equal(v('sidegate_webhook_admissions_total', { check: 'validate', result: 'skipped' }), 1);
    assert.equal(v('sidegate_webhook_admission_duration_seconds_count', { check: 'mutate', result: 'injected' }), 2);
    assert.ok(helpedNames(reply.text).has('sidegate_webhook_admissions_total'));
    assert.doesNotMatch(reply.text, /job-canary-pod|postgres:15/, 'no pod detail becomes a label');
  } finally {
    await server.close();
  }
});
