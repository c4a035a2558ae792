import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCredentialToken, encodeCredentialToken, type TargetCredential } from './credential-token.js';

const credential: TargetCredential = { target: 'orders', protocol: 'postgres', username: 'sidegate_x_ab12', password: 'p4ss-w0rd_', expiresAt: '2026-12-04T19:00:00.000Z' };

test('a credential token is one base64url word that decodes to the credential', () => {
  const token = encodeCredentialToken(credential);
  assert.match(token, /^[A-Za-z0-9_-]+$/);
  assert.deepEqual(JSON.parse(Buffer.from(token, 'base64url').toString()), { v: 1, ...credential });
  assert.deepEqual(decodeCredentialToken(token), credential);
});

test('a MariaDB login rides the same way, with its longer user name', () => {
  const maria: TargetCredential = { ...credential, protocol: 'mysql', username: `sidegate_x_1796400000_${'a'.repeat(24)}_t${'b'.repeat(48)}` };
  assert.deepEqual(decodeCredentialToken(encodeCredentialToken(maria)), maria);
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  assert.equal(decodeCredentialToken(enc({ v: 1, ...credential, protocol: 'ssh' })), undefined, 'a protocol the exchange does not issue for');
  assert.equal(decodeCredentialToken(enc({ v: 1, ...credential, username: 'u'.repeat(129) })), undefined);
});

test('anything else is not a credential of ours (undefined, never a throw)', () => {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  assert.equal(decodeCredentialToken('eyJhbGciOiJFUzI1NiJ9.e30.sig'), undefined);
  assert.equal(decodeCredentialToken('not json at all'), undefined);
  assert.equal(decodeCredentialToken(Buffer.from('{').toString('base64url')), undefined);
  assert.equal(decodeCredentialToken(enc({ v: 2, ...credential })), undefined);
  assert.equal(decodeCredentialToken(enc({ v: 1, ...credential, extra: 1 })), undefined);
  assert.equal(decodeCredentialToken(enc({ v: 1, ...credential, expiresAt: 'tomorrow' })), undefined);
  assert.equal(decodeCredentialToken('A'.repeat(5000)), undefined);
});
