import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { IssuerSpec } from '../vocabulary.js';
import { startTestIssuer } from '../../test/support/token-issuer.js';
import { makeSelfSignedCertificate } from '../../test/support/self-signed-certificate.js';
import { TokenVerifier } from './token-verifier.js';
import type { IdentityError } from './identity-error.js';
import { assertTokenRejected } from '../../test/support/token-rejection.js';
import { discoveryUrlOf } from './issuer-discovery.js';

function rejection(verifier: TokenVerifier, token: string): Promise<IdentityError> {
  return assertTokenRejected(verifier.verify(token), token, 'jwks-unavailable');
}

test('discoveryUrlOf appends the well-known path once', () => {
  assert.equal(discoveryUrlOf('https://idp.test/realms/ci/'), 'https://idp.test/realms/ci/.well-known/openid-configuration');
  assert.equal(discoveryUrlOf('https://idp.test'), 'https://idp.test/.well-known/openid-configuration');
});

test('keys are found through discovery, looked up once, and cached like a JWKS URL', async () => {
  const issuer = await startTestIssuer();
  try {
    const verifier = new TokenVerifier([{ issuer: issuer.issuer, audiences: ['sidegate'], discoveryUrl: issuer.discoveryUrl, clockSkewSeconds: 30 }]);
    for (const sub of ['a', 'b', 'c']) assert.equal((await verifier.verify(await issuer.sign({ sub }))).subject, sub);
    assert.equal(issuer.discoveryRequests, 1);
    assert.equal(issuer.jwksRequests, 1);
  } finally {
    await issuer.close();
  }
});

test('a discovery document naming another issuer is refused before any key is fetched', async () => {
  const other = await startTestIssuer({ issuer: 'https://other.test' });
  try {
    const verifier = new TokenVerifier([{ issuer: 'https://expected.test', audiences: ['sidegate'], discoveryUrl: other.discoveryUrl, clockSkewSeconds: 30 }]);
    const err = await rejection(verifier, await other.sign({ sub: 'a', iss: 'https://expected.test' }));
    assert.equal(err.code, 'jwks-unavailable');
    assert.match(
      err.message,
      /^signing keys of issuer https:\/\/expected\.test could not be discovered from http:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration: the discovery document names issuer https:\/\/other\.test, not https:\/\/expected\.test$/,
    );
    assert.equal(other.jwksRequests, 0);
  } finally {
    await other.close();
  }
});

