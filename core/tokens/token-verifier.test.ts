import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, UnsecuredJWT, exportJWK, generateKeyPair } from 'jose';
import type { IssuerSpec } from '../vocabulary.js';
import { startTestIssuer, writeStaticJwks, type TestIssuer } from '../../test/support/token-issuer.js';
import { TokenVerifier } from './token-verifier.js';
import type { IdentityError, IdentityErrorCode } from './identity-error.js';
import { assertTokenRejected } from '../../test/support/token-rejection.js';

function spec(issuer: TestIssuer, extra: Partial<IssuerSpec> = {}): IssuerSpec {
  return { issuer: issuer.issuer, audiences: ['sidegate'], jwksUrl: issuer.jwksUrl, clockSkewSeconds: 30, ...extra };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

function rejects(verifier: TokenVerifier, token: string, code: IdentityErrorCode, message?: RegExp): Promise<IdentityError> {
  return assertTokenRejected(verifier.verify(token), token, code, message);
}

test('a valid RS256 and ES256 token verifies and yields issuer, subject and claims', async () => {
  for (const alg of ['RS256', 'ES256'] as const) {
    const issuer = await startTestIssuer({ issuer: `https://ci-${alg}.test`, alg });
    try {
      const verifier = new TokenVerifier([spec(issuer)]);
      const token = await issuer.sign({ sub: 'project_path:acme/api', project_path: 'acme/api' });
      const verified = await verifier.verify(token);
      assert.equal(verified.issuer, `https://ci-${alg}.test`);
      assert.equal(verified.subject, 'project_path:acme/api');
      assert.equal(verified.claims['project_path'], 'acme/api');
      assert.equal(verified.claims['aud'], 'sidegate');
    } finally {
      await issuer.close();
    }
  }
});

test('an issuer that is not configured is rejected by name, before any key is fetched', async () => {
  const trusted = await startTestIssuer({ issuer: 'https://trusted.test' });
  const other = await startTestIssuer({ issuer: 'https://other.test' });
  try {
    const verifier = new TokenVerifier([spec(trusted)]);
    const token = await other.sign({ sub: 'x' });
    await rejects(verifier, token, 'unknown-issuer', /^issuer https:\/\/other\.test is not trusted$/);
    assert.equal(trusted.jwksRequests, 0);
    assert.equal(other.jwksRequests, 0);
  } finally {
    await trusted.close();
    await other.close();
  }
});

test('a token signed by another key under the same kid fails signature verification', async () => {
  const issuer = await startTestIssuer({ issuer: 'https://ci.test' });
  try {
    const verifier = new TokenVerifier([spec(issuer)]);
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ sub: 'attacker', aud: 'sidegate' })
      .setProtectedHeader({ alg: 'RS256', kid: issuer.kid })
      .setIssuer(issuer.issuer)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    await rejects(verifier, forged, 'bad-signature', /signature does not verify with the keys of issuer https:\/\/ci\.test/);
  } finally {
    await issuer.close();
  }
});

