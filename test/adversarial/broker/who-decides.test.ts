// Who may decide, attacked over the API: no token, tokens of the wrong issuer, audience, lifetime,
// algorithm or key; a sidecar's token where an approver's belongs and the other way round; the
// requester approving its own request under any of its names; one person voting twice or under
// two names; a name borrowed from a super-approver. Each attempt: the refusal the caller sees,
// the request unchanged, and no secret or presented token in the answer.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { startBrokerUnderAttack, CORP, GITLAB, SECOND_CLIENT, type BrokerUnderAttack } from './broker-under-attack.js';

let h: BrokerUnderAttack;

before(async () => {
  h = await startBrokerUnderAttack();
});

after(async () => {
  await h?.close();
});

/** `attempt` is refused with `status`, the request is as it was, and nothing secret comes back. */
async function refused(id: string, status: number, attempt: () => Promise<{ status: number; text: string }>, label: string): Promise<string> {
  const before = await h.record(id);
  const answer = await attempt();
  assert.equal(answer.status, status, `${label}: ${answer.text}`);
  assert.deepEqual(await h.record(id), before, `${label}: the request is unchanged`);
  h.assertNoCanary(answer.text, label);
  return answer.text;
}

const approve = (id: string, token: string | undefined, body: unknown = { reason: 'ok' }, headers?: Record<string, string>) =>
  h.api('POST', `/v1/approvals/${id}/approve`, token, body, headers ? { headers } : {});

function unsigned(claims: Record<string, unknown>): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

test('no token, a malformed one, an oversized one, or another scheme: refused', async () => {
  const id = await h.hold();
  await refused(id, 401, () => approve(id, undefined), 'no token');
  await refused(id, 401, () => approve(id, 'not-a-jwt'), 'garbage');
  await refused(id, 401, () => h.api('POST', `/v1/approvals/${id}/approve`, undefined, {}, { headers: { authorization: 'Basic YWxpY2U6YWxpY2U=' } }), 'basic auth');
  // Node refuses headers past its limit before the broker reads them.
  await refused(id, 431, () => h.api('POST', `/v1/approvals/${id}/approve`, undefined, {}, { headers: { authorization: `Bearer ${'x'.repeat(70_000)}` } }), 'an oversized token');
  await refused(id, 401, () => h.api('POST', `/v1/approvals/${id}/approve`, undefined, {}, { headers: { authorization: `Bearer ${'x'.repeat(12_000)}` } }), 'a long token');
});

test('tokens of an issuer nobody configured, the wrong audience, expired, not yet valid, unsigned, HMAC or an unknown key: 401', async () => {
  const id = await h.hold();
  const claims = { sub: 'sub-mallory', preferred_username: 'alice', groups: ['dba'] };
  const stranger = h.rememberToken(await h.stranger.sign(claims, { audience: SECOND_CLIENT }));
  await refused(id, 401, () => approve(id, stranger), 'a stranger issuer');
  // The stranger claims the configured issuer's name: its key is not that issuer's.
  const posing = h.rememberToken(await h.stranger.sign({ ...claims, iss: h.second.issuer }, { audience: SECOND_CLIENT }));
  await refused(id, 401, () => approve(id, posing), "a stranger posing as a configured issuer");
  await refused(id, 401, () => h.secondToken({ preferred_username: 'alice', groups: ['dba'] }, { audience: 'some-other-app' }).then((t) => approve(id, t)), 'wrong audience');
  await refused(id, 401, () => h.secondToken({ preferred_username: 'alice', groups: ['dba'] }, { expiresIn: -3600 }).then((t) => approve(id, t)), 'expired');
  const future = h.rememberToken(await h.second.sign({ ...claims, nbf: Math.floor(Date.now() / 1000) + 3600 }, { audience: SECOND_CLIENT }));
  await refused(id, 401, () => approve(id, future), 'not yet valid');
  const none = unsigned({ iss: h.second.issuer, aud: SECOND_CLIENT, exp: Math.floor(Date.now() / 1000) + 300, ...claims });
  await refused(id, 401, () => approve(id, none), 'alg none');
  const hmac = await new SignJWT({ ...claims, iss: h.second.issuer, aud: SECOND_CLIENT })
    .setProtectedHeader({ alg: 'HS256', kid: h.second.kid })
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(JSON.stringify(h.second.jwks.keys[0])));
  await refused(id, 401, () => approve(id, h.rememberToken(hmac)), 'HS256 keyed with the public key');
  const unknownKid = h.rememberToken(await h.second.sign(claims, { audience: SECOND_CLIENT, kid: 'no-such-key' }));
  await refused(id, 401, () => approve(id, unknownKid), 'unknown kid');
  // A sidecar's token for another audience is nobody's.
  await refused(id, 401, async () => approve(id, await h.podToken({ audience: 'sidegate' })), 'a pod token of another audience');
});

test("a sidecar's token cannot decide, an approver's cannot ask, cancel or consume", async () => {
  const id = await h.hold();
  await refused(id, 403, async () => approve(id, await h.podToken()), 'the requesting pod approves');
  // Another pod does not even see it.
  await refused(id, 404, async () => approve(id, await h.podToken({ pod: 'job-43' })), 'another pod approves');
  const alice = h.rememberToken(await h.idp.idTokenFor('alice'));
  await refused(id, 403, () => h.api('POST', `/v1/approvals/${id}/cancel`, alice, {}), 'an approver cancels');
  await refused(id, 403, () => h.api('POST', `/v1/approvals/${id}/consume`, alice, { hash: `sha256:${'a'.repeat(64)}` }), 'an approver consumes');
  const created = await h.api('POST', '/v1/approvals', alice, { command: 'x' });
  assert.equal(created.status, 403);
});

