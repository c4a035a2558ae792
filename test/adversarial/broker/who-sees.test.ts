// Who reads a held statement: only approvers who may decide it — named, in a named group, a
// super-approver, or anyone when the rule names nobody. Everyone else who can sign in at a
// configured provider (another team, another issuer's users, the run's own CI actor unless the
// rule names them) is answered as if the request did not exist, over the API (list, show, wait,
// decide) and on the page (list, detail, decision form), and neither the statement nor its
// parameters appear in anything they are sent. Those who may decide see it, and their decision.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startBrokerUnderAttack, CORP, GITLAB, type BrokerUnderAttack } from './broker-under-attack.js';

let h: BrokerUnderAttack;

before(async () => {
  h = await startBrokerUnderAttack();
});

after(async () => {
  await h?.close();
});

/** A request for corp's dba whose statement and parameter carry markers nobody else may read. */
async function sensitive(over: Record<string, unknown> = {}): Promise<{ id: string; markers: string[] }> {
  const statement = `stmt-${randomBytes(6).toString('hex')}`;
  const parameter = `param-${randomBytes(6).toString('hex')}`;
  const id = await h.hold({
    command: `UPDATE users SET note = '${statement}' WHERE id = $1`,
    parameters: [{ position: 1, format: 'text', typeOid: 25, value: parameter, bytes: parameter.length }],
    ...over,
  });
  return { id, markers: [statement, parameter] };
}

function assertUnseen(text: string, markers: string[], label: string): void {
  for (const marker of markers) assert.ok(!text.includes(marker), `${label}: shows the statement or its parameter`);
  h.assertNoCanary(text, label);
}

const ids = (answer: { json: Record<string, unknown> }) => (answer.json['approvals'] as Array<{ id: string }>).map((r) => r.id);

test('API: an approver the rule does not name neither lists, reads, waits on nor decides the request; unknown and hidden answer alike', async () => {
  const { id, markers } = await sensitive();
  const carol = h.rememberToken(await h.idp.idTokenFor('carol')); // corp:dev
  const gina = await h.secondToken({ preferred_username: 'gina', groups: ['dba'] }); // gitlab:dba
  const unknown = await h.api('GET', '/v1/approvals/apr-zzzzzz', carol);
  for (const [who, token] of [['carol', carol], ['gitlab:gina', gina]] as const) {
    for (const status of ['pending', 'approved', undefined]) {
      const list = await h.api('GET', `/v1/approvals${status ? `?status=${status}` : ''}`, token);
      assert.equal(list.status, 200);
      assert.ok(!ids(list).includes(id), `${who}: listed (${status ?? 'all'})`);
      assertUnseen(list.text, markers, `${who}'s list`);
    }
    for (const [method, path, body] of [['GET', '', undefined], ['GET', '/wait?timeoutMs=0', undefined], ['POST', '/approve', { reason: 'r' }], ['POST', '/deny', { reason: 'r' }]] as const) {
      const before = await h.record(id);
      const answer = await h.api(method, `/v1/approvals/${id}${path}`, token, body);
      assert.equal(answer.status, 404, `${who} ${method} ${path || '(show)'}: ${answer.text}`);
      assert.equal(answer.text.replace(id, 'ID'), unknown.text.replace('apr-zzzzzz', 'ID'), `${who}: a hidden request answers as an unknown one`);
      assertUnseen(answer.text, markers, `${who} ${method} ${path}`);
      assert.deepEqual(await h.record(id), before, `${who}: unchanged`);
    }
  }
});

test('API: who may decide sees it — the named group, a name, a super-approver, anyone when the rule names nobody', async () => {
  const { id } = await sensitive();
  const show = async (token: string, which = id) => (await h.api('GET', `/v1/approvals/${which}`, token)).status;
  const listed = async (token: string, which = id) => ids(await h.api('GET', '/v1/approvals?status=pending', token)).includes(which);
  const alice = h.rememberToken(await h.idp.idTokenFor('alice'));
  const boss = h.rememberToken(await h.idp.idTokenFor('boss'));
  const carol = h.rememberToken(await h.idp.idTokenFor('carol'));
  assert.equal(await show(alice), 200, 'corp:dba');
  assert.ok(await listed(alice));
  assert.equal(await show(boss), 200, 'the super-approver');
  assert.ok(await listed(boss));
  const named = (await sensitive({ groups: [], approvers: [`${CORP}carol`] })).id;
  assert.equal(await show(carol, named), 200, 'named');
  assert.ok(await listed(carol, named));
  assert.equal(await show(alice, named), 404, 'dba is not named there');
  const open = (await sensitive({ groups: [], approvers: [] })).id;
  const gina = await h.secondToken({ preferred_username: 'gina', groups: [] });
  assert.equal(await show(gina, open), 200, 'a rule naming nobody: any approver');
  assert.ok(await listed(gina, open));
  // The requesting pod still reads its own request; another pod does not.
  assert.equal(await show(await h.podToken()), 200);
  assert.equal(await show(await h.podToken({ pod: 'job-43' })), 404);
});

