// The page's OIDC login against a provider behind a private CA: a real OpenID provider over HTTPS
// with a self-signed certificate, the broker's page signing in through it with `caFile`. That CA
// is trusted for the provider's requests only: without it, or with another CA, sign-in cannot
// reach the provider — and the process's own trust (the global fetch) never learns of it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { readFile } from 'node:fs/promises';
import { startApprovalBroker, type ApprovalBroker } from '../server/broker-server.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../../test/support/self-signed-certificate.js';
import { startOidcProvider, type TestOidcProvider } from '../../test/support/oidc-provider.js';
import { BrokerPageBrowser } from '../../test/support/broker-page-browser.js';
import { createOidcLogin } from './oidc-login.js';
import { openPgliteClient } from '../store/pglite-sql-client.js';
import { SqlRevokedSessions } from '../store/revoked-sessions.js';
import type { SqlClient } from '../store/sql-client.js';

let idp: TestOidcProvider;
let tls: TestCertificate;
let sessionDatabase: SqlClient;
let sessionRevocations: SqlRevokedSessions;

before(async () => {
  sessionDatabase = await openPgliteClient();
  sessionRevocations = await SqlRevokedSessions.open(sessionDatabase);
  idp = await startOidcProvider({ https: true, accounts: [{ username: 'alice', groups: ['dba'], email: 'alice@corp.example' }] });
  tls = makeSelfSignedCertificate(undefined, 'broker');
});

after(async () => {
  await idp?.close();
  await sessionDatabase?.close();
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** A broker with a page whose login trusts `caFile` for the provider (or nothing extra). */
async function brokerWithPage(caFile: string | undefined, usernameClaim?: string): Promise<ApprovalBroker> {
  const port = await freePort();
  const publicUrl = `https://127.0.0.1:${port}`;
  idp.allowRedirectUri(`${publicUrl}/auth/callback`);
  const login = createOidcLogin({
    issuer: idp.issuer,
    clientId: idp.webClient.clientId,
    clientSecret: idp.webClient.clientSecret,
    publicUrl,
    sessionSecrets: [Buffer.from('a-session-secret-of-at-least-32-bytes-0123456789')],
    sessionRevocations,
    ...(caFile !== undefined ? { caFile } : {}),
    ...(usernameClaim !== undefined ? { usernameClaim } : {}),
  });
  return startApprovalBroker({
    port,
    tls: { cert: tls.cert, key: await readFile(tls.keyFile) },
    requesterToken: 'requester-token-0123456789',
    adminToken: 'admin-token-0123456789abcdef',
    web: { publicUrl, login, authenticate: login.authenticate.bind(login) },
  });
}

test('with the provider CA as caFile, an approver signs in over HTTPS; no process-wide trust was changed', async () => {
  assert.notEqual(process.env['NODE_EXTRA_CA_CERTS'], idp.caFile);
  const broker = await brokerWithPage(idp.caFile);
  try {
    const browser = new BrokerPageBrowser(broker.url, [tls.cert, await readFile(idp.caFile!, 'utf8')]);
    const page = await browser.signIn('alice', '/');
    assert.equal(page.status, 200, page.body.slice(0, 300));
    assert.equal(page.url.origin, new URL(broker.url).origin, 'back on the broker');
    assert.match(page.body, /alice/, 'signed in as alice');
    assert.ok(browser.cookie('__Host-sidegate_session'));
    // The global fetch still trusts only the system roots: the CA vouches for the login alone.
    await assert.rejects(fetch(`${idp.issuer}/.well-known/openid-configuration`));
  } finally {
    await broker.close();
  }
});

test('the configured username claim names the page approver, as it names the CLI one', async () => {
  const broker = await brokerWithPage(idp.caFile, 'email');
  try {
    const browser = new BrokerPageBrowser(broker.url, [tls.cert, await readFile(idp.caFile!, 'utf8')]);
    const page = await browser.signIn('alice', '/');
    assert.equal(page.status, 200);
    assert.match(page.body, /alice@corp\.example/);
  } finally {
    await broker.close();
  }
});

test('without the CA, or with another one, the provider cannot be reached: sign-in fails closed', async () => {
  for (const caFile of [undefined, tls.certFile]) {
    const broker = await brokerWithPage(caFile);
    try {
      const browser = new BrokerPageBrowser(broker.url, [tls.cert]);
      const answer = await browser.request('/login?next=/');
      assert.equal(answer.status, 502, `caFile ${caFile ?? 'none'}`);
      assert.match(answer.body, /sign-in provider could not be reached/);
      assert.equal(browser.cookie('__Host-sidegate_session'), undefined);
    } finally {
      await broker.close();
    }
  }
});
