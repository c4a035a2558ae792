// The in-cluster lookup against a real HTTPS server standing in for the Kubernetes API: it must
// present the ServiceAccount token, trust only the given CA and turn failures into messages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { makeSelfSignedCertificate, type TestCertificate } from '../../test/support/self-signed-certificate.js';
import { createInClusterNamespaceLookup, inClusterApiUrl, loadNamespacesFile } from './namespace-lookup.js';

let cert: TestCertificate;
let api: Server;
let apiUrl: string;
const seen: Array<{ path: string; authorization: string | undefined }> = [];

before(async () => {
  cert = makeSelfSignedCertificate();
  writeFileSync(join(cert.dir, 'token'), 'sa-token-123\n');
  api = createServer({ cert: cert.cert, key: (await import('node:fs')).readFileSync(cert.keyFile) }, (req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
    const name = decodeURIComponent((req.url ?? '').replace('/api/v1/namespaces/', ''));
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== 'Bearer sa-token-123') return send(401, { kind: 'Status' });
    if (name === 'ci') return send(200, { kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'ci', labels: { 'sidegate.dev/inject': 'enabled' } } });
    if (name === 'bare') return send(200, { kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'bare' } });
    if (name === 'secret-ns') return send(403, { kind: 'Status' });
    if (name === 'weird') return send(200, { kind: 'Pod' });
    return send(404, { kind: 'Status' });
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiUrl = `https://localhost:${(api.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => api.close(() => resolve())));

const lookup = () => createInClusterNamespaceLookup({ apiUrl, tokenFile: join(cert.dir, 'token'), caFile: cert.certFile });

test('reads the labels with the ServiceAccount token as bearer', async () => {
  assert.deepEqual(await lookup()('ci'), { labels: { 'sidegate.dev/inject': 'enabled' } });
  assert.deepEqual(seen.at(-1), { path: '/api/v1/namespaces/ci', authorization: 'Bearer sa-token-123' });
  assert.deepEqual(await lookup()('bare'), { labels: {} });
});

test('failures become messages an operator can act on', async () => {
  await assert.rejects(lookup()('secret-ns'), /needs "get" on namespaces/);
  await assert.rejects(lookup()('gone'), /namespace gone does not exist/);
  await assert.rejects(lookup()('weird'), /something other than a Namespace/);
  await assert.rejects(lookup()('../pods'), /does not exist/);
  assert.equal(seen.at(-1)!.path, '/api/v1/namespaces/..%2Fpods');
});

test('a server whose certificate is not signed by the CA is refused', async () => {
  const other = makeSelfSignedCertificate();
  const untrusting = createInClusterNamespaceLookup({ apiUrl, tokenFile: join(cert.dir, 'token'), caFile: other.certFile });
  await assert.rejects(untrusting('ci'), /cannot reach the Kubernetes API/);
});

test('the in-cluster address comes from the service environment, IPv6 bracketed; plain http is refused', () => {
  assert.equal(inClusterApiUrl({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }), 'https://10.96.0.1:443');
  assert.equal(inClusterApiUrl({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' }), 'https://[fd00::1]:6443');
  assert.throws(() => inClusterApiUrl({}), /not running in a cluster/);
  assert.throws(() => createInClusterNamespaceLookup({ apiUrl: 'http://127.0.0.1:8080' }), /must be https/);
});

test('a namespaces file maps names to labels; unlisted namespaces have none', async () => {
  const file = join(cert.dir, 'namespaces.yaml');
  writeFileSync(file, 'ci:\n  sidegate.dev/inject: enabled\nempty:\n');
  const fromFile = await loadNamespacesFile(file);
  assert.deepEqual(await fromFile('ci'), { labels: { 'sidegate.dev/inject': 'enabled' } });
  assert.deepEqual(await fromFile('empty'), { labels: {} });
  assert.deepEqual(await fromFile('other'), { labels: {} });
  writeFileSync(file, 'ci: [1, 2]\n');
  await assert.rejects(loadNamespacesFile(file), /map of namespace name/);
});
