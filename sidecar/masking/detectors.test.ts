import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileDetectors, findSensitive, luhnValid } from './detectors.js';

const all = compileDetectors([
  { kind: 'builtin', name: 'email' },
  { kind: 'builtin', name: 'payment-card' },
  { kind: 'builtin', name: 'jwt' },
  { kind: 'builtin', name: 'aws-access-key' },
  { kind: 'builtin', name: 'pem-private-key' },
  { kind: 'regex', name: 'ticket', pattern: 'TCK-[0-9]+' },
]);
const found = (text: string) => findSensitive(text, all).map((m) => [m.detector, text.slice(m.start, m.end)]);

test('Luhn: real test numbers pass, one wrong digit fails', () => {
  assert.equal(luhnValid('4111111111111111'), true);
  assert.equal(luhnValid('5500 0055 5555 5559'), true);
  assert.equal(luhnValid('4111111111111112'), false);
  assert.equal(luhnValid('1234'), false);
});

test('card numbers are found only when Luhn-valid, with spaces or dashes', () => {
  assert.deepEqual(found('pay 4111-1111-1111-1111 now'), [['payment-card', '4111-1111-1111-1111']]);
  assert.deepEqual(found('order 4111111111111112'), []);
  assert.deepEqual(found('phone 2025550123'), []);
});

test('e-mail, JWT, AWS keys, PEM private keys and custom regexes', () => {
  assert.deepEqual(found('mail ada@example.com.'), [['email', 'ada@example.com']]);
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
  assert.deepEqual(found(`token=${jwt}`), [['jwt', jwt]]);
  assert.deepEqual(found('eyJub3Rqc29u.abcdefgh.ijk'), [], 'a header that is not JSON with alg is not a JWT');
  assert.deepEqual(found('key AKIAIOSFODNN7EXAMPLE here'), [['aws-access-key', 'AKIAIOSFODNN7EXAMPLE']]);
  const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----';
  assert.deepEqual(found(`x ${pem} y`), [['pem-private-key', pem]]);
  assert.deepEqual(found('see TCK-1234'), [['ticket', 'TCK-1234']]);
});

test('overlapping matches: the earliest, longest wins; a zero-length regex cannot loop', () => {
  const d = compileDetectors([{ kind: 'builtin', name: 'email' }, { kind: 'regex', name: 'domain', pattern: 'example\\.com' }, { kind: 'regex', name: 'empty', pattern: 'x*' }]);
  const m = findSensitive('ada@example.com', d);
  assert.deepEqual(m.map((x) => x.detector), ['email']);
});
