import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { signWebhookBody, verifyWebhookSignature } from './webhook-signature.js';

const SECRET = 'a-shared-secret-of-at-least-32-characters';
const BODY = '{"type":"approval.created","approval":{"id":"apr-7k2m9q"}}';
const NOW = 1_735_725_600;

test('the signature is the documented recipe: v1= hex HMAC-SHA256(secret, "<timestamp>.<body>")', () => {
  const expected = createHmac('sha256', SECRET).update(`${NOW}.${BODY}`).digest('hex');
  assert.equal(signWebhookBody(SECRET, NOW, BODY), `v1=${expected}`);
});

test('a fresh, untouched delivery verifies, as a string or as the raw bytes', () => {
  const signature = signWebhookBody(SECRET, NOW, BODY);
  assert.deepEqual(verifyWebhookSignature(SECRET, { body: BODY, timestamp: String(NOW), signature }, NOW + 299), { ok: true });
  assert.deepEqual(verifyWebhookSignature(SECRET, { body: Buffer.from(BODY), timestamp: String(NOW), signature }, NOW - 299), { ok: true });
});

test('tampering with the body, the timestamp or the secret is a mismatch', () => {
  const signature = signWebhookBody(SECRET, NOW, BODY);
  const check = (body: string, timestamp: number, secret = SECRET) => verifyWebhookSignature(secret, { body, timestamp: String(timestamp), signature }, NOW);
  assert.deepEqual(check(BODY.replace('created', 'decided'), NOW), { ok: false, reason: 'mismatch' });
  assert.deepEqual(check(BODY, NOW + 1), { ok: false, reason: 'mismatch' });
  assert.deepEqual(check(BODY, NOW, `${SECRET}x`), { ok: false, reason: 'mismatch' });
});

test('a timestamp more than five minutes away, either way, is stale even when correctly signed', () => {
  for (const timestamp of [NOW - 301, NOW + 301]) {
    const signature = signWebhookBody(SECRET, timestamp, BODY);
    assert.deepEqual(verifyWebhookSignature(SECRET, { body: BODY, timestamp: String(timestamp), signature }, NOW), { ok: false, reason: 'stale' });
  }
});

test('missing and malformed headers are refused', () => {
  const signature = signWebhookBody(SECRET, NOW, BODY);
  const check = (timestamp: string | undefined, sig: string | undefined) => verifyWebhookSignature(SECRET, { body: BODY, timestamp, signature: sig }, NOW);
  assert.deepEqual(check(undefined, signature), { ok: false, reason: 'missing' });
  assert.deepEqual(check(String(NOW), undefined), { ok: false, reason: 'missing' });
  assert.deepEqual(check('1e9', signature), { ok: false, reason: 'malformed' });
  assert.deepEqual(check(String(NOW), 'v0=abcd'), { ok: false, reason: 'malformed' });
  assert.deepEqual(check(String(NOW), 'v1=abcd'), { ok: false, reason: 'malformed' });
  assert.deepEqual(check(String(NOW), signature.toUpperCase()), { ok: false, reason: 'malformed' });
});

test('during a rotation any one of several v1 signatures may match', () => {
  const old = signWebhookBody('an-old-secret-also-32-characters-long', NOW, BODY);
  const current = signWebhookBody(SECRET, NOW, BODY);
  assert.deepEqual(verifyWebhookSignature(SECRET, { body: BODY, timestamp: String(NOW), signature: `${old}, ${current}` }, NOW), { ok: true });
});