test("the run's CI actor: seen only where the rule names them, and never decided by them", async () => {
  const { id, markers } = await sensitive({ groups: [`${CORP}dba`] });
  // octocat at the second issuer is the actor by name, in no group the rule names: not shown.
  const actorElsewhere = await h.secondToken({ preferred_username: 'octocat', groups: ['dev'] });
  const hidden = await h.api('GET', `/v1/approvals/${id}`, actorElsewhere);
  assert.equal(hidden.status, 404);
  assertUnseen(hidden.text, markers, 'the actor at the second issuer');
  // OctoCat in corp's dba may see it as any dba may, and still cannot approve its own run.
  const octo = h.rememberToken(await h.idp.idTokenFor('OctoCat'));
  assert.equal((await h.api('GET', `/v1/approvals/${id}`, octo)).status, 200);
  const voted = await h.api('POST', `/v1/approvals/${id}/approve`, octo, { reason: 'mine' });
  assert.equal(voted.status, 403, voted.text);
  assert.match(voted.text, /CI actor/);
  assert.equal((await h.record(id)).status, 'pending');
});

test('page: the list and the detail show a request only to who may decide it; the decision is seen by them, not others', async () => {
  const { id, markers } = await sensitive();
  const carol = h.browser();
  await carol.signIn('carol', '/');
  const alice = h.browser();
  await alice.signIn('alice', '/');

  const carolsList = await carol.request('/');
  assert.equal(carolsList.status, 200);
  assert.ok(!carolsList.body.includes(id), "carol's list names the request");
  assertUnseen(carolsList.body, markers, "carol's list");
  const carolsDetail = await carol.request(`/approvals/${id}`);
  assert.equal(carolsDetail.status, 404);
  assertUnseen(carolsDetail.body, markers, "carol's detail");
  const unknownDetail = await carol.request('/approvals/apr-zzzzzz');
  assert.equal(unknownDetail.status, 404);
  assert.equal(carolsDetail.body.replaceAll(id, 'ID'), unknownDetail.body.replaceAll('apr-zzzzzz', 'ID'), 'a hidden request looks like an unknown one');

  const alicesList = await alice.request('/');
  assert.ok(alicesList.body.includes(id), "alice's list lacks the request");
  const alicesDetail = await alice.request(`/approvals/${id}`);
  assert.equal(alicesDetail.status, 200);
  assert.ok(alicesDetail.body.includes(markers[0]!) && alicesDetail.body.includes(markers[1]!), 'alice sees the statement and its parameter');

  // carol's own session and CSRF token (from a request she may see) do not reach this one.
  const open = (await sensitive({ groups: [], approvers: [] })).id;
  const csrf = await carol.csrf(`/approvals/${open}`);
  const before = await h.record(id);
  const forced = await carol.request(`/approvals/${id}/decision`, { form: new URLSearchParams({ verdict: 'approved', reason: 'r', csrf }) });
  assert.equal(forced.status, 404);
  assertUnseen(forced.body, markers, "carol's decision");
  assert.deepEqual(await h.record(id), before);

  const token = await alice.csrf(`/approvals/${id}`);
  assert.equal((await alice.request(`/approvals/${id}/decision`, { form: new URLSearchParams({ verdict: 'denied', reason: 'not today', csrf: token }) })).status, 303);
  const decided = await alice.request(`/approvals/${id}`);
  assert.equal(decided.status, 200);
  assert.match(decided.body, /denied/i);
  assert.ok(decided.body.includes(`${CORP}alice`), 'the decider under the name policies use');
  assert.ok((await alice.request('/')).body.includes(id), "in alice's recent decisions");
  const carolsRecent = await carol.request('/');
  assert.ok(!carolsRecent.body.includes(id), "carol's recent decisions name it");
  assertUnseen(carolsRecent.body, markers, "carol's recent decisions");
  assert.equal((await carol.request(`/approvals/${id}`)).status, 404);
});

test('a list filtered for its viewer still fills its page with what they may see', async () => {
  // Requests the viewer may not see come first; the ones they may are still listed, up to the limit.
  for (let i = 0; i < 5; i++) await sensitive({ groups: [`${GITLAB}ops`] });
  const mine = [(await sensitive()).id, (await sensitive()).id];
  const alice = h.rememberToken(await h.idp.idTokenFor('alice'));
  const page = ids(await h.api('GET', '/v1/approvals?status=pending&limit=1000', alice));
  for (const id of mine) assert.ok(page.includes(id));
  const two = await h.api('GET', '/v1/approvals?status=pending&limit=2', alice);
  assert.equal(ids(two).length, 2);
  for (const record of two.json['approvals'] as Array<{ groups: string[] }>) assert.ok(record.groups.includes(`${CORP}dba`));
});
