import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileDetectors, findSensitive } from './detectors.js';

const all = compileDetectors([
  { kind: 'builtin', name: 'email' },
  { kind: 'builtin', name: 'payment-card' },
  { kind: 'builtin', name: 'jwt' },
  { kind: 'builtin', name: 'aws-access-key' },
  { kind: 'builtin', name: 'pem-private-key' },
  { kind: 'regex', name: 'ticket', pattern: 'TCK-[0-9]+' },
]);
const found = (text: string, detectors = all) => findSensitive(text, detectors).map((m) => [m.detector, text.slice(m.start, m.end)]);
const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';

test('e-mail addresses, without trailing punctuation or a dot-less domain', () => {
  assert.deepEqual(found('mail ada@example.com.'), [['email', 'ada@example.com']]);
  assert.deepEqual(found('<grace.hopper+navy@mail.example.co.uk>'), [['email', 'grace.hopper+navy@mail.example.co.uk']]);
  assert.deepEqual(found('user@localhost and @handle and a@b.c1'), []);
  assert.deepEqual(found('a@x.io,b@y.io'), [
    ['email', 'a@x.io'],
    ['email', 'b@y.io'],
  ]);
});

test('JWT: three base64url segments whose header is JSON with alg', () => {
  assert.deepEqual(found(`Authorization: Bearer ${jwt}`), [['jwt', jwt]]);
  assert.deepEqual(found('eyJub3Rqc29u.abcdefgh.ijk'), [], 'header is not JSON');
  const noAlg = Buffer.from('{"typ":"JWT"}').toString('base64url');
  assert.deepEqual(found(`${noAlg}.eyJzdWIiOiJ4In0.sig`), [], 'header JSON without alg');
});

test('AWS: access key ids by prefix, secret keys only when labelled (the label stays)', () => {
  assert.deepEqual(found('key AKIAIOSFODNN7EXAMPLE here'), [['aws-access-key', 'AKIAIOSFODNN7EXAMPLE']]);
  assert.deepEqual(found('ASIAY34FZKBOKMUTVV7A'), [['aws-access-key', 'ASIAY34FZKBOKMUTVV7A']]);
  assert.deepEqual(found('akiaiosfodnn7example AKIAIOSFODNN7EXAMPLEX'), [], 'lower case, or 17 characters, is not a key id');
  const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  assert.deepEqual(found(`aws_secret_access_key = ${secret}`), [['aws-access-key', secret]]);
  assert.deepEqual(found(`{"SecretAccessKey": "${secret}"}`), [['aws-access-key', secret]]);
  assert.deepEqual(found(`AWS_SECRET_ACCESS_KEY=${secret}`), [['aws-access-key', secret]]);
  assert.deepEqual(found(`unlabelled ${secret}`), []);
});

test('PEM private key blocks, multi-line or with escaped newlines; a truncated one to the end', () => {
  const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----';
  assert.deepEqual(found(`x ${pem} y`), [['pem-private-key', pem]]);
  const escaped = '-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----';
  assert.deepEqual(found(`{"k":"${escaped}"}`), [['pem-private-key', escaped]]);
  assert.deepEqual(found('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'), [], 'certificates are public');
  assert.deepEqual(found('-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn'), [['pem-private-key', '-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn']]);
});

test('custom regexes: flags kept, always global, sticky dropped, invalid ones refused by name', () => {
  assert.deepEqual(found('see TCK-1 and TCK-22'), [
    ['ticket', 'TCK-1'],
    ['ticket', 'TCK-22'],
  ]);
  const ci = compileDetectors([{ kind: 'regex', name: 'ssn', pattern: 'ssn:\\d+', flags: 'iy' }]);
  assert.deepEqual(found('x SSN:123 y ssn:4', ci), [
    ['ssn', 'SSN:123'],
    ['ssn', 'ssn:4'],
  ]);
  assert.throws(() => compileDetectors([{ kind: 'regex', name: 'broken', pattern: '(' }]), /masking detector "broken"/);
  assert.throws(() => compileDetectors([{ kind: 'builtin', name: 'nope' as never }]), /unknown masking detector "nope"/);
});

test('a regex that can match empty does not loop and finds its real matches', () => {
  const d = compileDetectors([{ kind: 'regex', name: 'xs', pattern: 'x*' }]);
  assert.deepEqual(found('axxbx', d), [
    ['xs', 'xx'],
    ['xs', 'x'],
  ]);
});

test('overlapping matches merge into one range attributed to the earliest, longest', () => {
  const d = compileDetectors([{ kind: 'builtin', name: 'email' }, { kind: 'regex', name: 'domain', pattern: 'example\\.com' }, { kind: 'regex', name: 'xa', pattern: 'x a' }]);
  assert.deepEqual(found('ada@example.com', d), [['email', 'ada@example.com']]);
  assert.deepEqual(found('x ada@example.com', d), [['xa', 'x ada@example.com']], 'the email tail is not left visible');
});

test('built-ins are linear on hostile input: eight times the input costs about eight times the work', () => {
  // Complexity, not speed: a backtracking blow-up is quadratic or worse, so doubling the input
  // would at least quadruple the time. The best of five runs keeps a busy machine out of it, and
  // 8× the input leaves room between linear (8×) and quadratic (64×) for a CI host's stalls.
  const kib = 256 * 1024;
  const hostile = (n: number) => ['a'.repeat(n), 'a@'.repeat(n / 2), 'eyJ'.repeat(n / 3), '-----BEGIN RSA PRIVATE KEY-----'.repeat(n / 32), '1 '.repeat(n / 2), ' '.repeat(n) + 'secret_key='];
  const best = (input: string) => {
    let min = Infinity;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      findSensitive(input, all);
      min = Math.min(min, performance.now() - t0);
    }
    return min;
  };
  const small = hostile(kib);
  const large = hostile(8 * kib);
  for (let i = 0; i < small.length; i++) {
    const a = best(small[i]!);
    const b = best(large[i]!);
    // 8× the input: linear work is ~8×, quadratic ~64×.
    assert.ok(b < Math.max(a, 1) * 24, `${JSON.stringify(small[i]!.slice(0, 12))}…: ${a.toFixed(1)} ms → ${b.toFixed(1)} ms for 8× the input`);
  }
});
