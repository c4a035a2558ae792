// The approval page end to end, as an approver's browser sees it: Debian's Chromium (headless)
// against real node:http servers mounting the page, signing in through a real OpenID provider
// (oidc-provider, its own login and consent pages). The page runs as two replicas sharing one
// session secret behind a front that, like a Kubernetes Service without sticky sessions, sends
// each request to either (in turn, or as a test pins it); a third replica has another secret.
// Only the approval store is a stand-in, shared by the replicas as PostgreSQL would be (it
// records what the page asks of it and refuses a requester's own approval, as the broker's store
// does); sign-outs go to the real store (embedded PGlite, shared by the replicas); everything the
// page talks to over HTTP is real.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';
import type { Page } from 'playwright-core';
import { launchChromium, type TestBrowser } from '../../test/support/chromium.js';
import { ApprovalError } from '../store/approval-store.js';
import { openPgliteClient } from '../store/pglite-sql-client.js';
import { SqlRevokedSessions } from '../store/revoked-sessions.js';
import type { SqlClient } from '../store/sql-client.js';
import { createOidcLogin } from './oidc-login.js';
import { handleWebRequest } from './web-handler.js';
import { HOSTILE, sampleApproval } from './sample-approval.test.js';
import type { ApprovalListFilter, ShownApproval, VerifiedApprover, WebDeps, WebStore } from './web-deps.js';

interface Decision {
  id: string;
  verdict: 'approved' | 'denied';
  approver: VerifiedApprover;
  reason: string;
}

/** Stands in for the broker's store: votes to a threshold, and the requester's CI actor may not decide. */
class RecordingStore implements WebStore {
  readonly records = new Map<string, ShownApproval>();
  readonly decisions: Decision[] = [];

  add(record: ShownApproval): void {
    this.records.set(record.id, record);
  }

  async list(filter: ApprovalListFilter): Promise<ShownApproval[]> {
    const all = [...this.records.values()];
    return (filter.status === 'pending' ? all.filter((r) => r.status === 'pending') : all.filter((r) => r.status !== 'pending')).slice(0, filter.limit);
  }

  async get(id: string): Promise<ShownApproval> {
    const record = this.records.get(id);
    if (!record) throw new ApprovalError(404, `no approval ${id}`);
    return record;
  }

  async decide(id: string, verdict: 'approved' | 'denied', approver: VerifiedApprover, reason: string): Promise<ShownApproval> {
    const record = await this.get(id);
    if (record.status !== 'pending') throw new ApprovalError(409, `approval ${id} is already ${record.status}`);
    if (approver.name === record.ci?.actor) throw new ApprovalError(403, `${approver.name} started this run and cannot decide its own request`);
    this.decisions.push({ id, verdict, approver, reason });
    const votes = [...(record.votes ?? []), { approver: { name: approver.name, subject: approver.subject, issuer: approver.issuer }, verdict, reason, at: new Date().toISOString() }];
    const approvals = votes.filter((v) => v.verdict === 'approved').length;
    const decided = verdict === 'denied' || approvals >= (record.threshold ?? 1);
    const next: ShownApproval = { ...record, votes, ...(decided ? { status: verdict, decidedBy: approver.name, decidedAt: new Date().toISOString(), reason } : {}) };
    this.records.set(id, next);
    return next;
  }
}

const ACCOUNTS: Record<string, string[]> = { alice: ['dba'], bob: ['dba', 'sre'], carol: ['dev'], erin: Array.from({ length: 101 }, (_, i) => `team-${i}`) };

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** a and b share the session secret; c has another. */
type Replica = 'a' | 'b' | 'c';

interface Served {
  replica: Replica;
  method: string;
  url: string;
  cookie: string | undefined;
}

/**
 * One public address in front of the replicas, as a Service is: each request goes where `pick`
 * says, and is logged.
 */
