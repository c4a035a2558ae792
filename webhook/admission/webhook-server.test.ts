// The webhook over real HTTPS (self-signed certificate made by openssl), answering real
// AdmissionReviews as the API server sends them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { parseInjectionConfig } from '../config/injection-config.js';
import { applyJsonPatch } from '../../test/support/apply-json-patch.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../../test/support/self-signed-certificate.js';
import { httpsRequest } from '../../test/support/https-json-client.js';
import { createStaticNamespaceLookup, type NamespaceLookup } from './namespace-lookup.js';
import { startWebhookServer, type WebhookServer } from './webhook-server.js';

let cert: TestCertificate;
let server: WebhookServer;
let url: string;
const lookups: string[] = [];
const labelled = createStaticNamespaceLookup({ ci: { 'sidegate.dev/inject': 'enabled' } });

before(async () => {
  cert = makeSelfSignedCertificate();
  server = await startWebhookServer({
    host: '127.0.0.1',
    port: 0,
    tls: { certFile: cert.certFile, keyFile: cert.keyFile },
    config: parseInjectionConfig({}),
    namespaceLookup: async (name, signal) => {
      lookups.push(name);
      return labelled(name, signal);
    },
  });
  url = `https://localhost:${server.port}`;
});
after(() => server.close());

function review(namespace: string, object: unknown, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `uid-${Math.random().toString(16).slice(2)}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      namespace,
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:job-controller' },
      object,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
      ...extra,
    },
  };
}
const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'job-' }, spec: { containers: [{ name: 'job', image: 'postgres:15' }] } };

function post(body: unknown, contentType = 'application/json', baseUrl = url) {
  return httpsRequest(`${baseUrl}/mutate`, {
    ca: cert.cert,
    method: 'POST',
    body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    headers: { 'content-type': contentType },
  });
}

test('a pod CREATE in a labelled namespace comes back with an applicable patch', async () => {
  const sent = review('ci', pod);
  const reply = await post(sent);
  assert.equal(reply.status, 200);
  assert.equal(reply.json.apiVersion, 'admission.k8s.io/v1');
  assert.equal(reply.json.kind, 'AdmissionReview');
  assert.equal(reply.json.response.uid, sent.request.uid);
  assert.equal(reply.json.response.allowed, true);
  assert.equal(reply.json.response.patchType, 'JSONPatch');
  const patched = applyJsonPatch(pod as any, JSON.parse(Buffer.from(reply.json.response.patch, 'base64').toString('utf8')));
  assert.deepEqual(patched.spec.initContainers.map((c: { name: string }) => c.name), ['sidegate-init', 'sidegate']);
  assert.ok(lookups.includes('ci'));
});

test('the namespace comes from the request, so an unlabelled namespace is admitted unchanged', async () => {
  const reply = await post(review('default', { ...pod, metadata: { name: 'x', namespace: 'ci' } }));
  assert.equal(reply.status, 200);
  assert.equal(reply.json.response.allowed, true);
  assert.equal(reply.json.response.patch, undefined);
});

test('a dry-run request gets the patch as well', async () => {
  const reply = await post(review('ci', pod, { dryRun: true }));
  assert.equal(reply.json.response.allowed, true);
  assert.ok(reply.json.response.patch);
});

test('malformed requests get 400, oversized 413, wrong type 415', async () => {
  assert.equal((await post('{"apiVersion":')).status, 400);
  const notReview = await post({ apiVersion: 'v1', kind: 'Pod' });
  assert.equal(notReview.status, 400);
  assert.match(notReview.json.error, /AdmissionReview/);
  assert.equal((await post({ ...review('ci', pod), request: { ...review('ci', pod).request, uid: undefined } })).status, 400);
  const huge = review('ci', { ...pod, metadata: { name: 'big', annotations: { blob: 'x'.repeat(1024 * 1024) } } });
  assert.equal((await post(huge)).status, 413);
  assert.equal((await post(JSON.stringify(review('ci', pod)), 'text/plain')).status, 415);
});

test('GET /mutate is 405, unknown paths 404, /healthz and /readyz 200', async () => {
  assert.equal((await httpsRequest(`${url}/mutate`, { ca: cert.cert })).status, 405);
  assert.equal((await httpsRequest(`${url}/nope`, { ca: cert.cert })).status, 404);
  assert.equal((await httpsRequest(`${url}/healthz`, { ca: cert.cert })).status, 200);
  assert.equal((await httpsRequest(`${url}/readyz`, { ca: cert.cert })).status, 200);
});

async function withServer(namespaceLookup: NamespaceLookup, failureMode: 'deny' | 'admit-unchanged', run: (base: string) => Promise<void>) {
  const s = await startWebhookServer({
    host: '127.0.0.1',
    port: 0,
    tls: { certFile: cert.certFile, keyFile: cert.keyFile },
    config: parseInjectionConfig({ failureMode }),
    namespaceLookup,
    namespaceLookupTimeoutMs: 200,
  });
  try {
    await run(`https://localhost:${s.port}`);
  } finally {
    await s.close();
  }
}

