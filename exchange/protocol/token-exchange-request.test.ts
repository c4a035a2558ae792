import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OAuthError } from './oauth-error.js';
import { parseTokenExchangeRequest } from './token-exchange-request.js';

const FORM = 'application/x-www-form-urlencoded';
const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT = 'urn:ietf:params:oauth:token-type:jwt';

function body(params: [string, string][]): Buffer {
  return Buffer.from(new URLSearchParams(params).toString());
}

const base: [string, string][] = [
  ['grant_type', GRANT],
  ['subject_token', 'eyJ.a.b'],
  ['subject_token_type', JWT],
];

function refused(params: [string, string][], code: string, description?: RegExp, contentType = FORM): void {
  assert.throws(
    () => parseTokenExchangeRequest(contentType, body(params)),
    (err: unknown) => err instanceof OAuthError && err.code === code && (description === undefined || description.test(err.description)),
    `${code} for ${JSON.stringify(params)}`,
  );
}

test('a request names its target by audience or by resource URN', () => {
  assert.deepEqual(parseTokenExchangeRequest(FORM, body([...base, ['audience', 'orders']])), { subjectToken: 'eyJ.a.b', subjectTokenType: JWT, target: 'orders', scope: [] });
  assert.equal(parseTokenExchangeRequest(`${FORM}; charset=UTF-8`, body([...base, ['resource', 'urn:sidegate:target:orders']])).target, 'orders');
  assert.equal(parseTokenExchangeRequest(FORM, body([...base, ['audience', 'orders'], ['resource', 'urn:sidegate:target:orders']])).target, 'orders');
  assert.deepEqual(parseTokenExchangeRequest(FORM, body([...base, ['audience', 'orders'], ['scope', 'app_reader']])).scope, ['app_reader']);
  assert.equal(
    parseTokenExchangeRequest(FORM, body([...base.slice(0, 2), ['subject_token_type', 'urn:ietf:params:oauth:token-type:id_token'], ['audience', 'o'], ['requested_token_type', 'urn:sidegate:params:oauth:token-type:target-credential']])).subjectTokenType,
    'urn:ietf:params:oauth:token-type:id_token',
  );
});

test('the grant type is checked first', () => {
  refused([['grant_type', 'client_credentials']], 'unsupported_grant_type');
  refused([['subject_token', 'x']], 'invalid_request', /grant_type is required/);
});

test('shape problems are invalid_request', () => {
  refused([...base, ['audience', 'o']], 'invalid_request', /x-www-form-urlencoded/, 'application/json');
  refused([...base, ['audience', 'o']], 'invalid_request', /x-www-form-urlencoded/, 'text/plain');
  refused([base[0]!, base[2]!, ['audience', 'o']], 'invalid_request', /subject_token is required/);
  refused([base[0]!, base[1]!, ['audience', 'o']], 'invalid_request', /subject_token_type is required/);
  refused([base[0]!, base[1]!, ['subject_token_type', 'urn:ietf:params:oauth:token-type:access_token'], ['audience', 'o']], 'invalid_request', /subject_token_type must be/);
  refused([...base, ['audience', 'o'], ['requested_token_type', 'urn:ietf:params:oauth:token-type:access_token']], 'invalid_request', /requested_token_type/);
  refused([...base, ['grant_type', GRANT], ['audience', 'o']], 'invalid_request', /more than once/);
  refused([...base], 'invalid_request', /name the target/);
  refused([...base, ['audience', 'o'], ['scope', 'a b']], 'invalid_scope');
});

test('delegation: an actor token comes with its type, and a type never without a token (RFC 8693 §2.1)', () => {
  assert.equal(parseTokenExchangeRequest(FORM, body([...base, ['audience', 'o'], ['actor_token', 'eyJ.c.d'], ['actor_token_type', JWT]])).actorToken, 'eyJ.c.d');
  assert.equal('actorToken' in parseTokenExchangeRequest(FORM, body([...base, ['audience', 'o']])), false);
  refused([...base, ['audience', 'o'], ['actor_token', 'eyJ.c.d']], 'invalid_request', /requires actor_token_type/);
  refused([...base, ['audience', 'o'], ['actor_token_type', JWT]], 'invalid_request', /without actor_token/);
  refused([...base, ['audience', 'o'], ['actor_token', 'eyJ.c.d'], ['actor_token_type', 'urn:ietf:params:oauth:token-type:access_token']], 'invalid_request', /actor_token_type must be/);
  refused([...base, ['audience', 'o'], ['actor_token', 'a'], ['actor_token', 'b'], ['actor_token_type', JWT]], 'invalid_request', /more than once/);
  refused([...base, ['audience', 'o'], ['actor_token', 'x'.repeat(17 * 1024)], ['actor_token_type', JWT]], 'invalid_request', /actor_token is longer/);
});

test('targets: one per exchange, resources in our URN form', () => {
  refused([...base, ['audience', 'a'], ['audience', 'b']], 'invalid_target', /one target/);
  refused([...base, ['audience', 'a'], ['resource', 'urn:sidegate:target:b']], 'invalid_target', /different targets/);
  refused([...base, ['resource', 'https://db.example.com/']], 'invalid_target', /urn:sidegate:target:/);
  refused([...base, ['resource', 'urn:sidegate:target:']], 'invalid_target');
  refused([...base, ...Array.from({ length: 9 }, () => ['audience', 'a'] as [string, string])], 'invalid_target');
});

test('values are bounded and the body must be UTF-8; nothing of a value is echoed', () => {
  refused([...base, ['audience', 'x'.repeat(600)]], 'invalid_request', /audience is longer than 512/);
  refused([base[0]!, ['subject_token', 'x'.repeat(17 * 1024)], base[2]!, ['audience', 'o']], 'invalid_request', /subject_token is longer/);
  assert.throws(() => parseTokenExchangeRequest(FORM, Buffer.from([0x61, 0x3d, 0xff])), (err: unknown) => err instanceof OAuthError && /UTF-8/.test(err.description));
  assert.throws(
    () => parseTokenExchangeRequest(FORM, body([['grant_type', 'secret-looking-value'], ['subject_token', 'eyJsecret']])),
    (err: unknown) => err instanceof OAuthError && !err.description.includes('secret'),
  );
});
