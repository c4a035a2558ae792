// `sidegate broker` as the chart runs it: HTTPS, an embedded store in a data directory, sidecars
// proven by ServiceAccount tokens from a (test) cluster issuer, approvers by ID tokens from a real
// OpenID provider, notifications to a real receiver. Who may ask and who may decide is checked the
// way an attacker would try it: wrong audience, expired token, a token of the other kind, the
// requester's own CI actor, one approver voting twice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../core/logging/logger.js';
import { parseBrokerConfig } from '../../broker/config/broker-config.js';
import { startBrokerService } from '../../broker/cli/broker-command.js';
import { verifyWebhookSignature } from '../../broker/notifications/index.js';
import type { ApprovalBroker } from '../../broker/server/broker-server.js';
import type { ApprovalRecord } from '../../broker/api/broker-api-schema.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../support/self-signed-certificate.js';
import { startTestIssuer, type TestIssuer } from '../support/token-issuer.js';
import { startOidcProvider, type TestOidcProvider } from '../support/oidc-provider.js';
import { repositoryRoot } from '../chart/repository-root.js';

const CLUSTER_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const WEBHOOK_SECRET = 'whsec-0123456789abcdef0123456789abcdef';

let dir: string;
let tls: TestCertificate;
let cluster: TestIssuer;
let idp: TestOidcProvider;
let broker: ApprovalBroker;
let config: ReturnType<typeof parseBrokerConfig>;
const received: { event: string; body: Record<string, unknown>; ok: boolean }[] = [];
let receiver: ReturnType<typeof createServer>;

async function start(): Promise<ApprovalBroker> {
  const pem = await readFile(tls.certFile);
  return startBrokerService(config, { host: '127.0.0.1', port: 0, tls: { cert: pem, key: await readFile(tls.keyFile) } }, createLogger({ level: 'error', sink: () => undefined }), {});
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sidegate-broker-service-'));
  tls = makeSelfSignedCertificate(dir, 'broker');
  const clusterTls = makeSelfSignedCertificate(dir, 'cluster');
  cluster = await startTestIssuer({ issuer: CLUSTER_ISSUER, tls: { cert: clusterTls.cert, key: await readFile(clusterTls.keyFile, 'utf8') } });
  idp = await startOidcProvider({
    https: true,
    accounts: [
      { username: 'alice', groups: ['dba'] },
      { username: 'bob', groups: ['dba', 'sre'] },
      { username: 'carol', groups: ['dev'] },
      { username: 'octocat', groups: ['dba'] },
    ],
  });
  receiver = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const check = verifyWebhookSignature(WEBHOOK_SECRET, { body, timestamp: String(req.headers['x-sidegate-timestamp']), signature: String(req.headers['x-sidegate-signature']) });
      received.push({ event: String(req.headers['x-sidegate-event']), body: JSON.parse(body) as Record<string, unknown>, ok: check.ok });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const secretFile = join(dir, 'session-secret');
  await writeFile(secretFile, 'a-session-secret-of-at-least-32-bytes-0123456789\n', { mode: 0o600 });
  const hookSecret = join(dir, 'webhook-secret');
  await writeFile(hookSecret, WEBHOOK_SECRET, { mode: 0o600 });
  config = parseBrokerConfig({
    publicUrl: 'https://approvals.example.test',
    store: { kind: 'embedded', dataDir: join(dir, 'data') },
    requesters: { kubernetes: { issuer: CLUSTER_ISSUER, discovery: false, jwksUrl: cluster.jwksUrl, caFile: clusterTls.certFile } },
    approvers: { oidc: [{ issuer: idp.issuer, clientId: idp.webClient.clientId, cliClientId: idp.cliClientId, caFile: idp.caFile! }] },
    notifications: { webhooks: [{ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, secretFile: hookSecret }] },
    session: { secretFile },
    audit: { stateDir: join(dir, 'audit') },
  });
  broker = await start();
});

after(async () => {
  await broker?.close();
  await idp?.close();
  await cluster?.close();
  await new Promise<void>((r) => receiver.close(() => r()));
  await rm(dir, { recursive: true, force: true });
});