test('a namespace lookup that fails denies the pod by default, with the cause', async () => {
  await withServer(async () => {
    throw new Error('HTTP 403 from the API');
  }, 'deny', async (base) => {
    const reply = await post(review('ci', pod), 'application/json', base);
    assert.equal(reply.json.response.allowed, false);
    assert.match(reply.json.response.status.message, /cannot read namespace ci: HTTP 403 from the API/);
  });
});

test('a namespace lookup that hangs is cut off in time and admitted unchanged only under admit-unchanged', async () => {
  const hanging: NamespaceLookup = (_name, signal) =>
    new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('timed out'))));
  await withServer(hanging, 'admit-unchanged', async (base) => {
    const started = Date.now();
    const reply = await post(review('ci', pod), 'application/json', base);
    assert.ok(Date.now() - started < 3000);
    assert.equal(reply.json.response.allowed, true);
    assert.equal(reply.json.response.patch, undefined);
    assert.match(reply.json.response.warnings[0], /admitted WITHOUT the sidecar/);
  });
});

test('a rotated certificate is served after reloadTls, without a restart', async () => {
  const before = await httpsRequest(`${url}/healthz`, { ca: cert.cert });
  const next = makeSelfSignedCertificate(undefined, 'next');
  copyFileSync(next.certFile, cert.certFile);
  copyFileSync(next.keyFile, cert.keyFile);
  await server.reloadTls();
  const afterReload = await httpsRequest(`${url}/healthz`, { ca: next.cert });
  assert.notEqual(afterReload.fingerprint256, before.fingerprint256);
  cert = { ...cert, cert: next.cert };
});

function postTo(path: string, body: unknown, baseUrl = url) {
  return httpsRequest(`${baseUrl}${path}`, { ca: cert.cert, method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
}

const exchangeConfig = { exchangeUrl: 'https://sidegate-exchange.sidegate-system.svc:443', brokerUrl: 'https://sidegate-broker.sidegate-system.svc:443' };
const thief = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'thief', labels: { 'sidegate.dev/inject': 'disabled' } },
  spec: {
    containers: [{ name: 'job', image: 'alpine:3', volumeMounts: [{ name: 'exchange-token', mountPath: '/t', readOnly: true }] }],
    volumes: [{ name: 'exchange-token', projected: { sources: [{ serviceAccountToken: { audience: 'sidegate-exchange', path: 'token' } }] } }],
  },
};

