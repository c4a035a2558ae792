// The approvers' page, attacked from a browser: forms sent without the session's CSRF token, with
// another session's, from another site or without the cookie (a cross-site POST); a tampered
// session cookie, or a copy of one signed out (on the replica that signed it out, and the other);
// `next` as an open redirect; a callback nobody started; and script smuggled in through the
// statement, its parameters, the CI context and an approver's reason, on the page and in Slack.
// Each: what the browser sees, the request unchanged, no secret shown.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBrokerUnderAttack, type BrokerUnderAttack } from './broker-under-attack.js';
import { BrokerPageBrowser } from '../../support/broker-page-browser.js';

let h: BrokerUnderAttack;
const SESSION = '__Host-sidegate_session';

before(async () => {
  h = await startBrokerUnderAttack();
});

after(async () => {
  await h?.close();
});

const decision = (browser: BrokerPageBrowser, id: string, fields: Record<string, string>, headers?: Record<string, string>) =>
  browser.request(`/approvals/${id}/decision`, { form: new URLSearchParams(fields), ...(headers ? { headers: { ...headers, ...cookieOf(browser) } } : {}) });

function cookieOf(browser: BrokerPageBrowser): Record<string, string> {
  const value = browser.cookie(SESSION);
  return value ? { cookie: `${SESSION}=${value}` } : {};
}

async function unchangedBy(id: string, status: number, attempt: () => Promise<{ status: number; body: string }>, label: string): Promise<string> {
  const before = await h.record(id);
  const answer = await attempt();
  assert.equal(answer.status, status, `${label}: ${answer.body.slice(0, 300)}`);
  assert.deepEqual(await h.record(id), before, `${label}: the request is unchanged`);
  h.assertNoCanary(answer.body, label);
  return answer.body;
}

test('CSRF: no token, another session\'s token, another site\'s Origin, no cookie at all: refused', async () => {
  const id = await h.hold();
  const alice = h.browser();
  await alice.signIn('alice', `/approvals/${id}`);
  const bob = h.browser();
  await bob.signIn('bob', `/approvals/${id}`);
  const bobsToken = await bob.csrf(`/approvals/${id}`);
  const token = await alice.csrf(`/approvals/${id}`);
  await unchangedBy(id, 403, () => decision(alice, id, { verdict: 'approved', reason: 'r' }), 'no CSRF token');
  await unchangedBy(id, 403, () => decision(alice, id, { verdict: 'approved', reason: 'r', csrf: bobsToken }), "bob's CSRF token in alice's session");
  await unchangedBy(id, 403, () => decision(alice, id, { verdict: 'approved', reason: 'r', csrf: token }, { origin: 'https://evil.example' }), 'another Origin');
  // A cross-site POST arrives without the SameSite=Lax cookie.
  await unchangedBy(id, 401, () => h.browser().request(`/approvals/${id}/decision`, { form: new URLSearchParams({ verdict: 'approved', reason: 'r', csrf: token }) }), 'no session cookie');
  await unchangedBy(id, 405, () => alice.request(`/approvals/${id}/decision?verdict=approved&reason=r&csrf=${token}`), 'a GET decision');
  // The real form of the real session works.
  const done = await decision(alice, id, { verdict: 'approved', reason: 'r', csrf: token });
  assert.equal(done.status, 303, done.body.replace(/<style>[^]*<\/style>/, '').slice(0, 1500));
  assert.equal((await h.record(id)).status, 'approved');
});

