// Sidecars' ServiceAccount tokens against a cluster-shaped issuer: discovery and JWKS over HTTPS
// with its own CA, served only to an authenticated service account, as kube-apiserver does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IdentityErrorCode } from '../../core/tokens/index.js';
import { assertTokenRejected } from '../../test/support/token-rejection.js';
import { startTestIssuer, type TestIssuer } from '../../test/support/token-issuer.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../../test/support/self-signed-certificate.js';
import { RequesterTokens, workloadRequester, type ClusterIssuer } from './requester-tokens.js';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
let dir: string;
let cert: TestCertificate;
let cluster: TestIssuer;
let brokerTokenFile: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sidegate-cluster-'));
  cert = makeSelfSignedCertificate(dir);
  brokerTokenFile = join(dir, 'broker-token');
  await writeFile(brokerTokenFile, 'the-broker-own-sa-token');
  cluster = await startTestIssuer({ issuer: ISSUER, tls: { cert: cert.cert, key: await readFile(cert.keyFile, 'utf8') }, requireBearer: 'the-broker-own-sa-token' });
});

after(async () => {
  await cluster.close();
  await rm(dir, { recursive: true, force: true });
});

function config(extra: Partial<ClusterIssuer> = {}): ClusterIssuer {
  return { issuer: ISSUER, discoveryUrl: cluster.discoveryUrl, caFile: cert.certFile, bearerTokenFile: brokerTokenFile, ...extra };
}

/** What kubelet projects for a pod's service account. */
function podToken(overrides: Record<string, unknown> = {}, audience: string = 'sidegate-broker', expiresIn: number | string = 600): Promise<string> {
  return cluster.sign(
    {
      sub: 'system:serviceaccount:ci:runner',
      'kubernetes.io': {
        namespace: 'ci',
        pod: { name: 'runner-7f9c', uid: '0d3c4b1e-1111-4c1e-9a41-5d2f8e0b7a10' },
        serviceaccount: { name: 'runner', uid: '6a1f0e2c-2222-4d7b-8f50-3e9b1c4d5a60' },
        node: { name: 'node-1', uid: '9b2e' },
      },
      ...overrides,
    },
    { audience: [audience], expiresIn },
  );
}

function rejected(tokens: RequesterTokens, token: string, code: IdentityErrorCode, message: RegExp): Promise<unknown> {
  return assertTokenRejected(tokens.verify(token), token, code, message);
}

test('a pod-bound token for the broker audience gives the pod, its namespace and service account', async () => {
  const tokens = new RequesterTokens(config());
  const workload = await tokens.verify(await podToken());
  assert.deepEqual(workload, {
    issuer: ISSUER,
    subject: 'system:serviceaccount:ci:runner',
    namespace: 'ci',
    serviceAccount: 'runner',
    podName: 'runner-7f9c',
    podUid: '0d3c4b1e-1111-4c1e-9a41-5d2f8e0b7a10',
  });
  assert.deepEqual(workloadRequester(workload), {
    issuer: ISSUER,
    subject: 'system:serviceaccount:ci:runner',
    identities: ['system:serviceaccount:ci:runner', 'ci/runner'],
    ci: { system: 'kubernetes' },
  });
  assert.ok(cluster.authorizations.every((a) => a === 'Bearer the-broker-own-sa-token'), 'discovery and keys fetched as the broker');
});

test("a token for another audience (the API server's, the sidecar's own) is rejected", async () => {
  const tokens = new RequesterTokens(config());
  await rejected(tokens, await podToken({}, 'https://kubernetes.default.svc.cluster.local'), 'wrong-audience', /expected one of: sidegate-broker/);
  const custom = new RequesterTokens(config({ audience: 'broker.example' }));
  assert.equal((await custom.verify(await podToken({}, 'broker.example'))).podName, 'runner-7f9c');
});

test('an expired token is rejected', async () => {
  await rejected(new RequesterTokens(config({ clockSkewSeconds: 0 })), await podToken({}, 'sidegate-broker', -5), 'expired', /^token expired at /);
});

test('the kubernetes.io claim must agree with sub, and bind a pod', async () => {
  const tokens = new RequesterTokens(config());
  await rejected(tokens, await podToken({ sub: 'system:serviceaccount:kube-system:admin' }), 'malformed', /subject does not match/);
  await rejected(
    tokens,
    await podToken({ 'kubernetes.io': { namespace: 'ci', serviceaccount: { name: 'runner', uid: 'x' } } }),
    'malformed',
    /^token is not bound to a pod$/,
  );
  await rejected(tokens, await podToken({ 'kubernetes.io': undefined }), 'malformed', /not a Kubernetes service-account token/);
});

test('without the cluster CA or the broker token, keys cannot be fetched: fail closed', async () => {
  const token = await podToken();
  await rejected(new RequesterTokens(config({ caFile: undefined })), token, 'jwks-unavailable', /TLS certificate is not trusted/);
  await rejected(new RequesterTokens(config({ bearerTokenFile: undefined })), token, 'jwks-unavailable', /answered 401/);
});

test('a token signed by another key is rejected', async () => {
  const impostor = await startTestIssuer({ issuer: ISSUER });
  try {
    const forged = await impostor.sign({ sub: 'system:serviceaccount:ci:runner' }, { audience: 'sidegate-broker', kid: cluster.kid });
    await rejected(new RequesterTokens(config()), forged, 'bad-signature', /signature does not verify/);
  } finally {
    await impostor.close();
  }
});
