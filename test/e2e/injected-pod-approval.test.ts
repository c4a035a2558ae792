// Approvals in a cluster, end to end without one: a runner pod is admitted by the webhook
// configured with the broker's URL and CA; its sidecar (uid 7331, in a network namespace playing
// the pod) holds the runner's unchanged `psql -c "DELETE …"` and asks `sidegate broker` — a real
// process in a second namespace playing the cluster network, with its embedded store — proving
// itself with its projected ServiceAccount token for the broker's audience. Approvers use the
// broker's page in headless Chromium on that network and sign in at a real OpenID provider: the
// run's own actor is refused, two approvers of the group approve, and the statement runs on the
// real PostgreSQL. Slack and signed-webhook notifications arrive at receivers beside the broker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { createNamespacePair, letOtherUsersReach, mustRun, run, spawnInNamespace, type NamespacePair } from '../netns/network-namespaces.js';
import { watchJsonLines, type JsonLinesProcess } from '../netns/json-lines-process.js';
import { startTestIssuer, writeStaticJwks } from '../support/token-issuer.js';
import { makeSelfSignedCertificate } from '../support/self-signed-certificate.js';
import { launchChromium, type TestBrowser } from '../support/chromium.js';
import { startWebhookServer, type WebhookServer } from '../../webhook/admission/webhook-server.js';
import { createStaticNamespaceLookup } from '../../webhook/admission/namespace-lookup.js';
import { parseInjectionConfig } from '../../webhook/config/injection-config.js';
import { verifyWebhookSignature } from '../../broker/notifications/index.js';
import { flattenOtlpJson } from '../../core/audit/index.js';
import type { PodSpec, VolumeContents } from './pod-simulator.js';
import { admitPod, runPatchedPod, startPodPostgres, CLI, RUNNER_UID, type InjectedSidecar, type PodPostgres } from './injected-pod-harness.js';

const SERVICES = fileURLToPath(new URL('./fixtures/approval-services.js', import.meta.url));
const CLUSTER_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
const TARGET_PASSWORD = 'e2e-Approval-Pw-9c1e';
const WEBHOOK_SECRET = 'whsec-e2e-0123456789abcdef0123456789abcdef';
const SLACK_URL_PATH = '/slack';

let ns: NamespacePair;
let dir: string;
let restoreModes: (() => Promise<void>) | undefined;
let postgres: PodPostgres | undefined;
let webhook: WebhookServer | undefined;
let services: JsonLinesProcess | undefined;
let broker: JsonLinesProcess | undefined;
let brokerLog = '';
let pod: InjectedSidecar | undefined;
let browser: TestBrowser | undefined;
let publicUrl: string;
let issuer: string;
/** The runner's CI token: a GitHub Actions run of acme/shop started by octocat. */
let ciToken: string;