test('a tampered session cookie is no session; a signed-out one is refused by the replica that signed it out', async () => {
  const id = await h.hold();
  const alice = h.browser();
  await alice.signIn('alice', `/approvals/${id}`);
  const token = await alice.csrf(`/approvals/${id}`);
  const cookie = alice.cookie(SESSION)!;
  const tampered = h.browser();
  const middle = Math.floor(cookie.length / 2);
  tampered.setCookie(SESSION, cookie.slice(0, middle) + (cookie[middle] === 'A' ? 'B' : 'A') + cookie.slice(middle + 1));
  const visit = await tampered.request(`/approvals/${id}`);
  assert.equal(visit.status, 303);
  assert.match(visit.headers.get('location') ?? '', /^\/login\?next=/);
  await unchangedBy(id, 401, () => decision(tampered, id, { verdict: 'approved', reason: 'r', csrf: token }), 'a tampered cookie');
  for (const forged of ['', 'x', 'A'.repeat(5000), `${cookie}${cookie}`]) {
    const b = h.browser();
    b.setCookie(SESSION, forged);
    await unchangedBy(id, forged === '' ? 401 : 401, () => decision(b, id, { verdict: 'approved', reason: 'r', csrf: token }), `forged cookie of ${forged.length} chars`);
  }

  const stolen = h.browser();
  stolen.setCookie(SESSION, cookie);
  const out = await alice.request('/logout', { form: new URLSearchParams({ csrf: token }) });
  assert.equal(out.status, 200);
  assert.equal(alice.cookie(SESSION), undefined, 'the browser dropped it');
  const replay = await stolen.request(`/approvals/${id}`);
  assert.equal(replay.status, 303, 'the copy taken before sign-out is no longer a session here');
  await unchangedBy(id, 401, () => decision(stolen, id, { verdict: 'approved', reason: 'r', csrf: token }), 'replay after sign-out');
});

test('a session signed out on one replica is refused by the others', async () => {
  const id = await h.hold();
  const alice = h.browser();
  await alice.signIn('alice', `/approvals/${id}`);
  const token = await alice.csrf(`/approvals/${id}`);
  // A copy of the cookie, taken before sign-out, used on the other replica.
  const onB = h.browser(h.b);
  onB.setCookie(SESSION, alice.cookie(SESSION)!);
  assert.equal((await onB.request(`/approvals/${id}`)).status, 200, 'the copy is a session on B before the sign-out');
  const out = await alice.request('/logout', { form: new URLSearchParams({ csrf: token }) });
  assert.equal(out.status, 200);
  // No wait: the sign-out was committed before A answered it.
  const visit = await onB.request(`/approvals/${id}`);
  assert.equal(visit.status, 303, 'B sends the copy to sign in');
  assert.match(visit.headers.get('location') ?? '', /^\/login\?next=/);
  await unchangedBy(id, 401, () => decision(onB, id, { verdict: 'approved', reason: 'r', csrf: token }), 'replay on B after sign-out on A');
  // Alice signs in again: a new session, which the old one's sign-out does not touch, on either replica.
  const again = h.browser();
  await again.signIn('alice', '/');
  const againOnB = h.browser(h.b);
  againOnB.setCookie(SESSION, again.cookie(SESSION)!);
  assert.equal((await again.request(`/approvals/${id}`)).status, 200);
  assert.equal((await againOnB.request(`/approvals/${id}`)).status, 200);
});

test('while the store does not answer, a signed-in cookie is no session on either replica: 503, nothing shown or decided', async () => {
  const id = await h.hold();
  const alice = h.browser();
  await alice.signIn('alice', `/approvals/${id}`);
  const token = await alice.csrf(`/approvals/${id}`);
  const before = await h.record(id);
  await h.db.setReachable(false);
  try {
    for (const replica of [h.a, h.b]) {
      const browser = h.browser(replica);
      browser.setCookie(SESSION, alice.cookie(SESSION)!);
      for (const answer of [await browser.request(`/approvals/${id}`), await browser.request('/'), await decision(browser, id, { verdict: 'approved', reason: 'r', csrf: token })]) {
        assert.equal(answer.status, 503, `${replica.url}: ${answer.body.slice(0, 300)}`);
        assert.match(answer.body, /cannot check your session/);
        assert.doesNotMatch(answer.body, /DELETE FROM orders|name="csrf"|alice/, 'nothing of the request or the session is shown');
        h.assertNoCanary(answer.body);
      }
    }
    const out = await alice.request('/logout', { form: new URLSearchParams({ csrf: token }) });
    assert.equal(out.status, 503);
    assert.ok(alice.cookie(SESSION), 'a sign-out that was not recorded leaves the cookie, to be tried again');
  } finally {
    await h.db.setReachable(true);
  }
  // Back: the same session works again on both replicas, and nothing was decided meanwhile.
  for (let tries = 0; (await h.api('GET', '/readyz', undefined)).status !== 200; tries++) {
    assert.ok(tries < 100, 'the store is back within 10 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(await h.record(id), before);
  assert.equal((await alice.request(`/approvals/${id}`)).status, 200);
});

test('open redirect: whatever `next` says, the approver lands on the broker', async () => {
  const origin = new URL(h.a.url).origin;
  for (const next of ['https://evil.example/', '//evil.example/', '/\\evil.example', '/%2F%2Fevil.example', '/\t/evil.example', 'javascript:alert(1)', '/..//evil.example', '\\\\evil.example']) {
    const browser = h.browser();
    const landed = await browser.signIn('carol', next);
    assert.equal(landed.url.origin, origin, `next=${next}`);
    // A path that only looks like a host stays a path here (a 404 of the broker's own).
    assert.ok([200, 404].includes(landed.status), `next=${next}: ${landed.status}`);
  }
});

test('a callback nobody started in this browser, or answered twice, signs nobody in', async () => {
  const fresh = h.browser();
  const forged = await fresh.request('/auth/callback?code=stolen-code&state=guessed');
  assert.equal(forged.status, 400);
  assert.equal(fresh.cookie(SESSION), undefined);
  // A real login's callback URL replayed in another browser (a code and state lifted from a log).
  const victim = h.browser();
  const form = await victim.follow('/login?next=/');
  const action = /<form[^>]*action="([^"]+)"/.exec(form.body)![1]!;
  let answer = await victim.request(new URL(action, form.url), { form: new URLSearchParams({ username: 'alice' }) });
  while (answer.status >= 300 && answer.status < 400 && !answer.headers.get('location')!.includes('/auth/callback')) answer = await victim.request(new URL(answer.headers.get('location')!, answer.url));
  const callback = new URL(answer.headers.get('location')!, answer.url);
  const attacker = h.browser();
  assert.equal((await attacker.request(callback.pathname + callback.search)).status, 400, "the attacker's browser has no login state");
  assert.equal(attacker.cookie(SESSION), undefined);
  assert.equal((await victim.request(callback.pathname + callback.search)).status, 303, 'the browser that started it signs in');
  assert.equal((await victim.request(callback.pathname + callback.search)).status, 400, 'once');
});

