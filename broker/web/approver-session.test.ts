import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApproverSessions, MAX_SESSION_GROUPS, type ApproverSessionOptions } from './approver-session.js';
import { LoginStates } from './login-state.js';
import { cookieOf, exchange, setCookies } from './cookie-exchange.test.js';
import type { VerifiedApprover } from './web-deps.js';

const OLD = Buffer.alloc(32, 1);
const NEW = Buffer.alloc(32, 2);
const alice: VerifiedApprover = { issuer: 'https://id.example', subject: 'u-1', name: 'alice', groups: ['dba', 'sre'] };

let clock = 1_700_000_000_000;
const replica = (over: Partial<ApproverSessionOptions> = {}) => new ApproverSessions({ secrets: [OLD], secure: false, now: () => clock, ...over });

/** Signs `approver` in on `sessions`; the Cookie header the browser then sends. */
function signIn(sessions: ApproverSessions, approver = alice): string {
  const { res } = exchange();
  assert.deepEqual(sessions.open(res, approver), { ok: true });
  return cookieOf(res);
}

test('a session opened on one replica is read on another with the same secret, with the same CSRF token', () => {
  const a = replica();
  const b = replica();
  const cookie = signIn(a);
  assert.match(cookie, /^sidegate_session=[A-Za-z0-9_-]+$/);
  const onA = a.read(exchange(cookie).req);
  const onB = b.read(exchange(cookie).req);
  assert.deepEqual(onA?.approver, alice);
  assert.deepEqual(onB, onA);
  assert.match(onA?.csrfToken ?? '', /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a.read(exchange(signIn(a)).req)?.csrfToken, onA?.csrfToken, 'each sign-in is a new session with its own token');
  assert.equal(replica({ secrets: [NEW] }).read(exchange(cookie).req), undefined, 'another secret: no session');
});

test('during a rotation the CSRF token follows the secret that sealed the session', () => {
  const before = replica({ secrets: [OLD] });
  const during = replica({ secrets: [NEW, OLD] });
  const cookie = signIn(before);
  assert.equal(during.read(exchange(cookie).req)?.csrfToken, before.read(exchange(cookie).req)?.csrfToken);
  assert.ok(during.read(exchange(signIn(during)).req));
  assert.equal(before.read(exchange(signIn(during)).req), undefined);
});

test('a session ends at its absolute expiry, 8 hours by default', () => {
  const sessions = replica();
  const start = clock;
  const cookie = signIn(sessions);
  clock = start + 8 * 3600_000 - 1;
  assert.ok(sessions.read(exchange(cookie).req));
  clock = start + 8 * 3600_000;
  assert.equal(sessions.read(exchange(cookie).req), undefined);
});

test('signing out clears the cookie and refuses it here; a copy stays valid elsewhere until it expires', () => {
  const a = replica({ ttlMs: 60_000 });
  const b = replica({ ttlMs: 60_000 });
  const cookie = signIn(a);
  const { req, res } = exchange(cookie);
  a.end(req, res);
  assert.deepEqual(setCookies(res), ['sidegate_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax']);
  assert.equal(a.read(exchange(cookie).req), undefined, 'revoked in this process');
  assert.ok(b.read(exchange(cookie).req), 'the documented limit: another replica does not know of the sign-out');
  clock += 60_000;
  assert.equal(b.read(exchange(cookie).req), undefined);
});

test('a sign-in naming more groups than a session holds is refused, and no cookie is set', () => {
  const sessions = replica();
  const many = { ...alice, groups: Array.from({ length: MAX_SESSION_GROUPS + 1 }, (_, i) => `g${i}`) };
  const { res } = exchange();
  const refused = sessions.open(res, many);
  assert.equal(refused.ok, false);
  assert.match(refused.ok ? '' : refused.message, /names 101 groups; a session holds at most 100/);
  assert.equal(res.getHeader('set-cookie'), undefined);

  const long = { ...alice, groups: Array.from({ length: MAX_SESSION_GROUPS }, (_, i) => `${'g'.repeat(60)}${i}`) };
  const tooLong = sessions.open(res, long);
  assert.match(tooLong.ok ? '' : tooLong.message, /too long for a session/);
  assert.equal(res.getHeader('set-cookie'), undefined);

  const fits = { ...alice, groups: Array.from({ length: MAX_SESSION_GROUPS }, (_, i) => `team-${i}`) };
  assert.deepEqual(sessions.read(exchange(signIn(sessions, fits)).req)?.approver, fits);
});

test('a login-state cookie under the session name is no session', () => {
  const logins = new LoginStates({ secrets: [OLD], secure: false, now: () => clock });
  const { res } = exchange();
  logins.begin(res, { state: 's'.repeat(43), nonce: 'n'.repeat(43), codeVerifier: 'v'.repeat(43), returnTo: '/' });
  const value = cookieOf(res).split('=')[1];
  assert.equal(replica().read(exchange(`sidegate_session=${value}`).req), undefined);
});
