// Approvers' tokens from a real OpenID provider (oidc-provider, started by the test).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { IdentityErrorCode } from '../../core/tokens/index.js';
import { assertTokenRejected } from '../../test/support/token-rejection.js';
import { startOidcProvider, type TestOidcProvider } from '../../test/support/oidc-provider.js';
import { ApproverTokens, type ApproverIssuer } from './approver-tokens.js';

let provider: TestOidcProvider;
let stranger: TestOidcProvider;

before(async () => {
  const accounts = [
    { username: 'alice', groups: ['dba', 'oncall'], email: 'alice@example.test' },
    { username: 'bob' },
  ];
  provider = await startOidcProvider({ accounts, https: true });
  stranger = await startOidcProvider({ accounts });
});

after(async () => {
  await provider.close();
  await stranger.close();
});

function issuer(extra: Partial<ApproverIssuer> = {}): ApproverIssuer {
  return { issuer: provider.issuer, clientIds: [provider.webClient.clientId, provider.cliClientId], caFile: provider.caFile, ...extra };
}

function rejected(tokens: ApproverTokens, token: string, code: IdentityErrorCode, message: RegExp): Promise<unknown> {
  return assertTokenRejected(tokens.verify(token), token, code, message);
}

test('a valid ID token names the approver, with groups, from discovery over the provider CA', async () => {
  const tokens = new ApproverTokens([issuer()]);
  assert.deepEqual(await tokens.verify(await provider.idTokenFor('alice')), {
    issuer: provider.issuer,
    subject: provider.subjectOf('alice'),
    name: 'alice',
    groups: ['dba', 'oncall'],
  });
  assert.deepEqual((await tokens.verify(await provider.idTokenFor('bob'))).groups, []);
});

test('the name and groups claims are configurable', async () => {
  const byEmail = new ApproverTokens([issuer({ usernameClaim: 'email', groupsClaim: 'email' })]);
  const alice = await byEmail.verify(await provider.idTokenFor('alice'));
  assert.equal(alice.name, 'alice@example.test');
  assert.deepEqual(alice.groups, ['alice@example.test'], 'a single string is one group');
  await rejected(byEmail, await provider.idTokenFor('bob'), 'malformed', /^token names no approver \(no usable email claim\)$/);
  const nested = new ApproverTokens([issuer({ groupsClaim: 'preferred_username.x' })]);
  assert.deepEqual((await nested.verify(await provider.idTokenFor('alice'))).groups, []);
});

test('a token for another client (audience) is rejected', async () => {
  const tokens = new ApproverTokens([issuer({ clientIds: ['some-other-app'] })]);
  await rejected(tokens, await provider.idTokenFor('alice'), 'wrong-audience', /^token audience sidegate-web is not accepted by issuer https:\/\/127\.0\.0\.1:\d+ \(expected one of: some-other-app\)$/);
});

test('an expired token is rejected', async () => {
  const token = await provider.idTokenFor('alice');
  const later = new ApproverTokens([issuer({ clockSkewSeconds: 0 })], { now: () => Date.now() + 10 * 60_000 });
  await rejected(later, token, 'expired', /^token expired at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});

test('a token from an issuer that is not configured is rejected before any key is fetched', async () => {
  const tokens = new ApproverTokens([issuer()]);
  await rejected(tokens, await stranger.idTokenFor('alice'), 'unknown-issuer', /^issuer http:\/\/127\.0\.0\.1:\d+ is not trusted$/);
});

test('a tampered token (groups added, signature kept) is rejected', async () => {
  const tokens = new ApproverTokens([issuer()]);
  const [header, payload, signature] = (await provider.idTokenFor('bob')).split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, groups: ['dba'] })).toString('base64url')}.${signature}`;
  await rejected(tokens, forged, 'bad-signature', /^token signature does not verify with the keys of issuer https:\/\/127\.0\.0\.1:\d+$/);
  await rejected(tokens, 'not-a-token', 'malformed', /^token is not a well-formed JWT$/);
});

test('configuration: an issuer must accept at least one client id', () => {
  assert.throws(() => new ApproverTokens([issuer({ clientIds: [] })]), /accepts no client id/);
});

test("an issuer's prefixes scope the name and groups it vouches for; issuer and subject stay as proven", async () => {
  const tokens = new ApproverTokens([issuer({ usernamePrefix: 'corp:', groupsPrefix: 'corp-group:' })]);
  assert.deepEqual(await tokens.verify(await provider.idTokenFor('alice')), {
    issuer: provider.issuer,
    subject: provider.subjectOf('alice'),
    name: 'corp:alice',
    groups: ['corp-group:dba', 'corp-group:oncall'],
  });
});