test('the requester never approves its own request: its CI actor in any case, its pod, its ServiceAccount — whatever the issuer\'s prefix', async () => {
  // Both issuers' dba may decide, so every refusal below is the own-request rule, not visibility.
  const id = await h.hold({ groups: [`${CORP}dba`, `${GITLAB}dba`] });
  // OctoCat at the company's provider (corp:OctoCat) is the GitHub actor octocat who started the run.
  assert.match(await refused(id, 403, async () => approve(id, h.rememberToken(await h.idp.idTokenFor('OctoCat'))), 'the CI actor, other case, prefixed'), /CI actor/);
  await refused(id, 403, async () => approve(id, h.rememberToken(await h.idp.idTokenFor('ci/runner'))), "the pod's ServiceAccount as a name");
  for (const name of ['pod:ci/job-42', 'system:serviceaccount:ci:runner', 'OCTOCAT']) {
    await refused(id, 403, () => h.secondToken({ preferred_username: name, groups: ['dba'] }).then((t) => approve(id, t)), `named ${name} (${GITLAB}${name})`);
  }
  // The actor's prefixed name itself, as a bare claim of the other issuer, is refused too.
  await refused(id, 403, () => h.secondToken({ preferred_username: 'octocat', groups: ['dba'] }).then((t) => approve(id, t)), 'gitlab:octocat');
});

test('one person, one vote: twice with one token, again with a new token, under a second name with the same subject', async () => {
  const id = await h.hold({ threshold: 2, groups: [`${CORP}dba`, `${GITLAB}dba`] });
  const first = await approve(id, h.rememberToken(await h.idp.idTokenFor('alice')));
  assert.equal(first.status, 200, first.text);
  await refused(id, 409, async () => approve(id, h.rememberToken(await h.idp.idTokenFor('alice'))), 'alice again');
  const x = await approve(id, await h.secondToken({ preferred_username: 'xavier', sub: 'sub-x', groups: ['dba'] }));
  assert.equal(x.status, 200);
  await refused(id, 409, () => h.secondToken({ preferred_username: 'xavier-2', sub: 'sub-x', groups: ['dba'] }).then((t) => approve(id, t)), 'the same subject renamed');
  assert.equal((await h.record(id)).status, 'approved', 'two distinct people approved it');
});

test('a name in the body is ignored: the token says who votes', async () => {
  const id = await h.hold();
  const voted = await approve(id, h.rememberToken(await h.idp.idTokenFor('bob')), { approver: 'alice', reason: 'as alice' });
  assert.equal(voted.status, 200);
  const record = await h.record(id);
  assert.deepEqual(record.votes.map((v) => [v.approver.name, v.approver.issuer, v.approver.subject]), [[`${CORP}bob`, h.idp.issuer, h.idp.subjectOf('bob')]]);
});

test("a super-approver is an identity: the same name from the other issuer, with no group, is nobody", async () => {
  const id = await h.hold();
  // Nobody it may decide: it is not shown either, and answers as an unknown id would.
  await refused(id, 404, () => h.secondToken({ preferred_username: 'boss', groups: [] }).then((t) => approve(id, t)), 'boss at the second issuer');
  const real = await approve(id, h.rememberToken(await h.idp.idTokenFor('boss')));
  assert.equal(real.status, 200, real.text);
  assert.equal((await h.record(id)).status, 'approved');
});

test("a policy name or group claimed at the second issuer is not the first issuer's: each issuer's claims carry its prefix", async () => {
  const id = await h.hold({ approvers: [`${CORP}alice`], groups: [`${CORP}dba`] });
  const mallory = (claims: { preferred_username: string; groups: string[] }) => () => h.secondToken(claims).then((t) => approve(id, t));
  // Hidden from them (404, as an unknown id): they may decide nothing here.
  await refused(id, 404, mallory({ preferred_username: 'mallory', groups: ['dba'] }), 'dba claimed at the second issuer');
  await refused(id, 404, mallory({ preferred_username: 'mallory', groups: [`${CORP}dba`] }), 'corp:dba claimed at the second issuer');
  await refused(id, 404, mallory({ preferred_username: 'alice', groups: [] }), 'alice claimed at the second issuer');
  await refused(id, 404, mallory({ preferred_username: `${CORP}alice`, groups: [] }), 'corp:alice claimed at the second issuer');
  // The second issuer's own dba, named by the policy, may.
  const other = await h.hold({ groups: [`${GITLAB}dba`] });
  const gitlab = await approve(other, await h.secondToken({ preferred_username: 'gina', groups: ['dba'] }));
  assert.equal(gitlab.status, 200, gitlab.text);
  // The first issuer's alice may, recorded under the name policies use.
  const alice = await approve(id, h.rememberToken(await h.idp.idTokenFor('alice')));
  assert.equal(alice.status, 200, alice.text);
  const record = await h.record(id);
  assert.equal(record.status, 'approved');
  assert.deepEqual(record.votes.map((v) => [v.approver.name, v.approver.groups]), [[`${CORP}alice`, [`${CORP}dba`]]]);
  assert.equal(record.decidedBy, `${CORP}alice`);
});