test('exp honours the issuer clock skew: 10 s past accepted with 30 s skew, 60 s past rejected', async () => {
  const issuer = await startTestIssuer({ issuer: 'https://ci.test' });
  try {
    const verifier = new TokenVerifier([spec(issuer, { clockSkewSeconds: 30 })]);
    const now = nowSeconds();
    const slightlyExpired = await issuer.sign({ sub: 'a', iat: now - 300, exp: now - 10 });
    assert.equal((await verifier.verify(slightlyExpired)).subject, 'a');
    const expiredAt = now - 60;
    const expired = await issuer.sign({ sub: 'a', iat: now - 300, exp: expiredAt });
    const iso = new Date(expiredAt * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    await rejects(verifier, expired, 'expired', new RegExp(`^token expired at ${iso}$`));
  } finally {
    await issuer.close();
  }
});

test('nbf and a future iat honour the skew too; the injected clock is used', async () => {
  const issuer = await startTestIssuer({ issuer: 'https://ci.test' });
  try {
    const verifier = new TokenVerifier([spec(issuer, { clockSkewSeconds: 30 })]);
    assert.equal((await verifier.verify(await issuer.sign({ sub: 'a' }, { notBefore: 10 }))).subject, 'a');
    await rejects(verifier, await issuer.sign({ sub: 'a' }, { notBefore: 60 }), 'not-yet-valid', /^token is not valid before /);
    await rejects(verifier, await issuer.sign({ sub: 'a', iat: nowSeconds() + 60 }), 'not-yet-valid', /issued in the future/);

    // A verifier whose clock is 10 minutes ahead sees a 5-minute token as expired.
    const ahead = new TokenVerifier([spec(issuer)], { now: () => Date.now() + 600_000 });
    await rejects(ahead, await issuer.sign({ sub: 'a' }, { expiresIn: '5m' }), 'expired');
  } finally {
    await issuer.close();
  }
});

test('the audience must be one of the issuer audiences', async () => {
  const issuer = await startTestIssuer({ issuer: 'https://ci.test' });
  try {
    const verifier = new TokenVerifier([spec(issuer, { audiences: ['sidegate', 'sidegate-prod'] })]);
    assert.ok(await verifier.verify(await issuer.sign({ sub: 'a' }, { audience: ['other', 'sidegate-prod'] })));
    await rejects(verifier, await issuer.sign({ sub: 'a' }, { audience: 'https://vault.example' }), 'wrong-audience', /https:\/\/vault\.example is not accepted.*expected one of: sidegate, sidegate-prod/);
    await rejects(verifier, await issuer.sign({ sub: 'a', aud: undefined }), 'wrong-audience', /no aud claim/);
  } finally {
    await issuer.close();
  }
});

test('alg none and HS256 are rejected even when everything else is right', async () => {
  const issuer = await startTestIssuer({ issuer: 'https://ci.test' });
  try {
    const verifier = new TokenVerifier([spec(issuer)]);
    const claims = { sub: 'a', aud: 'sidegate' };
    const unsigned = new UnsecuredJWT(claims).setIssuer(issuer.issuer).setIssuedAt().setExpirationTime('5m').encode();
    await rejects(verifier, unsigned, 'bad-signature', /alg none/);
    const hmac = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: issuer.kid })
      .setIssuer(issuer.issuer)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes!!'));
    await rejects(verifier, hmac, 'bad-signature', /HS256 is not accepted/);
  } finally {
    await issuer.close();
  }
});

test('malformed input: garbage, oversized, missing sub or exp', async () => {
  const issuer = await startTestIssuer({ issuer: 'https://ci.test' });
  try {
    const verifier = new TokenVerifier([spec(issuer)]);
    await rejects(verifier, 'not-a-jwt', 'malformed');
    await rejects(verifier, 'eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln', 'malformed');
    await rejects(verifier, `${'a'.repeat(17 * 1024)}.b.c`, 'malformed', /larger than 16384 bytes/);
    await rejects(verifier, await issuer.sign({ sub: undefined }), 'malformed', /no sub claim/);
    await rejects(verifier, await issuer.sign({ sub: 'a', exp: undefined }), 'malformed', /no exp claim/);
  } finally {
    await issuer.close();
  }
});

test('the JWKS is fetched once and cached across verifications', async () => {
  const issuer = await startTestIssuer({ issuer: 'https://ci.test' });
  try {
    const verifier = new TokenVerifier([spec(issuer)]);
    assert.equal(issuer.jwksRequests, 0, 'nothing fetched before the first token');
    for (let i = 0; i < 5; i++) await verifier.verify(await issuer.sign({ sub: `s${i}` }));
    assert.equal(issuer.jwksRequests, 1);
  } finally {
    await issuer.close();
  }
});