/** A call as a sidecar or an approver makes it, trusting the broker's certificate. */
function call(method: string, path: string, token: string | undefined, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(broker.url + path, { method, ca: tls.cert, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const podToken = (opts: { audience?: string; expiresIn?: number; pod?: string } = {}) =>
  cluster.sign(
    {
      sub: 'system:serviceaccount:ci:runner',
      'kubernetes.io': { namespace: 'ci', serviceaccount: { name: 'runner', uid: 'sa-1' }, pod: { name: opts.pod ?? 'job-42-abcde', uid: 'pod-uid-1' } },
    },
    { audience: opts.audience ?? 'sidegate-broker', ...(opts.expiresIn !== undefined ? { expiresIn: opts.expiresIn } : {}) },
  );

const held = (command: string) => ({
  requester: { subject: 'repo:acme/shop:ref:refs/heads/main', issuer: 'https://token.actions.githubusercontent.com', identities: ['ci'], ci: { system: 'github', repository: 'acme/shop', actor: 'octocat' } },
  target: 'orders-db',
  protocol: 'postgres',
  command,
  hash: `sha256:${'e'.repeat(64)}`,
  rule: 'deletes-need-approval',
  approvers: [],
  groups: ['dba'],
  threshold: 2,
  sessionId: 's-1',
  timeoutMs: 600_000,
});

test('who may ask: only a pod-bound ServiceAccount token for the broker audience creates a request', async () => {
  const created = await call('POST', '/v1/approvals', await podToken(), held('DELETE FROM orders WHERE id = 7'));
  assert.equal(created.status, 201, JSON.stringify(created.json));
  // The held client is told where approvers decide it.
  assert.equal(created.json['page'], `https://approvals.example.test/approvals/${created.json['id']}`);
  const record = (await call('GET', `/v1/approvals/${created.json['id']}`, await podToken())).json as unknown as ApprovalRecord;
  // The pod the token proves joins the requester's identities: acting as that pod decides nothing.
  assert.ok(record.requester.identities.includes('pod:ci/job-42-abcde'));
  assert.ok(record.requester.identities.includes('system:serviceaccount:ci:runner'));

  assert.equal((await call('POST', '/v1/approvals', undefined, held('DELETE FROM orders'))).status, 401);
  const wrongAudience = await call('POST', '/v1/approvals', await podToken({ audience: 'sidegate' }), held('DELETE FROM orders'));
  assert.equal(wrongAudience.status, 401);
  assert.match(String(wrongAudience.json['error']), /audience/);
  assert.equal((await call('POST', '/v1/approvals', await podToken({ expiresIn: -600 }), held('DELETE FROM orders'))).status, 401);
  const forged = (await podToken()).replace(/\.[^.]+$/, '.AAAA');
  assert.equal((await call('POST', '/v1/approvals', forged, held('DELETE FROM orders'))).status, 401);
  // An approver's token is not a sidecar's: it cannot ask.
  assert.equal((await call('POST', '/v1/approvals', await idp.idTokenFor('alice'), held('DELETE FROM orders'))).status, 403);
  // No error ever echoes a token.
  assert.doesNotMatch(JSON.stringify(wrongAudience.json), /eyJ/);
});

test('who may decide: verified approvers of the group, two distinct ones, never the CI actor, never the pod', async () => {
  const created = await call('POST', '/v1/approvals', await podToken(), held('DELETE FROM orders WHERE id = 8'));
  const id = String(created.json['id']);
  // The body's name is ignored for a verified approver: alice cannot vote as bob.
  const first = await call('POST', `/v1/approvals/${id}/approve`, await idp.idTokenFor('alice'), { approver: 'bob', reason: 'ticket OPS-1' });
  assert.equal(first.status, 200, JSON.stringify(first.json));
  assert.equal(first.json['status'], 'pending');
  const votes = first.json['votes'] as { approver: { name: string; issuer: string; subject: string } }[];
  assert.deepEqual(votes.map((v) => [v.approver.name, v.approver.issuer, v.approver.subject]), [['alice', idp.issuer, idp.subjectOf('alice')]]);
  assert.equal((await call('POST', `/v1/approvals/${id}/approve`, await idp.idTokenFor('alice'), {})).status, 409, 'one approver, one vote');
  // Not in an approver group: not shown either, so answered as an unknown request.
  assert.equal((await call('POST', `/v1/approvals/${id}/approve`, await idp.idTokenFor('carol'), {})).status, 404, 'not in an approver group');
  assert.equal((await call('POST', `/v1/approvals/${id}/approve`, await idp.idTokenFor('octocat'), {})).status, 403, "the run's own actor");
  assert.equal((await call('POST', `/v1/approvals/${id}/approve`, await podToken(), {})).status, 403, 'a sidecar cannot decide');
  const second = await call('POST', `/v1/approvals/${id}/approve`, await idp.idTokenFor('bob'), { reason: 'looks right' });
  assert.equal(second.json['status'], 'approved');
  assert.equal((await call('POST', `/v1/approvals/${id}/deny`, await idp.idTokenFor('bob'), {})).status, 409, 'decided once');
  // The receiver heard of the request and of its decision, signed.
  for (let i = 0; i < 100 && !received.some((r) => r.event === 'approval.decided' && JSON.stringify(r.body).includes(id)); i++) await new Promise((r) => setTimeout(r, 50));
  const mine = received.filter((r) => JSON.stringify(r.body).includes(id));
  assert.deepEqual(mine.map((r) => r.event), ['approval.created', 'approval.decided']);
  assert.ok(mine.every((r) => r.ok), 'signatures verify');
});

test('the approvers CLI decides with its OIDC token; the broker restarts with nothing lost', async () => {
  const created = await call('POST', '/v1/approvals', await podToken(), { ...held('DELETE FROM orders WHERE id = 9'), threshold: 1 });
  const id = String(created.json['id']);
  const pending = await call('POST', '/v1/approvals', await podToken(), held('DELETE FROM orders WHERE id = 10'));
  const tokenFile = join(dir, 'bob.token');
  await writeFile(tokenFile, await idp.idTokenFor('bob'), { mode: 0o600 });
  const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(
      process.execPath,
      [join(repositoryRoot, 'dist', 'cli', 'main.js'), 'approvals', 'approve', id, '--broker', broker.url, '--token-file', tokenFile, '--reason', 'planned'],
      { env: { ...process.env, NODE_EXTRA_CA_CERTS: tls.certFile } },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    ),
  );
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, new RegExp(`${id} approved by bob`));

  await broker.close();
  broker = await start();
  const after = (await call('GET', `/v1/approvals/${pending.json['id']}`, await podToken())).json;
  assert.equal(after['status'], 'pending', 'a pending request survives the restart');
  assert.equal((await call('GET', `/v1/approvals/${id}`, await podToken())).json['status'], 'approved', 'a decision survives the restart');
});

test('probes: /healthz without a token, /readyz once the store answers', async () => {
  assert.equal((await call('GET', '/healthz', undefined)).status, 200);
  assert.equal((await call('GET', '/readyz', undefined)).status, 200);
});
