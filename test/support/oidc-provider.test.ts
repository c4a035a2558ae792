// The test provider is itself tested: the tokens it issues are real ID tokens (our verifier finds
// its keys through discovery), its login works for the web client and for a device login driven by
// a maintained OpenID client library, and it refuses what a real provider refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { TokenVerifier } from '../../core/tokens/index.js';
import { discoveryUrlOf } from '../../core/tokens/issuer-discovery.js';
import { startOidcProvider } from './oidc-provider.js';

const accounts = [
  { username: 'alice', groups: ['dba', 'oncall'], email: 'alice@example.test' },
  { username: 'bob', groups: [] },
];

test('an ID token for a test account carries its name and groups and verifies through discovery (HTTPS)', async () => {
  const provider = await startOidcProvider({ accounts, https: true });
  try {
    assert.match(provider.issuer, /^https:\/\/127\.0\.0\.1:\d+$/);
    const verifier = new TokenVerifier([
      { issuer: provider.issuer, audiences: [provider.webClient.clientId], discoveryUrl: discoveryUrlOf(provider.issuer), caFile: provider.caFile, clockSkewSeconds: 5 },
    ]);
    const verified = await verifier.verify(await provider.idTokenFor('alice'));
    assert.equal(verified.subject, provider.subjectOf('alice'));
    assert.notEqual(verified.subject, 'alice');
    assert.equal(verified.claims['preferred_username'], 'alice');
    assert.equal(verified.claims['email'], 'alice@example.test');
    assert.deepEqual(verified.claims['groups'], ['dba', 'oncall']);
    assert.equal((await verifier.verify(await provider.idTokenFor('bob'))).claims['preferred_username'], 'bob');
  } finally {
    await provider.close();
  }
});

test('an unknown user cannot sign in', async () => {
  const provider = await startOidcProvider({ accounts });
  try {
    await assert.rejects(provider.idTokenFor('mallory'), /no authorization code for mallory \(401\)/);
  } finally {
    await provider.close();
  }
});

test('a device login with openid-client: the user signs in elsewhere, the CLI polls for the ID token', async () => {
  const provider = await startOidcProvider({ accounts });
  try {
    const config = await client.discovery(new URL(provider.issuer), provider.cliClientId, undefined, client.None(), { execute: [client.allowInsecureRequests] });
    const device = await client.initiateDeviceAuthorization(config, { scope: 'openid profile groups' });
    assert.ok(device.verification_uri_complete);
    const polled = client.pollDeviceAuthorizationGrant(config, device);
    await provider.completeDeviceLogin(device.verification_uri_complete, 'alice');
    const tokens = await polled;
    const claims = tokens.claims();
    assert.equal(claims?.['preferred_username'], 'alice');
    assert.deepEqual(claims?.['groups'], ['dba', 'oncall']);
    assert.equal(claims?.aud, provider.cliClientId);
  } finally {
    await provider.close();
  }
});

test('the web client can only redirect to URIs it was given', async () => {
  const provider = await startOidcProvider({ accounts });
  try {
    const config = await client.discovery(new URL(provider.issuer), provider.webClient.clientId, provider.webClient.clientSecret, undefined, {
      execute: [client.allowInsecureRequests],
    });
    const authorize = (redirect_uri: string) =>
      fetch(client.buildAuthorizationUrl(config, { redirect_uri, scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' }), { redirect: 'manual' });
    const refused = await authorize('http://127.0.0.1:1/callback');
    assert.equal(refused.status, 400);
    provider.allowRedirectUri('http://127.0.0.1:1/callback');
    const accepted = await authorize('http://127.0.0.1:1/callback');
    assert.equal(accepted.status, 303);
    assert.match(accepted.headers.get('location') ?? '', /^\/interaction\//);
    // The login page is plain HTML with a username field: what a browser test types into.
    const page = await fetch(new URL(accepted.headers.get('location')!, provider.issuer), { headers: { cookie: accepted.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ') } });
    const html = await page.text();
    assert.match(html, /<input name="username"/);
    assert.doesNotMatch(html, /https?:\/\/(?!127\.0\.0\.1)/, 'no third-party asset');
  } finally {
    await provider.close();
  }
});
