import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OAuthError, descriptionText, oauthErrorAnswer, statusOf } from './oauth-error.js';

test('each code has the status the RFCs give it', () => {
  assert.equal(statusOf('invalid_request'), 400);
  assert.equal(statusOf('invalid_target'), 400);
  assert.equal(statusOf('unsupported_grant_type'), 400);
  assert.equal(statusOf('unauthorized_client'), 400);
  assert.equal(statusOf('invalid_client'), 401);
  assert.equal(statusOf('server_error'), 500);
  assert.equal(statusOf('temporarily_unavailable'), 503);
});

test('invalid_client carries a challenge; others no extra header', () => {
  assert.match(oauthErrorAnswer(new OAuthError('invalid_client', 'x')).headers['www-authenticate']!, /^Bearer /);
  assert.deepEqual(oauthErrorAnswer(new OAuthError('invalid_target', 'x')), { status: 400, body: { error: 'invalid_target', error_description: 'x' }, headers: {} });
});

test('a description is printable ASCII without quote or backslash, and bounded', () => {
  assert.equal(descriptionText('issuer "a\\b" ünknown\n'), "issuer 'a'b' ?nknown?");
  assert.equal(descriptionText('x'.repeat(1000)).length, 300);
  assert.match(descriptionText('x'.repeat(1000)), /\.\.\.$/);
});
