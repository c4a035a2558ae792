import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createScramClient, saslPrep, ScramError, tlsServerEndPoint } from './scram-client.js';

// RFC 7677 §3 test vector.
const RFC = {
  user: 'user',
  password: 'pencil',
  nonce: 'rOprNGfwEbeRWgbNEkqO',
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

test('SCRAM-SHA-256: RFC 7677 test vector end to end', () => {
  const c = createScramClient(RFC.password, { nonce: RFC.nonce, user: RFC.user });
  assert.equal(c.mechanism, 'SCRAM-SHA-256');
  assert.equal(c.clientFirstMessage(), RFC.clientFirst);
  assert.equal(c.handleServerFirst(RFC.serverFirst), RFC.clientFinal);
  assert.equal(c.verified, false);
  c.verifyServerFinal(RFC.serverFinal);
  assert.equal(c.verified, true);
});

test('SCRAM: a wrong server signature is an error (a man in the middle is caught)', () => {
  const c = createScramClient(RFC.password, { nonce: RFC.nonce, user: RFC.user });
  c.clientFirstMessage();
  c.handleServerFirst(RFC.serverFirst);
  const forged = 'v=' + Buffer.alloc(32, 1).toString('base64');
  assert.throws(() => c.verifyServerFinal(forged), /server signature does not match/);
  assert.equal(c.verified, false);
});

test('SCRAM: the server nonce must extend ours; e= is reported; order is enforced', () => {
  const c = createScramClient('pw', { nonce: 'abc' });
  assert.throws(() => c.handleServerFirst('r=abcdef,s=AAAA,i=4096'), ScramError, 'server-first before client-first');
  c.clientFirstMessage();
  assert.throws(() => c.handleServerFirst('r=xyzdef,s=AAAA,i=4096'), /nonce/);
  assert.throws(() => c.handleServerFirst('r=abc,s=AAAA,i=4096'), /nonce/);
  assert.throws(() => c.handleServerFirst('r=abcdef,s=AAAA,i=0'), /malformed/);
  assert.throws(() => c.handleServerFirst('r=abcdef,s=AAAA,i=99999999'), /iteration/);
  assert.throws(() => c.handleServerFirst('garbage'), /malformed/);
  const d = createScramClient('pw', { nonce: 'abc' });
  d.clientFirstMessage();
  d.handleServerFirst('r=abcdef,s=AAAA,i=1');
  assert.throws(() => d.verifyServerFinal('e=invalid-proof'), /invalid-proof/);
});

test('SCRAM: the password never appears in any message or error', () => {
  const password = 'S3cret-Passw0rd';
  const c = createScramClient(password);
  const first = c.clientFirstMessage();
  const nonce = first.split('r=')[1]!;
  const final = c.handleServerFirst(`r=${nonce}srv,s=${Buffer.from('salt').toString('base64')},i=16`);
  assert.ok(!first.includes(password) && !final.includes(password));
  try {
    c.verifyServerFinal('v=AAAA');
    assert.fail('must throw');
  } catch (err) {
    assert.ok(!(err as Error).message.includes(password));
  }
});

test('SCRAM-SHA-256-PLUS: gs2 header and c= carry the channel binding data', () => {
  const cb = Buffer.alloc(32, 0xab);
  const c = createScramClient('pw', { nonce: 'n1', channelBinding: cb });
  assert.equal(c.mechanism, 'SCRAM-SHA-256-PLUS');
  assert.equal(c.clientFirstMessage(), 'p=tls-server-end-point,,n=,r=n1');
  const final = c.handleServerFirst('r=n1x,s=AAAA,i=1');
  const cAttr = final.split(',')[0]!.slice(2);
  assert.deepEqual(Buffer.from(cAttr, 'base64'), Buffer.concat([Buffer.from('p=tls-server-end-point,,'), cb]));
  const y = createScramClient('pw', { nonce: 'n1', clientSupportsBinding: true });
  assert.equal(y.clientFirstMessage(), 'y,,n=,r=n1');
  assert.ok(y.handleServerFirst('r=n1x,s=AAAA,i=1').startsWith('c=eSws,')); // base64("y,,")
});

test('SASLprep-lite: ASCII untouched, spaces mapped, soft hyphen dropped, NFKC, invalid → raw', () => {
  assert.equal(saslPrep('plain-Password_1!'), 'plain-Password_1!');
  assert.equal(saslPrep('a\u00A0b'), 'a b');
  assert.equal(saslPrep('pa\u00ADss'), 'pass');
  assert.equal(saslPrep('\u2168'), 'IX'); // ROMAN NUMERAL NINE, NFKC
  assert.equal(saslPrep('\u00AD'), '\u00AD', 'maps to nothing: the raw password is used, as PostgreSQL does');
  assert.equal(saslPrep('a\u0007b'), 'a\u0007b');
  assert.equal(saslPrep('ab\uE000'), 'ab\uE000');
});

test('tls-server-end-point: SHA-256 of a sha256WithRSA certificate; unknown algorithms → null', () => {
  const pem = readFileSync('/var/tmp/sidegate-test/pg/tls/server.crt');
  const der = new X509Certificate(pem).raw;
  assert.deepEqual(tlsServerEndPoint(der), createHash('sha256').update(der).digest());
  assert.equal(tlsServerEndPoint(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00])), null);
  // The outer signatureAlgorithm (the last sha256WithRSA OID) rewritten to one we cannot map.
  const oid = Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b]);
  const at = der.lastIndexOf(oid);
  assert.ok(at > der.indexOf(oid), 'the OID appears inside and after tbsCertificate');
  const unknown = Buffer.from(der);
  Buffer.from([0x06, 0x09, 0x2b, 0x65, 0x70, 0, 0, 0, 0, 0, 0]).copy(unknown, at);
  assert.equal(tlsServerEndPoint(unknown), null);
});