before(async () => {
  restoreModes = await letOtherUsersReach(fileURLToPath(new URL('../../', import.meta.url)));
  await mustRun(['sh', '-c', 'id -u 7331 >/dev/null 2>&1 || useradd -u 7331 -M -s /usr/sbin/nologin -U sidegate-e2e']);
  dir = await mkdtemp(join(tmpdir(), 'sidegate-e2e-approval-'));
  await chmod(dir, 0o755);
  ns = await createNamespacePair();
  postgres = await startPodPostgres(dir, ns.db, [ns.v4.db], TARGET_PASSWORD);

  // The cluster's ServiceAccount issuer (its JWKS served on the cluster network) and GitHub's.
  const cluster = await startTestIssuer({ issuer: CLUSTER_ISSUER });
  const github = await startTestIssuer({ issuer: GITHUB_ISSUER });
  const clusterJwks = join(dir, 'cluster-jwks.json');
  await writeStaticJwks(clusterJwks, cluster.jwks);
  const githubJwks = join(dir, 'github-jwks.json');
  await writeStaticJwks(githubJwks, github.jwks);
  await chmod(githubJwks, 0o644);
  const podClaims = { sub: 'system:serviceaccount:ci:runner', 'kubernetes.io': { namespace: 'ci', pod: { name: 'migrate', uid: 'pod-uid-7' }, serviceaccount: { name: 'runner', uid: 'sa-7' } } };
  const podToken = await cluster.sign(podClaims, { audience: 'sidegate', expiresIn: '1h' });
  const brokerToken = await cluster.sign(podClaims, { audience: 'sidegate-broker', expiresIn: '1h' });
  ciToken = await github.sign(
    { sub: 'repo:acme/shop:ref:refs/heads/main', repository: 'acme/shop', ref: 'refs/heads/main', sha: 'c0ffee12', workflow: 'migrate', run_id: '4242', run_attempt: '1', actor: 'octocat' },
    { audience: 'sidegate', expiresIn: '1h' },
  );
  await cluster.close();
  await github.close();

  // The broker's Service address on the cluster network, and the services around it.
  const brokerAddress = ns.v4.dbAlt;
  publicUrl = `https://${brokerAddress}:8443`;
  services = watchJsonLines(spawnInNamespace(ns.db, [process.execPath, SERVICES, ns.v4.dbOther, clusterJwks, `${publicUrl}/auth/callback`]), 'approval services');
  const ready = await services.waitFor((e) => e['event'] === 'ready', 20_000);
  issuer = String(ready['issuer']);

  const brokerTls = makeSelfSignedCertificate(dir, 'broker', [`IP:${brokerAddress}`]);
  const secret = async (name: string, content: string) => {
    const path = join(dir, name);
    await writeFile(path, content, { mode: 0o600 });
    return path;
  };
  const brokerConfig = join(dir, 'broker.yaml');
  await writeFile(
    brokerConfig,
    JSON.stringify({
      publicUrl,
      store: { kind: 'embedded', dataDir: join(dir, 'broker-data') },
      requesters: { kubernetes: { issuer: CLUSTER_ISSUER, discovery: false, jwksUrl: ready['jwksUrl'], caFile: ready['jwksCaFile'] } },
      approvers: { oidc: [{ issuer, clientId: ready['clientId'], clientSecretFile: await secret('oidc-client-secret', String(ready['clientSecret'])), caFile: ready['oidcCaFile'] }] },
      notifications: {
        slack: { webhookUrlFile: await secret('slack-url', String(ready['slackUrl'])) },
        webhooks: [{ url: ready['webhookUrl'], secretFile: await secret('webhook-secret', WEBHOOK_SECRET) }],
      },
      session: { secretFile: await secret('session-secret', 'an-e2e-session-secret-of-at-least-32-bytes\n') },
      audit: { stateDir: join(dir, 'broker-audit') },
    }),
  );
  const brokerProcess = spawnInNamespace(ns.db, [process.execPath, CLI, 'broker', '--config', brokerConfig, '--tls-cert', brokerTls.certFile, '--tls-key', brokerTls.keyFile, '--host', brokerAddress, '--port', '8443'], undefined, {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: String(ready['oidcCaFile']) },
  });
  brokerProcess.stderr!.on('data', (d: Buffer) => (brokerLog += d.toString()));
  broker = watchJsonLines(brokerProcess, 'sidegate broker');
  brokerProcess.stdout!.on('data', (d: Buffer) => (brokerLog += d.toString()));
  await waitUntil(() => /sidegate broker: listening on/.test(brokerLog), 30_000, () => `broker did not start:\n${brokerLog}`);

  // The webhook as the chart configures it when the broker is deployed beside it.
  const webhookTls = makeSelfSignedCertificate(dir, 'webhook');
  webhook = await startWebhookServer({
    host: '127.0.0.1',
    port: 0,
    tls: { certFile: webhookTls.certFile, keyFile: webhookTls.keyFile },
    config: parseInjectionConfig({ brokerUrl: publicUrl, brokerCaConfigMap: 'sidegate-broker-ca' }),
    namespaceLookup: createStaticNamespaceLookup({ ci: { 'sidegate.dev/inject': 'enabled' } }),
  });
  const spec: PodSpec = {
    metadata: { name: 'migrate', namespace: 'ci' },
    spec: { containers: [{ name: 'runner', image: 'postgres:15', command: ['psql', '-h', ns.v4.db, '-U', 'app', '-d', 'shop', '-c', 'DELETE FROM items WHERE id = 3'] }] },
  };
  const volumes: VolumeContents = {
    'sidegate-policy': { 'policy.yaml': { content: policy(githubJwks), mode: 0o644, owner: 'root' } },
    'sidegate-credentials': { 'credentials.yaml': { content: `targets:\n  shop: { username: app, password: "${TARGET_PASSWORD}" }\n`, mode: 0o444, owner: 'root' } },
    // The projected volume: the sidecar's own token and the one for the broker's audience.
    'sidegate-token': { token: podToken, 'broker-token': brokerToken },
    // The broker's CA ConfigMap, as the kubelet writes it.
    'sidegate-broker-ca': { 'ca.crt': { content: brokerTls.cert, mode: 0o644, owner: 'root' } },
  };
  pod = await runPatchedPod(ns.pod, await admitPod({ url: webhook.url, ca: webhookTls.cert }, spec), volumes, join(dir, 'pod'));
  browser = await launchChromium([], { netns: ns.db, trust: [brokerTls.cert, await readFile(String(ready['oidcCaFile']), 'utf8')] });
});