test('POST /validate denies a pod that mounts an exchange token into its own container, with the reasons', async () => {
  const sent = review('ci', thief);
  const reply = await postTo('/validate', sent);
  assert.equal(reply.status, 200);
  assert.equal(reply.json.kind, 'AdmissionReview');
  assert.equal(reply.json.response.uid, sent.request.uid);
  assert.equal(reply.json.response.allowed, false);
  assert.equal(reply.json.response.status.code, 403);
  assert.match(reply.json.response.status.message, /only sidegate's injected sidecar may hold a token/);
  assert.match(reply.json.response.status.message, /container "job" mounts volume "exchange-token"/);
  assert.equal(reply.json.response.patch, undefined, 'a validating answer never patches');
});

test('the pod /mutate makes passes /validate on the same server; the same pod with a tampered sidecar does not', async () => {
  await withServerConfig(exchangeConfig, async (base) => {
    const mutated = await postTo('/mutate', review('ci', pod), base);
    const patched = applyJsonPatch(pod as any, JSON.parse(Buffer.from(mutated.json.response.patch, 'base64').toString('utf8')));
    assert.ok(patched.spec.volumes.some((v: any) => v.projected?.sources?.some((s: any) => s.serviceAccountToken?.audience === 'sidegate-exchange')));
    const genuine = await postTo('/validate', review('ci', patched), base);
    assert.equal(genuine.json.response.allowed, true, JSON.stringify(genuine.json.response.status));
    const tampered = structuredClone(patched);
    tampered.spec.initContainers[1].command = ['sh', '-c', 'cat /var/run/secrets/sidegate/exchange-token'];
    const denied = await postTo('/validate', review('ci', tampered), base);
    assert.equal(denied.json.response.allowed, false);
    assert.match(denied.json.response.status.message, /container "sidegate" differs from what injection renders in command/);

    // An ephemeral container added later (UPDATE of pods/ephemeralcontainers) that mounts the token.
    const debugged = structuredClone(patched);
    debugged.spec.ephemeralContainers = [{ name: 'debugger', image: 'busybox:1', volumeMounts: [{ name: 'sidegate-token', mountPath: '/t' }] }];
    const update = review('ci', debugged, { operation: 'UPDATE', subResource: 'ephemeralcontainers', oldObject: patched });
    const ephemeral = await postTo('/validate', update, base);
    assert.equal(ephemeral.json.response.allowed, false);
    assert.match(ephemeral.json.response.status.message, /ephemeral container "debugger" mounts volume "sidegate-token"/);
    const annotated = structuredClone(patched);
    annotated.metadata.annotations['tekton.dev/ready'] = 'READY';
    assert.equal((await postTo('/validate', review('ci', annotated, { operation: 'UPDATE', oldObject: patched }), base)).json.response.allowed, true);
  });
});

test('/validate fails closed on an UPDATE without oldObject and ignores what it does not check', async () => {
  const noOld = await postTo('/validate', review('ci', thief, { operation: 'UPDATE', oldObject: null }));
  assert.equal(noOld.json.response.allowed, false);
  assert.match(noOld.json.response.status.message, /no pod in oldObject/);
  const deletion = await postTo('/validate', review('ci', null, { operation: 'DELETE', oldObject: thief }));
  assert.equal(deletion.json.response.allowed, true);
  const status = await postTo('/validate', review('ci', thief, { operation: 'UPDATE', subResource: 'status', oldObject: thief }));
  assert.equal(status.json.response.allowed, true);
  assert.equal((await httpsRequest(`${url}/validate`, { ca: cert.cert })).status, 405);
  assert.equal((await postTo('/validate', { apiVersion: 'v1', kind: 'Pod' })).status, 400);
});

async function withServerConfig(config: Record<string, unknown>, run: (base: string) => Promise<void>) {
  const s = await startWebhookServer({
    host: '127.0.0.1',
    port: 0,
    tls: { certFile: cert.certFile, keyFile: cert.keyFile },
    config: parseInjectionConfig(config),
    namespaceLookup: labelled,
  });
  try {
    await run(`https://localhost:${s.port}`);
  } finally {
    await s.close();
  }
}
