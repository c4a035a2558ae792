import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LOGIN_TTL_MS, LoginStates, type PendingLogin } from './login-state.js';
import { cookieOf, exchange, setCookies } from './cookie-exchange.test.js';

const SECRET = Buffer.alloc(32, 1);
const pending: PendingLogin = { state: 'state-'.padEnd(43, 's'), nonce: 'nonce-'.padEnd(43, 'n'), codeVerifier: 'v'.repeat(43), returnTo: '/approvals/apr-abc234' };

let clock = 1_700_000_000_000;
const replica = (secrets = [SECRET]) => new LoginStates({ secrets, secure: true, now: () => clock });

function begun(logins: LoginStates, login = pending): string {
  const { res } = exchange();
  logins.begin(res, login);
  assert.match(setCookies(res)[0] ?? '', /^__Host-sidegate_login=[^;]+; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax; Secure$/);
  return cookieOf(res);
}

test('a login begun on one replica is answered on another, and its cookie is cleared', () => {
  const cookie = begun(replica());
  const { req, res } = exchange(cookie);
  assert.deepEqual(replica().take(req, res), pending);
  assert.deepEqual(setCookies(res), ['__Host-sidegate_login=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure']);
  assert.equal(replica([Buffer.alloc(32, 2)]).take(exchange(cookie).req, exchange().res), undefined, 'another secret: no login');
});

test('a replayed login cookie is refused by a replica that answered it', () => {
  const a = replica();
  const cookie = begun(a);
  assert.ok(a.take(exchange(cookie).req, exchange().res));
  assert.equal(a.take(exchange(cookie).req, exchange().res), undefined);
  // Another replica opens it; there the provider's single-use code and the state check refuse it.
  assert.ok(replica().take(exchange(cookie).req, exchange().res));
});

test('a login expires after 10 minutes', () => {
  const start = clock;
  const cookie = begun(replica());
  clock = start + LOGIN_TTL_MS;
  assert.equal(replica().take(exchange(cookie).req, exchange().res), undefined);
});

test('a return path too long for the cookie becomes /', () => {
  const logins = replica();
  const cookie = begun(logins, { ...pending, returnTo: `/${'x'.repeat(4000)}` });
  assert.equal(logins.take(exchange(cookie).req, exchange().res)?.returnTo, '/');
});
