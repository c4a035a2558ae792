import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createHash, createPublicKey, generateKeyPairSync, privateDecrypt, verify } from 'node:crypto';
import {
  cachingSha2Scramble,
  clearPasswordPayload,
  ed25519PublicKey,
  ed25519Signature,
  nativePasswordScramble,
  rsaEncryptedPassword,
} from './auth-scrambles.js';

const sha = (alg: string, ...parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash(alg)).digest();
const xor = (a: Buffer, b: Buffer) => Buffer.from(a.map((x, i) => x ^ b[i % b.length]!));

// The greeting's nonce and what libmariadb (the mariadb CLI) and mysql2 both answered with for
// sidegate_native's password (see handshake-packets.test.ts).
const NONCE = Buffer.from('VW5B,Q7[H5qYJGdDeQFI', 'latin1');
const NATIVE_PW = 'native-Target-Pw-3c81f0';

test('mysql_native_password: matches what two client libraries sent, and what the server checks', () => {
  assert.equal(nativePasswordScramble(NATIVE_PW, NONCE).toString('hex'), 'edec9b1aa54dcdbc7b6eb3e550bdf3c82e84283b');
  // a trailing NUL on the nonce (as AuthSwitchRequest sends it) does not change the answer
  assert.deepEqual(nativePasswordScramble(NATIVE_PW, Buffer.concat([NONCE, Buffer.from([0])])), nativePasswordScramble(NATIVE_PW, NONCE));
  // the server's side: it stores '*' + SHA1(SHA1(pw)) (this is the test server's mysql.global_priv value)
  const stored = Buffer.from('9A55DDD698831CCF8B357C73874D1FBD6BB9405A', 'hex');
  const answer = nativePasswordScramble(NATIVE_PW, NONCE);
  assert.deepEqual(sha('sha1', xor(answer, sha('sha1', NONCE, stored))), stored);
  assert.notDeepEqual(nativePasswordScramble('wrong', NONCE), answer);
  assert.equal(nativePasswordScramble('', NONCE).length, 0);
  assert.throws(() => nativePasswordScramble(NATIVE_PW, NONCE.subarray(0, 8)), RangeError);
});

test('caching_sha2_password fast auth: the definition, computed independently, and the server check', () => {
  const pw = Buffer.from('sha2-pässword');
  const nonce = Buffer.from('0123456789abcdefghij');
  const stage1 = sha('sha256', pw);
  const expected = xor(stage1, sha('sha256', sha('sha256', stage1), nonce));
  const answer = cachingSha2Scramble(pw, nonce);
  assert.deepEqual(answer, expected);
  assert.equal(answer.length, 32);
  // the server keeps SHA256(SHA256(pw)) in its cache and recovers stage1 from the answer
  const cached = sha('sha256', stage1);
  assert.deepEqual(sha('sha256', xor(answer, sha('sha256', cached, nonce))), cached);
  assert.equal(cachingSha2Scramble('', nonce).length, 0);
  assert.deepEqual(cachingSha2Scramble(pw, Buffer.concat([nonce, Buffer.from([0])])), answer);
});

test('caching_sha2_password full auth: clear over TLS, RSA-OAEP of the password XOR the nonce otherwise', () => {
  assert.deepEqual(clearPasswordPayload('pw'), Buffer.from('pw\0'));
  assert.throws(() => clearPasswordPayload('a\0b'), RangeError);
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = publicKey.export({ type: 'spki', format: 'pem' });
  const nonce = Buffer.from('0123456789abcdefghij');
  const password = 'a password longer than the twenty-byte nonce';
  const sealed = rsaEncryptedPassword(password, nonce, pem);
  assert.equal(sealed.length, 256);
  // what the server does: decrypt with its private key, XOR with the nonce again
  const opened = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, sealed);
  assert.equal(xor(opened, nonce).toString(), `${password}\0`);
  // PKCS#1 v1.5 padding would not open it: OAEP it is
  assert.throws(() => privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, sealed));
});

test('client_ed25519: the public key MariaDB stored for the test user, and a signature Ed25519 verifies', () => {
  const password = 'ed25519-Target-Pw-a92d4e';
  // mysql.global_priv's authentication_string for sidegate_ed25519 on the test server
  assert.equal(ed25519PublicKey(password).toString('base64').replace(/=+$/, ''), 'G5FINhHj+Ee+2zksb1YPa+nKMyqGGmBp/iGj/Tt58zE');
  const nonce = Buffer.from('f'.repeat(32));
  const sig = ed25519Signature(password, nonce);
  assert.equal(sig.length, 64);
  // verified by Node's own Ed25519 against the raw public key
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), ed25519PublicKey(password)]);
  const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  assert.ok(verify(null, nonce, key, sig));
  assert.ok(!verify(null, Buffer.from('g'.repeat(32)), key, sig));
  assert.ok(!verify(null, nonce, key, ed25519Signature('wrong', nonce)));
  // deterministic, as Ed25519 is
  assert.deepEqual(ed25519Signature(password, nonce), sig);
  assert.throws(() => ed25519Signature(password, nonce.subarray(0, 20)), RangeError);
});
