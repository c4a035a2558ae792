import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { ensureLocalIssuer, mintLocalToken, LOCAL_ISSUER, LOCAL_AUDIENCE } from './local-issuer.js';

test('local issuer: private key is owner-only, tokens verify against the published JWKS', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-issuer-'));
  try {
    const files = await ensureLocalIssuer(dir);
    assert.equal((await stat(files.privateKeyFile)).mode & 0o077, 0);
    const jwks = JSON.parse(await readFile(files.jwksFile, 'utf8'));
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0].d, undefined, 'the published JWKS has no private part');
    const token = await mintLocalToken(dir, { subject: 'developer:test' });
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE });
    assert.equal(payload.sub, 'developer:test');
    assert.equal(payload['project_path'], 'local/demo');
    // A second call keeps the same key.
    const again = await ensureLocalIssuer(dir);
    assert.deepEqual(JSON.parse(await readFile(again.jwksFile, 'utf8')), jwks);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
