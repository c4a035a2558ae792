import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ownerHash } from '../identity/owner-hash.js';
import { issuedUserName, MARIADB_MAX_USER_NAME, ownerFragment, parseIssuedUserName } from './issued-user-name.js';

const owner = ownerHash('https://issuer', 'system:serviceaccount:ci:runner');
const span = `00-${'a1'.repeat(16)}-${'b2'.repeat(8)}-01`;
const expiresAtMs = Date.parse('2026-12-04T19:00:00.000Z');

test("a name carries the expiry, the owner's fragment and the issuing span, and reads back", () => {
  const name = issuedUserName('sidegate_x_', expiresAtMs, owner, span);
  assert.equal(name, `sidegate_x_${expiresAtMs / 1000}_${owner.slice(0, 24)}_t${'a1'.repeat(16)}${'b2'.repeat(8)}`);
  assert.deepEqual(parseIssuedUserName(name, 'sidegate_x_'), { expiresAtMs, ownerFragment: ownerFragment(owner), issuedBy: span });
});

test('the expiry is rounded up to a whole second, never earlier than asked', () => {
  const parsed = parseIssuedUserName(issuedUserName('sgx_', expiresAtMs + 1, owner, span), 'sgx_')!;
  assert.equal(parsed.expiresAtMs, expiresAtMs + 1000);
});

test('without a span the name ends in 192 random bits and names no span; two names differ', () => {
  const a = issuedUserName('sgx_', expiresAtMs, owner);
  const b = issuedUserName('sgx_', expiresAtMs, owner);
  assert.notEqual(a, b);
  assert.deepEqual(parseIssuedUserName(a, 'sgx_'), { expiresAtMs, ownerFragment: ownerFragment(owner) });
});

test('the longest prefix still fits the server\'s 128 characters', () => {
  const name = issuedUserName('a'.repeat(21), expiresAtMs, owner, span);
  assert.ok(name.length <= MARIADB_MAX_USER_NAME, String(name.length));
  assert.equal(name.length, 106);
});

test('anything else is not ours: the sweeper and revocation leave it alone', () => {
  const name = issuedUserName('sgx_', expiresAtMs, owner, span);
  assert.equal(parseIssuedUserName(name, 'other_'), undefined, 'another prefix');
  assert.equal(parseIssuedUserName('root', 'sgx_'), undefined);
  assert.equal(parseIssuedUserName('sgx_reporting', 'sgx_'), undefined);
  assert.equal(parseIssuedUserName(`${name}x`, 'sgx_'), undefined, 'one character more');
  assert.equal(parseIssuedUserName(name.replace('_t', '_T'), 'sgx_'), undefined);
  assert.equal(parseIssuedUserName(name.replace(/^sgx_\d/, 'sgx_x'), 'sgx_'), undefined, 'an expiry that is not digits');
  assert.equal(parseIssuedUserName(`sgx_1796400000_${'0'.repeat(24)}_t${'0'.repeat(47)}'`, 'sgx_'), undefined, 'a quote');
});

test('a malformed owner or a far-off expiry is refused rather than written', () => {
  assert.throws(() => issuedUserName('sgx_', expiresAtMs, 'not-a-hash', span));
  assert.throws(() => issuedUserName('sgx_', 1e14, owner, span));
});
