import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApproverSessions, MAX_SESSION_GROUPS, type ApproverSessionOptions } from './approver-session.js';
import { openPgliteClient } from '../store/pglite-sql-client.js';
import { SqlRevokedSessions } from '../store/revoked-sessions.js';
import type { SqlClient } from '../store/sql-client.js';
import { LoginStates } from './login-state.js';
import { cookieOf, exchange, setCookies } from './cookie-exchange.test.js';
import type { VerifiedApprover } from './web-deps.js';

const OLD = Buffer.alloc(32, 1);
const NEW = Buffer.alloc(32, 2);
const alice: VerifiedApprover = { issuer: 'https://id.example', subject: 'u-1', name: 'alice', groups: ['dba', 'sre'] };

// Sign-outs go to the store every replica shares: the embedded database here, as in a one-replica broker.
let sql: SqlClient;
let revocations: SqlRevokedSessions;
before(async () => {
  sql = await openPgliteClient();
  revocations = await SqlRevokedSessions.open(sql);
});
after(() => sql.close());

// Cookie expiry is the test's clock; the store sweeps on the database's, so the test clock starts now.
let clock = Date.now();
const replica = (over: Partial<ApproverSessionOptions> = {}) => new ApproverSessions({ secrets: [OLD], revocations, secure: false, now: () => clock, ...over });

/** Signs `approver` in on `sessions`; the Cookie header the browser then sends. */
function signIn(sessions: ApproverSessions, approver = alice): string {
  const { res } = exchange();
  assert.deepEqual(sessions.open(res, approver), { ok: true });
  return cookieOf(res);
}

test('a session opened on one replica is read on another with the same secret, with the same CSRF token', async () => {
  const a = replica();
  const b = replica();
  const cookie = signIn(a);
  assert.match(cookie, /^sidegate_session=[A-Za-z0-9_-]+$/);
  const onA = await a.read(exchange(cookie).req);
  const onB = await b.read(exchange(cookie).req);
  assert.deepEqual(onA?.approver, alice);
  assert.deepEqual(onB, onA);
  assert.match(onA?.csrfToken ?? '', /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual((await a.read(exchange(signIn(a)).req))?.csrfToken, onA?.csrfToken, 'each sign-in is a new session with its own token');
  assert.equal(await replica({ secrets: [NEW] }).read(exchange(cookie).req), undefined, 'another secret: no session');
});

test('during a rotation the CSRF token follows the secret that sealed the session', async () => {
  const before = replica({ secrets: [OLD] });
  const during = replica({ secrets: [NEW, OLD] });
  const cookie = signIn(before);
  assert.equal((await during.read(exchange(cookie).req))?.csrfToken, (await before.read(exchange(cookie).req))?.csrfToken);
  assert.ok(await during.read(exchange(signIn(during)).req));
  assert.equal(await before.read(exchange(signIn(during)).req), undefined);
});

test('a session ends at its absolute expiry, 8 hours by default', async () => {
  const sessions = replica();
  const start = clock;
  const cookie = signIn(sessions);
  clock = start + 8 * 3600_000 - 1;
  assert.ok(await sessions.read(exchange(cookie).req));
  clock = start + 8 * 3600_000;
  assert.equal(await sessions.read(exchange(cookie).req), undefined);
  clock = start;
});

test('signing out clears the cookie and refuses the session on every replica at once', async () => {
  const a = replica({ ttlMs: 60_000 });
  const b = replica({ ttlMs: 60_000 });
  const cookie = signIn(a);
  const other = signIn(a);
  assert.ok(await b.read(exchange(cookie).req), 'before sign-out, any replica');
  const { req, res } = exchange(cookie);
  await a.end(req, res);
  assert.deepEqual(setCookies(res), ['sidegate_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax']);
  assert.equal(await a.read(exchange(cookie).req), undefined, 'refused where it was signed out');
  assert.equal(await b.read(exchange(cookie).req), undefined, 'and on another replica, which kept nothing in memory');
  assert.equal(await replica({ ttlMs: 60_000 }).read(exchange(cookie).req), undefined, 'and on a replica started after');
  assert.ok(await b.read(exchange(other).req), "the approver's other session is not touched");
});

test('a store that does not answer: no session is read (503) and a sign-out is not pretended', async () => {
  const broken = await openPgliteClient();
  const gone = await SqlRevokedSessions.open(broken);
  const sessions = replica({ revocations: gone });
  const cookie = signIn(sessions);
  assert.ok(await sessions.read(exchange(cookie).req));
  await broken.close();
  await assert.rejects(sessions.read(exchange(cookie).req), { status: 503, message: /cannot check your session/ });
  assert.equal(await sessions.read(exchange().req), undefined, 'no cookie needs no store');
  const { req, res } = exchange(cookie);
  await assert.rejects(sessions.end(req, res), { status: 503, message: /You are not signed out/ });
  assert.deepEqual(setCookies(res), [], 'the cookie is kept: clearing it would look like a sign-out that did not happen');
});

test('a sign-in naming more groups than a session holds is refused, and no cookie is set', async () => {
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
  assert.deepEqual((await sessions.read(exchange(signIn(sessions, fits)).req))?.approver, fits);
});

test('a login-state cookie under the session name is no session', async () => {
  const logins = new LoginStates({ secrets: [OLD], secure: false, now: () => clock });
  const { res } = exchange();
  logins.begin(res, { state: 's'.repeat(43), nonce: 'n'.repeat(43), codeVerifier: 'v'.repeat(43), returnTo: '/' });
  const value = cookieOf(res).split('=')[1];
  assert.equal(await replica().read(exchange(`sidegate_session=${value}`).req), undefined);
});
