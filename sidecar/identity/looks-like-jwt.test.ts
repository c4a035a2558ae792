import { test } from 'node:test';
import assert from 'node:assert/strict';
import { looksLikeJwt } from './looks-like-jwt.js';

const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

test('a signed or unsigned JWT looks like a JWT', () => {
  const header = segment({ alg: 'RS256', kid: 'k1', typ: 'JWT' });
  const payload = segment({ sub: 'a' });
  assert.equal(looksLikeJwt(`${header}.${payload}.c2lnbmF0dXJl`), true);
  // alg none still counts: verification must reject it loudly rather than fall back to the pod token.
  assert.equal(looksLikeJwt(`${segment({ alg: 'none' })}.${payload}.`), true);
});

test('ordinary passwords do not look like a JWT', () => {
  for (const password of ['', 's3cret', 'my.pass.word', 'a.b.c', 'a.b', 'a.b.c.d', 'x y.z.w', '{"alg":"RS256"}.e30.sig']) {
    assert.equal(looksLikeJwt(password), false, password);
  }
  // Base64url segments whose header is JSON but not a JOSE header.
  assert.equal(looksLikeJwt(`${segment([1, 2])}.${segment({})}.sig`), false);
  assert.equal(looksLikeJwt(`${segment({ typ: 'JWT' })}.${segment({})}.sig`), false);
  assert.equal(looksLikeJwt(`${segment({ alg: 5 })}.${segment({})}.sig`), false);
});

test('a huge header segment is refused without decoding it', () => {
  const header = segment({ alg: 'RS256', pad: 'x'.repeat(10_000) });
  assert.equal(looksLikeJwt(`${header}.e30.sig`), false);
});
