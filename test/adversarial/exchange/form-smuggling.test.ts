// Attack: smuggle a second meaning into the exchange's form. Duplicate parameters (a second
// subject_token or scope the parser might take instead of the first), audience and resource naming
// different targets, a resource under another prefix, odd content types and charsets (a body the
// server would read otherwise than a proxy in front of it), bodies over the bound, a token with a
// NUL or an ignored-by-name parameter (`Audience`). Every one must be refused
// before anything is created; only the plain request is served.
//
// Each attack checks: the OAuth refusal seen, the database unchanged (no role created), and no
// canary secret (the subject token, the admin password) in any answer, log line or audit span.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GRANT_TYPE, JWT } from '../../support/exchange-test-clients.js';
import type { HttpsReply } from '../../support/https-json-client.js';
import { AttackedExchange, AUDIENCE, attackNames, podToken, RUNNER_ACTOR } from './attacked-exchange.js';

const names = attackNames('sgxf');
const writer = names.named('writer');
let granted: string;
let ungranted: string;
/** The sidecar's pod token every request carries as actor_token: only the smuggled part differs. */
let sidecar: string;

const attack = new AttackedExchange(names, {
  tag: 'sgxf',
  morePostgresTargets: ['billing'],
  postgresSql: () => [`CREATE ROLE ${writer} NOLOGIN`],
  postgresRoles: () => [writer],
  grants: (n, { ci }) => [
    { name: 'readers', issuer: ci, claims: { repository: 'acme/app' }, actor: RUNNER_ACTOR, target: 'orders', roles: [n.reader], ttl: '15m' },
    { name: 'writers', issuer: ci, claims: { repository: 'acme/admin' }, actor: RUNNER_ACTOR, target: 'billing', roles: [writer], ttl: '15m' },
  ],
});
before(async () => {
  await attack.start();
  granted = await attack.ci.sign({ sub: 'repo:acme/app:ref:refs/heads/main', repository: 'acme/app', run_id: '1' }, { audience: AUDIENCE });
  ungranted = await attack.ci.sign({ sub: 'repo:acme/admin:ref:refs/heads/main', repository: 'acme/admin', run_id: '2' }, { audience: AUDIENCE });
  sidecar = await podToken(attack.cluster, 'pod-uid-1');
  attack.canaries.push(granted, ungranted, sidecar);
});
after(() => attack.stop());

const postRaw = (body: string | Buffer, contentType?: string) => attack.postRaw(body, contentType);
const reader = names.reader;

const pairs = (list: [string, string][]) => list.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
const base = (token: string): [string, string][] => [['grant_type', GRANT_TYPE], ['subject_token', token], ['subject_token_type', JWT], ['actor_token', sidecar], ['actor_token_type', JWT]];

const attacks: [string, () => Promise<HttpsReply>, string, number][] = [
  ['a second subject_token (the granted one second)', () => postRaw(pairs([...base(ungranted), ['subject_token', granted], ['audience', 'orders']])), 'invalid_request', 400],
  ['a second scope', () => postRaw(pairs([...base(granted), ['audience', 'orders'], ['scope', reader], ['scope', writer]])), 'invalid_request', 400],
  ['two roles in one scope, joined by +', () => postRaw(`${pairs([...base(granted), ['audience', 'orders']])}&scope=${reader}+${writer}`), 'invalid_scope', 400],
  ['audience and resource naming different targets', () => postRaw(pairs([...base(granted), ['audience', 'orders'], ['resource', 'urn:sidegate:target:billing']])), 'invalid_target', 400],
  ['two audiences', () => postRaw(pairs([...base(granted), ['audience', 'orders'], ['audience', 'billing']])), 'invalid_target', 400],
  ['a resource under another prefix', () => postRaw(pairs([...base(granted), ['resource', 'URN:sidegate:target:orders']])), 'invalid_target', 400],
  ['a target named with a trailing NUL', () => postRaw(pairs([...base(granted), ['audience', 'orders\u0000']])), 'invalid_target', 400],
  ['the target only under a differently cased name', () => postRaw(pairs([...base(granted), ['Audience', 'orders']])), 'invalid_request', 400],
  ['a JSON body', () => postRaw(JSON.stringify({ grant_type: GRANT_TYPE, subject_token: granted, subject_token_type: JWT, actor_token: sidecar, actor_token_type: JWT, audience: 'orders' }), 'application/json'), 'invalid_request', 400],
  ['a form body labelled text/plain', () => postRaw(pairs([...base(granted), ['audience', 'orders']]), 'text/plain'), 'invalid_request', 400],
  ['a UTF-16 body under a charset parameter', () => postRaw(Buffer.from(pairs([...base(granted), ['audience', 'orders']]), 'utf16le'), 'application/x-www-form-urlencoded; charset=utf-16le'), 'invalid_request', 400],
  ['bytes that are not UTF-8', () => postRaw(Buffer.concat([Buffer.from(pairs([...base(granted), ['audience', 'orders']])), Buffer.from('&x=\xff\xfe', 'latin1')])), 'invalid_request', 400],
  ['a body over the bound', () => postRaw(`${pairs([...base(granted), ['audience', 'orders']])}&pad=${'a'.repeat(200_000)}`), 'invalid_request', 413],
];

for (const [what, send, error, status] of attacks) {
  test(`refused, nothing created: ${what}`, async () => {
    const before = await attack.pgRoles();
    const reply = await send();
    assert.equal(reply.status, status, reply.text);
    assert.equal(reply.json.error, error, reply.text);
    assert.doesNotMatch(String(reply.json.error_description), /actor_token/, 'refused for what was smuggled, not for a missing actor');
    assert.deepEqual(await attack.pgRoles(), before, 'no role created');
    await attack.noCanaryAnywhere();
  });
}

test('the plain request is served (the attacks above differ from it in their smuggled part only)', async () => {
  const before = await attack.pgRoles();
  const reply = await postRaw(pairs([...base(granted), ['audience', 'orders']]));
  assert.equal(reply.status, 200, reply.text);
  assert.equal((await attack.pgRoles()).length, before.length + 1);
  await attack.noCanaryAnywhere();
});

test('the plain request without its actor_token is refused: a CI token alone is not exchanged', async () => {
  await attack.refusesAlone(attack.client('orders'), granted);
  await attack.noCanaryAnywhere();
});