test('key rotation: an unknown kid re-fetches the JWKS, but not within the cooldown', async () => {
  const issuer = await startTestIssuer({ issuer: 'https://ci.test' });
  try {
    const eager = new TokenVerifier([spec(issuer)], { jwks: { cooldownMs: 0 } });
    const patient = new TokenVerifier([spec(issuer)], { jwks: { cooldownMs: 60_000 } });
    const before = await issuer.sign({ sub: 'a' });
    await eager.verify(before);
    await patient.verify(before);
    assert.equal(issuer.jwksRequests, 2);

    await issuer.rotateKey();
    const after = await issuer.sign({ sub: 'a' });
    assert.equal((await eager.verify(after)).subject, 'a');
    assert.equal(issuer.jwksRequests, 3, 'the eager verifier re-fetched once');
    await eager.verify(before);
    assert.equal(issuer.jwksRequests, 3, 'the old key is still in the refreshed set');

    await rejects(patient, after, 'bad-signature', /no signing key of issuer https:\/\/ci\.test matches the token \(kid /);
    assert.equal(issuer.jwksRequests, 3, 'the cooldown suppressed a re-fetch');
  } finally {
    await issuer.close();
  }
});

test('an unreachable JWKS endpoint is jwks-unavailable', async () => {
  const issuer = await startTestIssuer({ issuer: 'https://ci.test' });
  const token = await issuer.sign({ sub: 'a' });
  const verifier = new TokenVerifier([spec(issuer)]);
  await issuer.close();
  await rejects(verifier, token, 'jwks-unavailable', /signing keys of issuer https:\/\/ci\.test could not be fetched from http:\/\/127\.0\.0\.1:\d+\/jwks/);
});

test('static jwks in the policy, including keys without kid', async () => {
  const issuer = await startTestIssuer({ issuer: 'https://ci.test', alg: 'ES256' });
  try {
    const verifier = new TokenVerifier([{ issuer: issuer.issuer, audiences: ['sidegate'], jwks: issuer.jwks, clockSkewSeconds: 30 }]);
    assert.equal((await verifier.verify(await issuer.sign({ sub: 'a' }))).subject, 'a');
    assert.equal(issuer.jwksRequests, 0);

    // Two kid-less keys of the same type: both are tried.
    const first = await generateKeyPair('ES256');
    const second = await generateKeyPair('ES256');
    const keys = [await exportJWK(first.publicKey), await exportJWK(second.publicKey)];
    const kidless = new TokenVerifier([{ issuer: 'https://kidless.test', audiences: ['sidegate'], jwks: { keys }, clockSkewSeconds: 30 }]);
    const signedBySecond = await new SignJWT({ sub: 'b', aud: 'sidegate' })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer('https://kidless.test')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(second.privateKey);
    assert.equal((await kidless.verify(signedBySecond)).subject, 'b');
    const { privateKey: stranger } = await generateKeyPair('ES256');
    const signedByStranger = await new SignJWT({ sub: 'c', aud: 'sidegate' })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer('https://kidless.test')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(stranger);
    await rejects(kidless, signedByStranger, 'bad-signature');

    const withJwks = (jwks: unknown) => () => new TokenVerifier([{ issuer: 'x', audiences: ['a'], jwks: jwks as IssuerSpec['jwks'], clockSkewSeconds: 0 }]);
    assert.throws(withJwks({ keys: [{ nonsense: true }] }), /issuer x: jwks is not a valid JWK set/);
    assert.throws(withJwks({ keys: [] }), /not a valid JWK set/);
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    assert.throws(withJwks({ keys: [await exportJWK(privateKey)] }), /not a valid JWK set/);
  } finally {
    await issuer.close();
  }
});

test('jwksFile is re-read when the file changes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-jwks-'));
  const issuer = await startTestIssuer({ issuer: 'https://ci.test' });
  try {
    const file = join(dir, 'jwks.json');
    const verifier = new TokenVerifier([{ issuer: issuer.issuer, audiences: ['sidegate'], jwksFile: file, clockSkewSeconds: 30 }]);
    await rejects(verifier, await issuer.sign({ sub: 'a' }), 'jwks-unavailable', /jwks\.json does not exist/);

    await writeStaticJwks(file, issuer.jwks);
    assert.equal((await verifier.verify(await issuer.sign({ sub: 'a' }))).subject, 'a');

    await issuer.rotateKey({ retireOld: true });
    const rotated = await issuer.sign({ sub: 'b' });
    await rejects(verifier, rotated, 'bad-signature');
    await writeStaticJwks(file, issuer.jwks);
    assert.equal((await verifier.verify(rotated)).subject, 'b');
  } finally {
    await issuer.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('configuration errors are thrown at construction', () => {
  const base = { issuer: 'https://a', audiences: ['x'], clockSkewSeconds: 30 };
  assert.throws(() => new TokenVerifier([{ ...base }]), /exactly one of jwksUrl, discoveryUrl, jwks, jwksFile/);
  assert.throws(() => new TokenVerifier([{ ...base, jwksUrl: 'http://127.0.0.1:1/jwks', jwksFile: '/x' }]), /found 2/);
  assert.throws(() => new TokenVerifier([{ ...base, jwksUrl: 'http://127.0.0.1:1/j' }, { ...base, jwksUrl: 'http://127.0.0.1:1/j' }]), /configured twice/);
  assert.throws(() => new TokenVerifier([{ ...base, audiences: [], jwksUrl: 'http://127.0.0.1:1/j' }]), /no audiences/);
});