function policy(githubJwks: string): string {
  return `version: 1
identities:
  - name: shop-ci
    issuer: ${GITHUB_ISSUER}
    audiences: [sidegate]
    jwksFile: ${githubJwks}
    claims: { sub: "repo:acme/shop:*" }
targets:
  - { name: shop, protocol: postgres, address: "${ns.v4.db}:5432", database: shop, tls: { mode: disable }, credentials: { file: shop } }
rules:
  - { name: reads, identities: [shop-ci], when: { statements: [read, session, transaction] }, action: allow }
  - name: deletes-need-approval
    identities: [shop-ci]
    when: { statements: [delete] }
    action: approve
    approval: { groups: [dba], threshold: 2, timeout: 5m }
`;
}

after(async () => {
  await browser?.close();
  pod?.sidecar.kill('SIGTERM');
  await broker?.stop();
  await services?.stop();
  await new Promise((r) => setTimeout(r, 300));
  await webhook?.close();
  await postgres?.stop();
  await ns?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
  await restoreModes?.();
});

async function waitUntil(done: () => boolean, timeoutMs: number, why: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(why());
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The runner's psql, unchanged, presenting its CI token as the password. */
function runner(sql: string) {
  return run(
    ['ip', 'netns', 'exec', ns.pod, 'setpriv', `--reuid=${RUNNER_UID}`, `--regid=${RUNNER_UID}`, '--clear-groups',
      'env', `PGPASSWORD=${ciToken}`, 'PGSSLMODE=disable', 'PGCONNECT_TIMEOUT=10',
      'psql', '-X', '-tA', '-h', ns.v4.db, '-U', 'app', '-d', 'shop', '-c', sql],
    { timeoutMs: 180_000 },
  );
}

/** Signs in on the broker's page in a fresh browser profile, at the provider's own login page. */
async function signedIn(user: string): Promise<Page> {
  const { page } = await browser!.newPage();
  await page.goto(`${publicUrl}/`);
  assert.ok(page.url().startsWith(`${issuer}/interaction/`), `sent to the provider's login, at ${page.url()}`);
  await page.fill('input[name=username]', user);
  await page.click('button[type=submit]');
  await page.waitForURL(`${publicUrl}/`);
  assert.equal(await page.textContent('strong.approver'), user);
  return page;
}

interface Notification {
  path: string;
  headers: { event?: string; timestamp?: string; signature?: string };
  body: string;
}

function notification(match: (n: Notification) => boolean): Promise<Notification> {
  return services!.waitFor((e) => e['event'] === 'notification' && match(e as unknown as Notification), 20_000) as unknown as Promise<Notification>;
}

test("a held DELETE from the runner pod is approved on the page by two approvers, never by the run's actor, and then runs", async () => {
  const psql = runner('DELETE FROM items WHERE id = 3');

  // The sidecar asked the broker: the signed webhook says so, with the page's link.
  const created = await Promise.race([
    notification((n) => n.path === '/hook' && n.headers.event === 'approval.created'),
    psql.then((r) => {
      throw new Error(`psql ended before its statement was held (${r.code}): ${r.stdout}${r.stderr}\nsidecar:\n${pod!.log()}\nbroker:\n${brokerLog}`);
    }),
  ]);
  assert.deepEqual(verifyWebhookSignature(WEBHOOK_SECRET, { body: created.body, timestamp: created.headers.timestamp!, signature: created.headers.signature! }).ok, true);
  const request = (JSON.parse(created.body) as { approval: { id: string; url: string; statement: string; ci: Record<string, string>; requester: { identities: string[] } } }).approval;
  const id = request.id;
  assert.equal(request.url, `${publicUrl}/approvals/${id}`);
  assert.equal(request.statement, 'DELETE FROM items WHERE id = 3');
  // Who asks is what the tokens proved: the CI run (from the runner's token) and the pod (from the sidecar's).
  assert.equal(request.ci['actor'], 'octocat');
  assert.equal(request.ci['runUrl'], 'https://github.com/acme/shop/actions/runs/4242');
  assert.ok(request.requester.identities.includes('pod:ci/migrate'));
  const slackCreated = await notification((n) => n.path === SLACK_URL_PATH && n.body.includes(id));
  assert.ok(slackCreated.body.includes(`${publicUrl}/approvals/${id}`), 'the Slack message links to the request on the page');
  assert.equal(await postgres!.psql('SELECT count(*) FROM items WHERE id = 3', 'shop'), '1\n', 'nothing ran while held');

  // The run's own actor signs in and is refused.
  const octocat = await signedIn('octocat');
  const row = octocat.locator(`tr.pending[data-id="${id}"]`);
  assert.match((await row.textContent()) ?? '', /shop[\s\S]*deletes-need-approval[\s\S]*acme\/shop[\s\S]*DELETE FROM items WHERE id = 3[\s\S]*0 \/ 2/);
  await row.locator('a').click();
  await octocat.waitForURL(`${publicUrl}/approvals/${id}`);
  assert.equal(await octocat.textContent('#statement'), 'DELETE FROM items WHERE id = 3');
  assert.equal(await octocat.textContent('#ci-runUrl a'), 'https://github.com/acme/shop/actions/runs/4242');
  await octocat.fill('#reason', 'my own migration');
  const [refused] = await Promise.all([octocat.waitForResponse(`${publicUrl}/approvals/${id}/decision`), octocat.click('button.approve')]);
  assert.equal(refused.status(), 403);
  assert.equal(await octocat.textContent('#notice'), '"octocat" cannot decide this request: it is the CI actor who started the run');
  assert.equal(await octocat.textContent('#status'), 'pending');

  // Two approvers of the group approve.
  const alice = await signedIn('alice');
  await alice.goto(`${publicUrl}/approvals/${id}`);
  await alice.fill('#reason', 'OPS-7: remove the test row');
  const [aliceVote] = await Promise.all([alice.waitForResponse(`${publicUrl}/approvals/${id}/decision`), alice.click('button.approve')]);
  assert.equal(aliceVote.status(), 303, `${await alice.textContent('#notice').catch(() => '')}`);
  await alice.waitForURL(`${publicUrl}/approvals/${id}?done=approved`);
  assert.equal(await alice.textContent('#votes-count'), '1 of 2 needed');
  assert.equal(await alice.textContent('#status'), 'pending');
  assert.equal(await postgres!.psql('SELECT count(*) FROM items WHERE id = 3', 'shop'), '1\n', 'one approval of two runs nothing');

  const bob = await signedIn('bob');
  await bob.goto(`${publicUrl}/approvals/${id}`);
  await bob.fill('#reason', 'second pair of eyes');
  await bob.click('button.approve');
  await bob.waitForURL(/done=approved$/);
  assert.equal(await bob.textContent('#status'), 'approved');

  // The runner's psql, unchanged, gets its result; it was told where the request waits.
  const result = await psql;
  assert.equal(result.code, 0, `${result.stderr}\nsidecar:\n${pod!.log()}\nbroker:\n${brokerLog}`);
  assert.equal(result.stdout.trim(), 'DELETE 1');
  assert.ok(result.stderr.includes(`${publicUrl}/approvals/${id}`), `the notice links to the page: ${result.stderr}`);
  assert.equal(await postgres!.psql('SELECT count(*) FROM items WHERE id = 3', 'shop'), '0\n');

  // The decision is announced on both channels, signed where the receiver asked for it.
  const decided = await notification((n) => n.path === '/hook' && n.headers.event === 'approval.decided');
  assert.equal(verifyWebhookSignature(WEBHOOK_SECRET, { body: decided.body, timestamp: decided.headers.timestamp!, signature: decided.headers.signature! }).ok, true);
  const record = (JSON.parse(decided.body) as { approval: { status: string; approvers: { name: string; issuer?: string; decision?: string }[] } }).approval;
  assert.equal(record.status, 'approved');
  assert.deepEqual(record.approvers.map((v) => [v.name, v.issuer, v.decision]), [['alice', issuer, 'approve'], ['bob', issuer, 'approve']]);
  await notification((n) => n.path === SLACK_URL_PATH && n.body.includes(id) && /approved/i.test(n.body) && n !== slackCreated);

  // The sidecar's own evidence: the statement's span names the request and who approved it.
  await new Promise((r) => setTimeout(r, 600));
  const spans = flattenOtlpJson(await readFile(join(pod!.stateDir, 'audit.otlp.jsonl'), 'utf8'));
  const held = spans.find((s) => s.attributes['sidegate.approval.id'] === id);
  assert.ok(held, `a span names ${id}: ${JSON.stringify(spans.map((s) => s.attributes))}`);
  assert.equal(held.attributes['sidegate.decision'], 'approved');
  assert.equal(held.attributes['sidegate.approval.status'], 'approved');
  assert.match(String(held.attributes['sidegate.approval.approver']), /alice.*bob/);

  // The broker's evidence: each vote and the outcome, linked to that statement's span in the pod.
  const brokerSpans = flattenOtlpJson(await readFile(join(dir, 'broker-audit', 'audit.otlp.jsonl'), 'utf8')).filter((s) => s.attributes['sidegate.approval.id'] === id);
  const linksToHeld = (s: (typeof brokerSpans)[number]) => s.links?.some((l) => l.traceId === held.traceId && l.spanId === held.spanId) ?? false;
  const votes = brokerSpans.filter((s) => s.name === 'approval vote');
  assert.deepEqual(votes.map((s) => [s.attributes['sidegate.approver.name'], s.attributes['sidegate.approver.issuer'], s.attributes['sidegate.approval.verdict']]), [['alice', issuer, 'approved'], ['bob', issuer, 'approved']]);
  const outcome = brokerSpans.find((s) => s.name === 'approval approved');
  assert.ok(outcome, `an outcome span: ${JSON.stringify(brokerSpans.map((s) => s.name))}`);
  assert.deepEqual(outcome.attributes['sidegate.approver.names'], ['alice', 'bob']);
  assert.ok([...votes, outcome].every(linksToHeld), 'every decision span links to the held statement span');
  // No token anywhere in the evidence or the broker's output.
  for (const text of [JSON.stringify(spans), JSON.stringify(brokerSpans), brokerLog, created.body, decided.body]) assert.ok(!text.includes(ciToken.split('.')[2]!), 'no token leaked');
  await Promise.all([octocat.context().close(), alice.context().close(), bob.context().close()]);
});

test("a runner that gives up (psql's Ctrl-C) cancels its request, and the page shows it cancelled", async () => {
  const psql = spawnInNamespace(ns.pod, ['env', `PGPASSWORD=${ciToken}`, 'PGSSLMODE=disable', 'psql', '-X', '-tA', '-h', ns.v4.db, '-U', 'app', '-d', 'shop', '-c', 'DELETE FROM items WHERE id = 2'], { uid: RUNNER_UID, gid: RUNNER_UID });
  let output = '';
  psql.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  psql.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => psql.once('close', resolve));
  const created = await notification((n) => n.path === '/hook' && n.headers.event === 'approval.created' && n.body.includes('WHERE id = 2'));
  const id = (JSON.parse(created.body) as { approval: { id: string } }).approval.id;

  // SIGINT reaches psql itself (ip netns exec, setpriv and env all exec): it sends a CancelRequest.
  psql.kill('SIGINT');
  assert.equal(await exited, 1, output);
  assert.match(output, /57014|canceled while waiting for approval/, output);
  const cancelled = await notification((n) => n.path === '/hook' && n.headers.event === 'approval.decided' && n.body.includes(id));
  assert.equal((JSON.parse(cancelled.body) as { approval: { status: string } }).approval.status, 'cancelled');

  const alice = await signedIn('alice');
  await alice.goto(`${publicUrl}/approvals/${id}`);
  assert.equal(await alice.textContent('#status'), 'cancelled');
  assert.equal(await alice.locator('button.approve').count(), 0, 'nothing left to approve');
  assert.equal(await postgres!.psql('SELECT count(*) FROM items WHERE id = 2', 'shop'), '1\n');
  await alice.context().close();
});

test('with the broker gone, a statement that needs approval is denied at once, not held forever', async () => {
  await broker!.stop();
  const started = Date.now();
  const result = await runner('DELETE FROM items WHERE id = 1');
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /broker/i, result.stderr);
  assert.ok(Date.now() - started < 60_000, 'a bounded wait, not the rule\'s 5 minutes');
  assert.equal(await postgres!.psql('SELECT count(*) FROM items WHERE id = 1', 'shop'), '1\n');
  // Reads need no broker and still flow.
  assert.equal((await runner('SELECT count(*) FROM items')).stdout.trim(), '2');
});
