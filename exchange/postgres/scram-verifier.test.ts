// The verifier's correctness against PostgreSQL itself is the integration test's login
// (test/integration/token-exchange.test.ts); here its form and its refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { scramSha256Verifier } from './scram-verifier.js';

test('the verifier has PostgreSQL form and the RFC 5802 keys', () => {
  const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
  const verifier = scramSha256Verifier('pencil', salt);
  const match = /^SCRAM-SHA-256\$4096:([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(verifier);
  assert.ok(match, verifier);
  assert.equal(match[1], 'W22ZaJ0SNY7soEsUEjb6gQ==');
  // RFC 7677's example: the server's signature for this exchange proves ServerKey.
  const serverKey = Buffer.from(match[3]!, 'base64');
  const authMessage = 'n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
  assert.equal(createHmac('sha256', serverKey).update(authMessage).digest('base64'), '6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
  const salted = pbkdf2Sync('pencil', salt, 4096, 32, 'sha256');
  assert.equal(match[2], createHash('sha256').update(createHmac('sha256', salted).update('Client Key').digest()).digest('base64'));
});

test('a fresh salt each time; passwords SASLprep would change are refused', () => {
  assert.notEqual(scramSha256Verifier('same'), scramSha256Verifier('same'));
  assert.throws(() => scramSha256Verifier('pässword'), TypeError);
  assert.throws(() => scramSha256Verifier('with space'), TypeError);
  assert.throws(() => scramSha256Verifier(''), TypeError);
});