test('a failed discovery is not cached: the next token looks again', async () => {
  let answer: object = { issuer: 'x' };
  let requests = 0;
  const issuer = await startTestIssuer({ issuer: 'https://flaky.test' });
  const server = createServer((_req, res) => {
    requests++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/openid-configuration`;
    const verifier = new TokenVerifier([{ issuer: 'https://flaky.test', audiences: ['sidegate'], discoveryUrl: url, clockSkewSeconds: 30 }]);
    const token = await issuer.sign({ sub: 'a' });
    assert.match((await rejection(verifier, token)).message, /names issuer x, not https:\/\/flaky\.test/);
    answer = { issuer: 'https://flaky.test' };
    assert.match((await rejection(verifier, token)).message, /has no valid jwks_uri/);
    answer = { issuer: 'https://flaky.test', jwks_uri: issuer.jwksUrl };
    assert.equal((await verifier.verify(token)).subject, 'a');
    assert.equal((await verifier.verify(token)).subject, 'a');
    assert.equal(requests, 3);
  } finally {
    server.close();
    await issuer.close();
  }
});

test('HTTPS discovery with a CA bundle and a bearer token, as Kubernetes serves it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-discovery-'));
  const cert = makeSelfSignedCertificate(dir);
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, 'broker-sa-token\n');
  const cluster = await startTestIssuer({
    issuer: 'https://kubernetes.default.svc.cluster.local',
    tls: { cert: cert.cert, key: await readFile(cert.keyFile, 'utf8') },
    requireBearer: 'broker-sa-token',
  });
  const spec = (extra: Partial<IssuerSpec>): IssuerSpec => ({
    issuer: cluster.issuer,
    audiences: ['sidegate-broker'],
    discoveryUrl: cluster.discoveryUrl,
    clockSkewSeconds: 30,
    ...extra,
  });
  try {
    const token = await cluster.sign({ sub: 'system:serviceaccount:ci:runner' }, { audience: 'sidegate-broker' });

    const untrusting = new TokenVerifier([spec({ bearerTokenFile: tokenFile })]);
    assert.match((await rejection(untrusting, token)).message, /could not be discovered from https:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration: its TLS certificate is not trusted \(/);

    const anonymous = new TokenVerifier([spec({ caFile: cert.certFile })]);
    assert.match((await rejection(anonymous, token)).message, /the discovery endpoint answered 401, not 200 OK/);

    const missingToken = new TokenVerifier([spec({ caFile: cert.certFile, bearerTokenFile: join(dir, 'absent') })]);
    assert.match((await rejection(missingToken, token)).message, /absent does not exist/);

    const verifier = new TokenVerifier([spec({ caFile: cert.certFile, bearerTokenFile: tokenFile })]);
    assert.equal((await verifier.verify(token)).subject, 'system:serviceaccount:ci:runner');
    assert.deepEqual(cluster.authorizations.slice(-2), ['Bearer broker-sa-token', 'Bearer broker-sa-token'], 'discovery and JWKS both authenticated');

    // The same CA and token serve a directly configured JWKS URL.
    const direct = new TokenVerifier([spec({ discoveryUrl: undefined, jwksUrl: cluster.jwksUrl, caFile: cert.certFile, bearerTokenFile: tokenFile })]);
    assert.equal((await direct.verify(token)).subject, 'system:serviceaccount:ci:runner');
  } finally {
    await cluster.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('the bearer token goes only to the configured origin, never to a jwks_uri elsewhere', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-discovery-'));
  const cert = makeSelfSignedCertificate(dir);
  const keyPem = await readFile(cert.keyFile, 'utf8');
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, 'secret-sa-token');
  const keysHost = await startTestIssuer({ issuer: 'https://k8s.test', tls: { cert: cert.cert, key: keyPem } });
  const documentHost = await serveDocument(cert.cert, keyPem, { issuer: 'https://k8s.test', jwks_uri: keysHost.jwksUrl.replace('127.0.0.1', 'localhost') });
  try {
    const url = documentHost.url;
    const verifier = new TokenVerifier([{ issuer: 'https://k8s.test', audiences: ['sidegate'], discoveryUrl: url, caFile: cert.certFile, bearerTokenFile: tokenFile, clockSkewSeconds: 30 }]);
    assert.equal((await verifier.verify(await keysHost.sign({ sub: 'a' }))).subject, 'a');
    assert.deepEqual(keysHost.authorizations, [undefined], 'the keys host got no token');
  } finally {
    documentHost.close();
    await keysHost.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('configuration: discovery counts as a key source; CA and token need a fetched, https source', () => {
  const base = { issuer: 'https://a', audiences: ['x'], clockSkewSeconds: 30 };
  assert.throws(() => new TokenVerifier([{ ...base, discoveryUrl: 'https://a/.well-known/openid-configuration', jwksUrl: 'https://a/jwks' }]), /found 2/);
  assert.throws(() => new TokenVerifier([{ ...base, jwks: { keys: [] }, caFile: '/ca.pem' }]), /caFile and bearerTokenFile apply to jwksUrl or discoveryUrl only/);
  assert.throws(() => new TokenVerifier([{ ...base, discoveryUrl: 'http://a/.well-known/openid-configuration', bearerTokenFile: '/t' }]), /only sent over https/);
  assert.throws(() => new TokenVerifier([{ ...base, discoveryUrl: 'not a url' }]), /is not a URL/);
  assert.throws(() => new TokenVerifier([{ ...base, jwksUrl: 'file:///etc/jwks.json' }]), /is not an http\(s\) URL/);
});

/** An HTTPS server answering every request with one JSON document. */
async function serveDocument(cert: string, key: string, document: object): Promise<{ url: string; close: () => void }> {
  const server = createHttpsServer({ cert, key }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/openid-configuration`, close: () => server.close() };
}
