// Bodies and paths an attacker controls: oversized, malformed, wrongly typed or nested JSON;
// requests that break the API's bounds; invented ids and paths; oversized and malformed forms on
// the page. Each: a 4xx naming the problem (never the value or a secret), the request unchanged,
// and the broker still serving.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBrokerUnderAttack, type BrokerUnderAttack } from './broker-under-attack.js';

let h: BrokerUnderAttack;

before(async () => {
  h = await startBrokerUnderAttack();
});

after(async () => {
  await h?.close();
});

async function stillServing(): Promise<void> {
  assert.equal((await h.api('GET', '/readyz', undefined)).status, 200);
}

test('JSON bodies: oversized, not JSON, deeply nested, wrong types: 4xx, nothing changes, the broker serves on', async () => {
  const id = await h.hold();
  const alice = h.rememberToken(await h.idp.idTokenFor('alice'));
  const before = await h.record(id);
  const cases: Array<[string, string | Buffer, number]> = [
    ['oversized', JSON.stringify({ reason: 'x'.repeat(300 * 1024) }), 413],
    ['not JSON', '{"reason": ', 400],
    ['deeply nested', '['.repeat(200_000), 400],
    ['a reason of the wrong type', JSON.stringify({ reason: { $ne: 1 } }), 400],
    ['a reason too long', JSON.stringify({ reason: 'r'.repeat(2001) }), 400],
  ];
  for (const [label, rawBody, status] of cases) {
    const answer = await h.api('POST', `/v1/approvals/${id}/deny`, alice, undefined, { rawBody });
    assert.equal(answer.status, status, `${label}: ${answer.text.slice(0, 200)}`);
    assert.ok(answer.text.length < 300, `${label}: a short error, no echo`);
    h.assertNoCanary(answer.text, label);
    assert.deepEqual(await h.record(id), before, `${label}: unchanged`);
  }
  await stillServing();
});

test('requests that break the bounds are refused whole: a long statement is never cut, a huge threshold never stored', async () => {
  const pod = await h.podToken();
  const base = (await h.record(await h.hold())) as unknown as Record<string, unknown>;
  const request = { requester: base['requester'], target: 'orders-db', protocol: 'postgres', command: 'DELETE FROM t', hash: `sha256:${'a'.repeat(64)}`, rule: 'r', sessionId: 's', timeoutMs: 1000 };
  const cases: Array<[string, Record<string, unknown>]> = [
    ['a statement over 32 KiB', { command: 'x'.repeat(32 * 1024 + 1) }],
    ['threshold 0', { threshold: 0 }],
    ['threshold 17', { threshold: 17 }],
    ['a bad hash', { hash: 'sha256:zz' }],
    ['101 parameters', { parameters: Array.from({ length: 101 }, (_, i) => ({ position: i + 1, format: 'text', typeOid: 0, value: 'v', bytes: 1 })) }],
    ['65 approvers', { approvers: Array.from({ length: 65 }, (_, i) => `a${i}`) }],
    ['a timeout of zero', { timeoutMs: 0 }],
  ];
  const pendingBefore = (await h.api('GET', '/v1/approvals?status=pending', h.rememberToken(await h.idp.idTokenFor('bob')))).json['approvals'] as unknown[];
  for (const [label, over] of cases) {
    const answer = await h.api('POST', '/v1/approvals', pod, { ...request, ...over });
    assert.equal(answer.status, 400, `${label}: ${answer.text.slice(0, 200)}`);
    assert.ok(!answer.text.includes('xxxxxxxx'), `${label}: the value is not echoed`);
  }
  const pendingAfter = (await h.api('GET', '/v1/approvals?status=pending', h.rememberToken(await h.idp.idTokenFor('bob')))).json['approvals'] as unknown[];
  assert.equal(pendingAfter.length, pendingBefore.length, 'nothing was created');
  // A day-long hold is cut to the broker's maximum (1 h by default), not stored as asked.
  const long = await h.api('POST', '/v1/approvals', pod, { ...request, timeoutMs: 2 ** 31 - 1 });
  assert.equal(long.status, 201);
  assert.ok(Date.parse(String(long.json['expiresAt'])) - Date.now() <= 3_600_000 + 5_000);
  await stillServing();
});

test('invented ids and paths: 404 without echoing them, for requesters and approvers alike', async () => {
  const alice = h.rememberToken(await h.idp.idTokenFor('alice'));
  const pod = await h.podToken();
  for (const path of ['/v1/approvals/apr-zzzzzz', '/v1/approvals/<script>', '/v1/approvals/..%2F..%2Fhealthz', `/v1/approvals/${'a'.repeat(5000)}`, '/v1/approvals/apr-abc234/approve/extra', '/v1/other']) {
    for (const token of [alice, pod]) {
      const answer = await h.api('GET', path, token);
      assert.equal(answer.status, 404, `${path}: ${answer.status}`);
      assert.ok(!answer.text.includes('<script>') && !answer.text.includes('aaaaaaaaaa'), `${path}: not echoed`);
    }
  }
  const badLimit = await h.api('GET', '/v1/approvals?limit=-1&status=pending', alice);
  assert.equal(badLimit.status, 400);
  assert.equal((await h.api('GET', '/v1/approvals?status=%27%20OR%201=1--', alice)).status, 400);
  await stillServing();
});

test('page forms: oversized, of another type, a bad verdict, a long reason: refused, nothing decided', async () => {
  const id = await h.hold();
  const alice = h.browser();
  await alice.signIn('alice', `/approvals/${id}`);
  const csrf = await alice.csrf(`/approvals/${id}`);
  const before = await h.record(id);
  const cases: Array<[string, { form?: string; body?: string; headers?: Record<string, string> }, number]> = [
    ['oversized', { form: `csrf=${csrf}&verdict=approved&reason=${'x'.repeat(30_000)}` }, 413],
    ['JSON instead of a form', { body: JSON.stringify({ csrf, verdict: 'approved', reason: 'r' }), headers: { 'content-type': 'application/json' } }, 415],
    ['a verdict of another kind', { form: `csrf=${csrf}&verdict=consumed&reason=r` }, 400],
    ['no reason', { form: `csrf=${csrf}&verdict=approved&reason=%20%20` }, 400],
    ['a reason too long', { form: `csrf=${csrf}&verdict=approved&reason=${'r'.repeat(2100)}` }, 400],
    ['malformed percent-encoding', { form: `csrf=${csrf}&verdict=approved%zz&reason=r` }, 400],
    ['two verdicts', { form: `csrf=${csrf}&verdict=denied&verdict=approved&reason=r` }, 303],
  ];
  for (const [label, init, status] of cases) {
    const answer = await alice.request(`/approvals/${id}/decision`, { method: 'POST', ...init, ...(init.headers ? { headers: { ...init.headers, cookie: `__Host-sidegate_session=${alice.cookie('__Host-sidegate_session')}` } } : {}) });
    assert.equal(answer.status, status, `${label}: ${answer.status}`);
    h.assertNoCanary(answer.body, label);
    if (status !== 303) assert.deepEqual(await h.record(id), before, `${label}: unchanged`);
  }
  // Two verdicts: the first one counts (URLSearchParams.get), and it is recorded as sent.
  assert.equal((await h.record(id)).status, 'denied');
  await stillServing();
});