test('script in the statement, parameters, CI context and reason stays text, on the page and in Slack', async () => {
  const id = await h.hold({
    command: `DELETE FROM t WHERE note = '</code><script>alert("xss-statement")</script><!here>'`,
    parameters: [{ position: 1, format: 'text', typeOid: 25, value: '<img src=x onerror=alert("xss-param")>', bytes: 38 }],
    context: '<iframe src="https://evil.example">',
    requester: {
      subject: 'repo:acme/shop:ref:refs/heads/main',
      issuer: 'https://token.actions.githubusercontent.com',
      identities: ['<b>bold</b>'],
      ci: { repository: '<svg onload=alert("xss-ci")>', runUrl: 'javascript:alert("xss-run")', actor: 'octocat', job: '<https://evil.example|click>' },
    },
    threshold: 2,
  });
  const bob = h.browser();
  await bob.signIn('bob', `/approvals/${id}`);
  const csrf = await bob.csrf(`/approvals/${id}`);
  assert.equal((await decision(bob, id, { verdict: 'approved', reason: '<script>alert("xss-reason")</script>', csrf })).status, 303);
  for (const path of [`/approvals/${id}`, '/']) {
    const page = await bob.request(path);
    assert.equal(page.status, 200);
    for (const raw of ['<script>', '<img src=x', '<svg', '<iframe', '<b>bold', 'href="javascript:', "href='javascript:"]) {
      assert.ok(!page.body.toLowerCase().includes(raw.toLowerCase()), `${path} has ${raw} as markup`);
    }
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    h.assertNoCanary(page.body, path);
  }
  const detail = await bob.request(`/approvals/${id}`);
  assert.ok(detail.body.includes('&lt;script&gt;alert(&quot;xss-statement&quot;)') || detail.body.includes('&lt;script&gt;alert(&#34;xss-statement&#34;)') || /&lt;script&gt;alert\(&(quot|#34|#x22);xss-statement/.test(detail.body), 'the statement is shown, as text');
  // Slack: the statement, CI claims and names add no link or mention.
  await h.waitForNotifications((r) => r.some((n) => n.kind === 'slack' && n.body.includes(id)));
  for (const n of h.received.filter((r) => r.kind === 'slack' && r.body.includes(id))) {
    const message = JSON.parse(n.body) as unknown;
    const text = JSON.stringify(message);
    assert.ok(!text.includes('<!here>') && !text.includes('<https://evil') && !text.includes('<javascript:'), 'no mention or link smuggled in');
  }
});