function createFront(ports: Map<Replica, number>, pick: (req: http.IncomingMessage) => Replica, served: Served[]): http.Server {
  return http.createServer((req, res) => {
    const replica = pick(req);
    served.push({ replica, method: req.method ?? '', url: req.url ?? '', cookie: req.headers.cookie });
    const upstream = http.request({ host: '127.0.0.1', port: ports.get(replica), method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
}

/** Round robin over the replicas sharing the secret: no two requests in a row on the same one. */
function inTurn(): (req: http.IncomingMessage) => Replica {
  let turn = 0;
  return () => (turn++ % 2 === 0 ? 'a' : 'b');
}

const store = new RecordingStore();
const served: Served[] = [];
const replicaPorts = new Map<Replica, number>();
let pick: (req: http.IncomingMessage) => Replica = inTurn();
let browser: TestBrowser;
let front: http.Server;
const replicas: http.Server[] = [];
let providerServer: http.Server;
let publicUrl: string;
let issuer: string;
let sessionDatabase: SqlClient;
let sessionRevocations: SqlRevokedSessions;

before(async () => {
  sessionDatabase = await openPgliteClient();
  sessionRevocations = await SqlRevokedSessions.open(sessionDatabase);
  front = createFront(replicaPorts, (req) => pick(req), served);
  publicUrl = `http://127.0.0.1:${await listen(front)}`;

  // The provider is on another site (localhost, not 127.0.0.1): the return from sign-in is a
  // cross-site navigation, as with a real identity provider, so the SameSite=Lax cookies are tested.
  providerServer = http.createServer();
  issuer = `http://localhost:${await listen(providerServer)}`;
  const provider = new Provider(issuer, {
    clients: [{ client_id: 'sidegate-approvals', client_secret: 'a-client-secret-for-the-test-only', redirect_uris: [`${publicUrl}/auth/callback`], grant_types: ['authorization_code'], response_types: ['code'] }],
    async findAccount(_ctx, id) {
      const groups = ACCOUNTS[id];
      return groups && { accountId: id, claims: async () => ({ sub: id, preferred_username: id, groups }) };
    },
    claims: { openid: ['sub'], profile: ['preferred_username'], groups: ['groups'] },
    // Groups in the ID token itself, as providers configured for this do.
    conformIdTokenClaims: false,
    cookies: { keys: ['a-cookie-key-for-the-test-only'] },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600 },
  });
  providerServer.on('request', provider.callback());

  const shared = randomBytes(32);
  for (const [replica, secret] of [['a', shared], ['b', shared], ['c', randomBytes(32)]] as const) {
    const login = createOidcLogin({
      issuer,
      clientId: 'sidegate-approvals',
      clientSecret: 'a-client-secret-for-the-test-only',
      publicUrl,
      scopes: 'openid profile groups',
      sessionSecrets: [secret],
      sessionRevocations,
      allowInsecureIssuer: true,
    });
    const deps: WebDeps = { store, authenticate: login.authenticate, login, publicUrl };
    const server = http.createServer((req, res) => void handleWebRequest(req, res, deps));
    replicaPorts.set(replica, await listen(server));
    replicas.push(server);
  }
  browser = await launchChromium(['--host-resolver-rules=MAP localhost 127.0.0.1']);
});

after(async () => {
  await browser?.close();
  const servers = [front, ...replicas, providerServer].filter((s) => s !== undefined);
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  await sessionDatabase?.close();
});

/** Sends each request whose path is listed to that replica, the others in turn, for the length of `body`. */
async function pinned<T>(routes: Record<string, Replica>, body: () => Promise<T>): Promise<T> {
  const inTurnOtherwise = inTurn();
  pick = (req) => routes[new URL(req.url ?? '/', 'http://front').pathname] ?? inTurnOtherwise(req);
  try {
    return await body();
  } finally {
    pick = inTurn();
  }
}

/** On the provider's login page: signs in as `user` and consents. */
async function throughProvider(page: Page, user: string): Promise<void> {
  assert.ok(page.url().startsWith(`${issuer}/interaction/`), `sent to the provider's login, at ${page.url()}`);
  await page.fill('input[name=login]', user);
  await page.fill('input[name=password]', 'any');
  await page.click('button[type=submit]');
  await page.click('button:has-text("Continue")');
}

/** Opens the page in a fresh browser profile and signs in as `user` through the provider's own pages. */
async function signedIn(user: string, options: { javaScriptEnabled?: boolean } = {}): Promise<Page> {
  const { page } = await browser.newPage(options);
  await page.goto(`${publicUrl}/`);
  await throughProvider(page, user);
  await page.waitForURL(`${publicUrl}/`);
  assert.equal(await page.textContent('strong.approver'), user);
  return page;
}

test('a visit without a session is sent to sign in, back to the page it asked for', async () => {
  const res = await fetch(`${publicUrl}/approvals/apr-abc234`, { redirect: 'manual' });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/login?next=%2Fapprovals%2Fapr-abc234');
  assert.equal(res.headers.get('cache-control'), 'no-store');

  const start = await fetch(`${publicUrl}${res.headers.get('location')}`, { redirect: 'manual' });
  assert.equal(start.status, 303);
  const authorize = new URL(start.headers.get('location') ?? '');
  assert.equal(authorize.origin, issuer);
  assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
  assert.match(authorize.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
  assert.match(authorize.searchParams.get('state') ?? '', /.{20,}/);
  assert.match(authorize.searchParams.get('nonce') ?? '', /.{20,}/);
  assert.match(start.headers.get('set-cookie') ?? '', /^sidegate_login=[^;]+; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax$/);
});

test('two approvers sign in, see the request, open it and approve it with reasons (JavaScript off)', async () => {
  store.add(sampleApproval({ id: 'apr-thr2ab', threshold: 2 }));
  const alice = await signedIn('alice', { javaScriptEnabled: false });
  const row = alice.locator('tr.pending[data-id="apr-thr2ab"]');
  assert.match((await row.textContent()) ?? '', /orders-db[\s\S]*deletes-need-approval[\s\S]*acme\/api[\s\S]*DELETE FROM orders[\s\S]*0 \/ 2/);
  await row.locator('a').click();
  await alice.waitForURL(`${publicUrl}/approvals/apr-thr2ab`);
  assert.equal(await alice.textContent('#statement'), 'DELETE FROM orders WHERE id = $1 AND note = $2');
  assert.equal(await alice.textContent('#ci-runUrl a'), 'https://github.com/acme/api/actions/runs/991');
  await alice.fill('#reason', 'ticket OPS-1 says so');
  await alice.click('button.approve');
  await alice.waitForURL(`${publicUrl}/approvals/apr-thr2ab?done=approved`);
  assert.equal(await alice.textContent('#notice'), 'Your approval is recorded.');
  assert.equal(await alice.textContent('#votes-count'), '1 of 2 needed');
  assert.equal(await alice.textContent('#status'), 'pending');
  assert.deepEqual(store.decisions.at(-1), { id: 'apr-thr2ab', verdict: 'approved', approver: { issuer, subject: 'alice', name: 'alice', groups: ['dba'] }, reason: 'ticket OPS-1 says so' });

  const bob = await signedIn('bob');
  await bob.goto(`${publicUrl}/approvals/apr-thr2ab`);
  await bob.fill('#reason', 'second pair of eyes');
  await bob.click('button.approve');
  await bob.waitForURL(/done=approved$/);
  assert.equal(await bob.textContent('#status'), 'approved');
  assert.equal(await bob.textContent('#votes-count'), '2 of 2 needed');
  assert.deepEqual(store.decisions.at(-1), { id: 'apr-thr2ab', verdict: 'approved', approver: { issuer, subject: 'bob', name: 'bob', groups: ['dba', 'sre'] }, reason: 'second pair of eyes' });
  await bob.goto(`${publicUrl}/`);
  assert.match((await bob.textContent('tr.decided[data-id="apr-thr2ab"]')) ?? '', /approved[\s\S]*bob[\s\S]*second pair of eyes/);
  await Promise.all([alice.context().close(), bob.context().close()]);
});

test("the requester's own login cannot approve: the store refuses and the page says why", async () => {
  store.add(sampleApproval({ id: 'apr-carq2a', ci: { repository: 'acme/api', actor: 'carol' } }));
  const carol = await signedIn('carol');
  await carol.goto(`${publicUrl}/approvals/apr-carq2a`);
  await carol.fill('#reason', 'my own change');
  const [response] = await Promise.all([carol.waitForResponse(`${publicUrl}/approvals/apr-carq2a/decision`), carol.click('button.approve')]);
  assert.equal(response.status(), 403);
  assert.equal(await carol.textContent('#notice'), 'carol started this run and cannot decide its own request');
  assert.equal(await carol.inputValue('#reason'), 'my own change', 'what was typed is kept');
  assert.equal(await carol.textContent('#status'), 'pending');
  assert.equal(store.decisions.some((d) => d.id === 'apr-carq2a'), false);
  await carol.context().close();
});

test('a POST without the session CSRF token is refused, whether forged in-session or from another site', async () => {
  store.add(sampleApproval({ id: 'apr-csrfab' }));
  const alice = await signedIn('alice');
  const decide = (form: Record<string, string>) => alice.context().request.post(`${publicUrl}/approvals/apr-csrfab/decision`, { form, maxRedirects: 0 });
  const missing = await decide({ verdict: 'approved', reason: 'forged' });
  assert.equal(missing.status(), 403);
  assert.match(await missing.text(), /not sent from this page of your session/);
  assert.equal((await decide({ verdict: 'approved', reason: 'forged', csrf: 'A'.repeat(43) })).status(), 403);
  // Even the session's own token does not carry a form another named origin sent.
  await alice.goto(`${publicUrl}/approvals/apr-csrfab`);
  const csrf = (await alice.getAttribute('input[name=csrf]', 'value')) ?? '';
  assert.match(csrf, /^[A-Za-z0-9_-]{43}$/);
  const foreign = await alice.context().request.post(`${publicUrl}/approvals/apr-csrfab/decision`, { form: { verdict: 'approved', reason: 'forged', csrf }, headers: { origin: 'http://evil.example' }, maxRedirects: 0 });
  assert.equal(foreign.status(), 403);
  assert.match(await foreign.text(), /sent from another site/);
  // With the token, the form is read: a blank reason or an unknown verdict still decides nothing.
  const blank = await decide({ verdict: 'approved', reason: '  ', csrf });
  assert.equal(blank.status(), 400);
  assert.match(await blank.text(), /A reason is required/);
  assert.equal((await decide({ verdict: 'yes', reason: 'r', csrf })).status(), 400);

  // Another site's form, submitted by the signed-in approver's browser.
  const evil = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<form method="post" action="${publicUrl}/approvals/apr-csrfab/decision"><input name="verdict" value="approved"><input name="reason" value="forged"><button>win a prize</button></form>`);
  });
  const evilPort = await listen(evil);
  try {
    await alice.goto(`http://localhost:${evilPort}/`);
    const [response] = await Promise.all([alice.waitForResponse(`${publicUrl}/approvals/apr-csrfab/decision`), alice.click('button')]);
    assert.ok(response.status() === 401 || response.status() === 403, `refused, got ${response.status()}`);
  } finally {
    evil.closeAllConnections();
    evil.close();
  }
  assert.equal(store.decisions.some((d) => d.id === 'apr-csrfab'), false);
  assert.equal((await store.get('apr-csrfab')).status, 'pending');
  await alice.context().close();
});

test('markup in a statement and in CI claims is shown as text and creates no element', async () => {
  store.add(sampleApproval({ id: 'apr-xss2ab', command: HOSTILE, ci: { repository: HOSTILE, actor: HOSTILE, runUrl: 'javascript:window.pwned=1' }, parameters: [{ position: 1, format: 'text', typeOid: 25, value: HOSTILE, bytes: 80 }] }));
  const alice = await signedIn('alice');
  const blocked: string[] = [];
  alice.on('console', (m) => blocked.push(m.text()));
  for (const path of ['/', '/approvals/apr-xss2ab']) {
    await alice.goto(`${publicUrl}${path}`);
    // Evaluated in the page (this project compiles without the DOM library, so as source text).
    const found = await alice.evaluate(`({
      elements: document.querySelectorAll('main img, main script, body script').length,
      pwned: window.pwned,
      javascriptLinks: [...document.querySelectorAll('a')].filter((a) => a.href.startsWith('javascript:')).length,
    })`);
    assert.deepEqual(found, { elements: 0, pwned: undefined, javascriptLinks: 0 }, path);
  }
  assert.equal(await alice.textContent('#statement'), HOSTILE);
  assert.equal(await alice.textContent('#ci-repository'), HOSTILE);
  assert.equal(await alice.textContent('#ci-runUrl'), 'javascript:window.pwned=1');
  assert.equal(await alice.textContent('#parameters tbody td.preview'), HOSTILE);
  assert.deepEqual(blocked.filter((m) => /Content Security Policy/.test(m)), [], 'the page itself breaks none of its own policy');
  await alice.context().close();
});

test('signing out ends the session: the next visit goes to sign in again', async () => {
  const alice = await signedIn('alice');
  await alice.click('header button');
  assert.equal(await alice.textContent('#notice'), 'You are signed out.');
  const res = await alice.context().request.get(`${publicUrl}/`, { maxRedirects: 0 });
  assert.equal(res.status(), 303);
  assert.match(res.headers().location ?? '', /^\/login\?next=/);
  await alice.context().close();
});

test('a callback without the login it answers is refused, and so is one with a wrong state', async () => {
  const orphan = await fetch(`${publicUrl}/auth/callback?code=abc&state=xyz&iss=${encodeURIComponent(issuer)}`, { redirect: 'manual' });
  assert.equal(orphan.status, 400);
  assert.match(await orphan.text(), /expired, was already answered, or was not started in this browser/);

  await pinned({ '/auth/callback': 'a' }, async () => {
    const start = await fetch(`${publicUrl}/login`, { redirect: 'manual' });
    const loginCookie = (start.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const wrongState = await fetch(`${publicUrl}/auth/callback?code=abc&state=not-the-one&iss=${encodeURIComponent(issuer)}`, { headers: { cookie: loginCookie }, redirect: 'manual' });
    assert.equal(wrongState.status, 401);
    assert.match(await wrongState.text(), /The sign-in failed/);
    assert.equal(/sidegate_session=[^;]/.test(wrongState.headers.get('set-cookie') ?? ''), false, 'no session opened');
    const replay = await fetch(`${publicUrl}/auth/callback?code=abc&state=not-the-one`, { headers: { cookie: loginCookie }, redirect: 'manual' });
    assert.equal(replay.status, 400, 'the replica that answered the login refuses it again');
  });
});

test('two replicas with one secret serve one browser in turn; one with another secret fails closed', async () => {
  store.add(sampleApproval({ id: 'apr-rep2ab', threshold: 1 }));
  served.length = 0;
  // Sign-in starts on a and its callback is answered by b; the list is read from a, the approval posted to b.
  const routes: Record<string, Replica> = { '/': 'a', '/login': 'a', '/auth/callback': 'b', '/approvals/apr-rep2ab': 'a', '/approvals/apr-rep2ab/decision': 'b' };
  const alice = await pinned(routes, async () => {
    const page = await signedIn('alice', { javaScriptEnabled: false });
    await page.click('tr.pending[data-id="apr-rep2ab"] a');
    await page.fill('#reason', 'seen on a, decided on b');
    await page.click('button.approve');
    await page.waitForURL(`${publicUrl}/approvals/apr-rep2ab?done=approved`);
    assert.equal(await page.textContent('#status'), 'approved');
    return page;
  });
  const trail = served.map((s) => `${s.replica} ${s.method} ${s.url.replace(/\?.*/, '')}`).filter((line) => !line.endsWith('/favicon.ico'));
  assert.deepEqual(trail, ['a GET /', 'a GET /login', 'b GET /auth/callback', 'a GET /', 'a GET /approvals/apr-rep2ab', 'b POST /approvals/apr-rep2ab/decision', 'a GET /approvals/apr-rep2ab']);
  assert.deepEqual(store.decisions.at(-1), { id: 'apr-rep2ab', verdict: 'approved', approver: { issuer, subject: 'alice', name: 'alice', groups: ['dba'] }, reason: 'seen on a, decided on b' });

  // The answered callback, replayed with its login cookie: a never saw it, but the provider
  // redeems a code once; b remembers the state. Neither opens a session.
  const callback = served.find((s) => s.url.startsWith('/auth/callback'));
  const callbackUrl = `${publicUrl}${callback?.url}`;
  const loginCookie = callback?.cookie ?? '';
  assert.match(loginCookie, /^sidegate_login=/);
  for (const [replica, status, text] of [['a', 401, /The sign-in failed \(invalid_grant\)/], ['b', 400, /already answered/]] as const) {
    const replay = await pinned({ '/auth/callback': replica }, () => fetch(callbackUrl, { headers: { cookie: loginCookie }, redirect: 'manual' }));
    assert.equal(replay.status, status, replica);
    assert.match(await replay.text(), text);
    assert.equal(/sidegate_session=[^;]/.test(replay.headers.get('set-cookie') ?? ''), false, 'no session opened');
  }

  // Replica c does not share the secret: alice's session is no session there, her form decides nothing.
  store.add(sampleApproval({ id: 'apr-repc3a' }));
  await alice.goto(`${publicUrl}/approvals/apr-rep2ab`);
  const csrf = (await alice.getAttribute('input[name=csrf]', 'value')) ?? '';
  await pinned({ '/': 'c', '/approvals/apr-repc3a/decision': 'c' }, async () => {
    const list = await alice.context().request.get(`${publicUrl}/`, { maxRedirects: 0 });
    assert.equal(list.status(), 303);
    assert.equal(list.headers().location, '/login?next=%2F');
    const post = await alice.context().request.post(`${publicUrl}/approvals/apr-repc3a/decision`, { form: { verdict: 'approved', reason: 'on the wrong replica', csrf }, maxRedirects: 0 });
    assert.equal(post.status(), 401);
    assert.match(await post.text(), /not signed in/);
  });
  assert.equal(store.decisions.some((d) => d.id === 'apr-repc3a'), false);
  assert.equal((await store.get('apr-repc3a')).status, 'pending');

  // Nor is a login started on a: its callback on c is refused and opens no session.
  const { page: bob } = await browser.newPage();
  await pinned({ '/login': 'a', '/auth/callback': 'c' }, async () => {
    await bob.goto(`${publicUrl}/`);
    await throughProvider(bob, 'bob');
    await bob.waitForURL((url) => url.pathname === '/auth/callback');
    assert.match((await bob.textContent('#notice')) ?? '', /expired, was already answered, or was not started in this browser/);
  });
  assert.deepEqual((await bob.context().cookies(publicUrl)).map((c) => c.name), [], 'neither a login nor a session cookie is left');
  await Promise.all([alice.context().close(), bob.context().close()]);
});

test('a sign-in naming more groups than a session cookie holds is refused with a page saying why', async () => {
  const { page: erin } = await browser.newPage();
  await erin.goto(`${publicUrl}/`);
  const [response] = await Promise.all([erin.waitForResponse((r) => new URL(r.url()).pathname === '/auth/callback'), throughProvider(erin, 'erin')]);
  assert.equal(response.status(), 403);
  assert.match((await erin.textContent('#notice')) ?? '', /names 101 groups; a session holds at most 100\. Ask the broker's operator/);
  assert.deepEqual((await erin.context().cookies(publicUrl)).map((c) => c.name), [], 'no session cookie');
  await erin.context().close();
});

test('an unreachable provider: signing in fails with a clear page, the broker keeps serving', async () => {
  const closed = http.createServer();
  const port = await listen(closed);
  await new Promise((resolve) => closed.close(resolve));
  const login = createOidcLogin({ issuer: `http://127.0.0.1:${port}`, clientId: 'x', publicUrl, sessionSecrets: [randomBytes(32)], sessionRevocations, allowInsecureIssuer: true });
  const server = http.createServer((req, res) => void handleWebRequest(req, res, { store, authenticate: login.authenticate, login, publicUrl }));
  const url = `http://127.0.0.1:${await listen(server)}`;
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await fetch(`${url}/login`, { redirect: 'manual' });
      assert.equal(res.status, 502);
      assert.match(await res.text(), /sign-in provider could not be reached/);
    }
  } finally {
    server.close();
  }
});
