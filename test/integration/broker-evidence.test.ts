// The broker's evidence of its decisions, with real components: `sidegate broker` replicas over
// the test PostgreSQL, sidecars proven by ServiceAccount tokens, approvers by ID tokens from a real
// OpenID provider, spans to a real OTLP/HTTP receiver (or, without one, the trail's file). What is
// checked is what an auditor relies on: each vote and outcome is a span linked to the held
// statement's span, names the approver as their token proved them, comes from the replica that
// made the transition, sits in an intact hash chain, and carries no token; and a decision whose
// evidence cannot be written is refused, never made without it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../core/logging/logger.js';
import { verifyChain } from '../../core/audit/index.js';
import { parseBrokerConfig } from '../../broker/config/broker-config.js';
import { startBrokerService } from '../../broker/cli/broker-command.js';
import type { ApprovalBroker } from '../../broker/server/broker-server.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../support/self-signed-certificate.js';
import { startTestIssuer, type TestIssuer } from '../support/token-issuer.js';
import { startOidcProvider, type TestOidcProvider } from '../support/oidc-provider.js';
import { readOtlpJsonFile, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-postgres-database.js';

const CLUSTER_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const BOUNDED = { timeout: 60_000 };

let dir: string;
let tls: TestCertificate;
let cluster: TestIssuer;
let idp: TestOidcProvider;
let db: ScratchDatabase;
let receiver: OtlpReceiver;
let connectionFile: string;
let sessionFile: string;
let clusterCaFile: string;
const replicas: ApprovalBroker[] = [];
/** Every bearer token a test presented: none may appear in any span. */
const presented = new Set<string>();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sidegate-broker-evidence-'));
  tls = makeSelfSignedCertificate(dir, 'broker');
  const clusterTls = makeSelfSignedCertificate(dir, 'cluster');
  cluster = await startTestIssuer({ issuer: CLUSTER_ISSUER, tls: { cert: clusterTls.cert, key: await readFile(clusterTls.keyFile, 'utf8') } });
  clusterCaFile = clusterTls.certFile;
  idp = await startOidcProvider({ https: true, accounts: [{ username: 'alice', groups: ['dba'] }, { username: 'bob', groups: ['dba', 'sre'] }] });
  db = await createScratchDatabase('sidegate_broker_evidence');
  receiver = await startOtlpReceiver();
  const c = db.connection;
  connectionFile = join(dir, 'connection-string');
  await writeFile(connectionFile, `postgres://${c.user}:${c.password}@localhost:${c.port}/${c.database}`, { mode: 0o600 });
  await writeFile(join(dir, 'db-ca.crt'), String((c.ssl as { ca: string }).ca));
  sessionFile = join(dir, 'session-secret');
  await writeFile(sessionFile, 'a-session-secret-of-at-least-32-bytes-0123456789\n', { mode: 0o600 });
});

after(async () => {
  for (const r of replicas) await r.close().catch(() => undefined);
  await receiver?.close();
  await idp?.close();
  await cluster?.close();
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

/** A replica of `sidegate broker` over the shared PostgreSQL, its evidence under `stateDir`. */
async function replica(stateDir: string, env: NodeJS.ProcessEnv = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint }): Promise<ApprovalBroker> {
  const config = parseBrokerConfig({
    publicUrl: 'https://approvals.example.test',
    store: { kind: 'postgres', connectionFile, caFile: join(dir, 'db-ca.crt') },
    requesters: { kubernetes: { issuer: CLUSTER_ISSUER, discovery: false, jwksUrl: cluster.jwksUrl, caFile: clusterCaFile } },
    approvers: { oidc: [{ issuer: idp.issuer, clientId: idp.webClient.clientId, caFile: idp.caFile! }] },
    session: { secretFile: sessionFile },
    audit: { stateDir: join(dir, stateDir) },
  });
  const listen = { host: '127.0.0.1', port: 0, tls: { cert: await readFile(tls.certFile), key: await readFile(tls.keyFile) } };
  const broker = await startBrokerService(config, listen, createLogger({ level: 'error', sink: () => undefined }), env);
  replicas.push(broker);
  return broker;
}

function call(broker: ApprovalBroker, method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  presented.add(token);
  return new Promise((resolve, reject) => {
    const req = request(broker.url + path, { method, ca: tls.cert, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const podToken = () =>
  cluster.sign(
    { sub: 'system:serviceaccount:ci:runner', 'kubernetes.io': { namespace: 'ci', serviceaccount: { name: 'runner', uid: 'sa-1' }, pod: { name: 'job-7-xyz', uid: 'pod-uid-7' } } },
    { audience: 'sidegate-broker' },
  );

/** The sidecar's span for the held statement, as its trail would have made it. */
const heldSpan = () => ({ traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex') });

/** The statement text is a canary too: the broker's spans name it by hash only. */
const CANARY_STATEMENT = 'DELETE FROM orders WHERE card = 4111111111111111';

const held = (span: { traceId: string; spanId: string }, extra: Record<string, unknown> = {}) => ({
  requester: { subject: 'repo:acme/shop:ref:refs/heads/main', issuer: 'https://token.actions.githubusercontent.com', identities: ['ci'], ci: { system: 'github', repository: 'acme/shop', runId: '991', actor: 'octocat' } },
  target: 'orders-db',
  protocol: 'postgres',
  command: CANARY_STATEMENT,
  hash: `sha256:${'e'.repeat(64)}`,
  rule: 'deletes-need-approval',
  groups: ['dba'],
  threshold: 1,
  sessionId: 's-7',
  timeoutMs: 600_000,
  traceparent: `00-${span.traceId}-${span.spanId}-01`,
  ...extra,
});

const ofApproval = (id: string) => (spans: ReceivedSpan[]) => spans.filter((s) => s.attributes['sidegate.approval.id'] === id);

/** Waits until the receiver holds `n` spans of approval `id`, then a little longer to catch any extra one. */
async function spansOf(id: string, n: number): Promise<ReceivedSpan[]> {
  await receiver.waitForSpans((spans) => ofApproval(id)(spans).length >= n || undefined, 10_000);
  await new Promise((r) => setTimeout(r, 300));
  return ofApproval(id)(receiver.spans());
}

function assertNoSecrets(spans: readonly ReceivedSpan[]): void {
  const text = JSON.stringify(spans);
  for (const token of presented) assert.equal(text.includes(token), false, 'a bearer token appears in a span');
  for (const token of presented) assert.equal(text.includes(token.split('.')[2]!), false, "a token's signature appears in a span");
  assert.equal(text.includes('4111111111111111'), false, 'the statement text appears in a span');
}

test('votes and the outcome are spans linked to the held statement, naming each approver as their ID token proved them', BOUNDED, async () => {
  const a = await replica('replica-a');
  const b = await replica('replica-b');
  const span = heldSpan();
  const created = await call(a, 'POST', '/v1/approvals', await podToken(), held(span, { threshold: 2 }));
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const id = String(created.json['id']);
  assert.equal((await call(a, 'POST', `/v1/approvals/${id}/approve`, await idp.idTokenFor('alice'), { reason: 'ticket OPS-1' })).status, 200);
  const second = await call(b, 'POST', `/v1/approvals/${id}/approve`, await idp.idTokenFor('bob'), { reason: 'looks right' });
  assert.equal(second.json['status'], 'approved');

  const spans = await spansOf(id, 3);
  assert.deepEqual(spans.map((s) => s.name).sort(), ['approval approved', 'approval vote', 'approval vote']);
  for (const s of spans) {
    assert.deepEqual(s.links, [span], `${s.name} links to the held statement's span`);
    assert.equal(s.traceId, spans[0]!.traceId, "one request's spans share a trace");
    assert.notEqual(s.traceId, span.traceId, "a link, not a child: the broker's spans are not in the sidecar's trace");
    assert.equal(s.parentSpanId, undefined);
    assert.equal(s.kind, 1);
    assert.equal(s.resource['service.name'], 'sidegate-broker');
    assert.equal(s.attributes['sidegate.approval.hash'], `sha256:${'e'.repeat(64)}`);
    assert.equal(s.attributes['sidegate.rule'], 'deletes-need-approval');
    assert.equal(s.attributes['sidegate.target'], 'orders-db');
    assert.equal(s.attributes['sidegate.identity.subject'], 'repo:acme/shop:ref:refs/heads/main');
    assert.ok((s.attributes['sidegate.identity.names'] as string[]).includes('pod:ci/job-7-xyz'), 'the pod the sidecar proved');
    assert.equal(s.attributes['sidegate.ci.repository'], 'acme/shop');
    assert.equal(s.attributes['sidegate.ci.run_id'], '991');
    assert.equal(s.attributes['sidegate.ci.actor'], 'octocat');
    assert.equal(s.attributes['sidegate.approval.held_span'], `00-${span.traceId}-${span.spanId}-01`);
  }
  const vote = (name: string) => spans.find((s) => s.name === 'approval vote' && s.attributes['sidegate.approver.name'] === name)!;
  const alice = vote('alice');
  assert.equal(alice.attributes['sidegate.approver.issuer'], idp.issuer);
  assert.equal(alice.attributes['sidegate.approver.subject'], idp.subjectOf('alice'));
  assert.deepEqual(alice.attributes['sidegate.approver.groups'], ['dba']);
  assert.equal(alice.attributes['sidegate.approval.verdict'], 'approved');
  assert.equal(alice.attributes['sidegate.approval.reason'], 'ticket OPS-1');
  assert.equal(alice.attributes['sidegate.approval.status'], 'pending', 'one vote of two decides nothing');
  assert.deepEqual(vote('bob').attributes['sidegate.approver.groups'], ['dba', 'sre']);
  const outcome = spans.find((s) => s.name === 'approval approved')!;
  assert.deepEqual(outcome.attributes['sidegate.approver.names'], ['alice', 'bob']);
  assert.deepEqual(outcome.attributes['sidegate.approver.subjects'], [idp.subjectOf('alice'), idp.subjectOf('bob')]);
  assert.equal(outcome.attributes['sidegate.approval.reason'], 'looks right');
  assert.equal(outcome.attributes['sidegate.approval.votes'], 2);
  // Each replica writes its own chain: the outcome comes from the one whose vote decided.
  const chain = (s: ReceivedSpan) => s.attributes['sidegate.audit.chain'];
  assert.equal(chain(outcome), chain(vote('bob')));
  assert.notEqual(chain(alice), chain(vote('bob')));
  assert.deepEqual(verifyChain(receiver.spans()), { ok: true, chains: new Set(receiver.spans().map(chain)).size, spans: receiver.spans().length });
  assertNoSecrets(receiver.spans());
});

test('concurrent votes on two replicas: one decides, and only its vote and outcome are evidence', BOUNDED, async () => {
  const [a, b] = replicas;
  const created = await call(a!, 'POST', '/v1/approvals', await podToken(), held(heldSpan()));
  const id = String(created.json['id']);
  const [alice, bob] = [await idp.idTokenFor('alice'), await idp.idTokenFor('bob')];
  const answers = await Promise.all([call(a!, 'POST', `/v1/approvals/${id}/deny`, alice, { reason: 'freeze' }), call(b!, 'POST', `/v1/approvals/${id}/approve`, bob, {})]);
  assert.deepEqual(answers.map((r) => r.status).sort(), [200, 409]);
  const won = answers.find((r) => r.status === 200)!.json;
  const spans = await spansOf(id, 2);
  assert.deepEqual(spans.map((s) => s.name).sort(), ['approval vote', `approval ${String(won['status'])}`].sort());
  assert.equal(spans[0]!.attributes['sidegate.audit.chain'], spans[1]!.attributes['sidegate.audit.chain'], 'both from the winning replica');
  assertNoSecrets(receiver.spans());
});

test('an expiry and a cancel are evidence too, once, whichever replica made them', BOUNDED, async () => {
  const [a, b] = replicas;
  const span = heldSpan();
  const expiring = String((await call(a!, 'POST', '/v1/approvals', await podToken(), held(span, { timeoutMs: 300 }))).json['id']);
  const [expired] = await spansOf(expiring, 1);
  assert.equal((await spansOf(expiring, 1)).length, 1, 'two replicas sweep; one expires');
  assert.equal(expired!.name, 'approval expired');
  assert.deepEqual(expired!.links, [span]);
  assert.equal(expired!.attributes['sidegate.approval.reason'], 'no decision before the timeout');
  assert.equal(expired!.attributes['sidegate.approver.names'], undefined, 'nobody decided');

  const cancelled = String((await call(b!, 'POST', '/v1/approvals', await podToken(), held(span))).json['id']);
  assert.equal((await call(a!, 'POST', `/v1/approvals/${cancelled}/cancel`, await podToken(), { reason: 'the client went away' })).status, 200);
  const [cancel] = await spansOf(cancelled, 1);
  assert.equal(cancel!.name, 'approval cancelled');
  assert.equal(cancel!.attributes['sidegate.approval.reason'], 'the client went away');
  assert.equal(verifyChain(receiver.spans()).ok, true);
});

test('evidence that cannot be written: the decision is refused (503), the request stays pending, and the trail tells the whole story once it can write', BOUNDED, async () => {
  // Without a collector the trail is a file; a directory in its place makes every append fail, even as root.
  const stateDir = join(dir, 'unwritable');
  const file = join(stateDir, 'audit.otlp.jsonl');
  await mkdir(file, { recursive: true });
  const broker = await replica('unwritable', {});
  const id = String((await call(broker, 'POST', '/v1/approvals', await podToken(), held(heldSpan()))).json['id']);
  const token = await idp.idTokenFor('alice');

  const refused = await call(broker, 'POST', `/v1/approvals/${id}/approve`, token, { reason: 'first try' });
  assert.equal(refused.status, 503);
  assert.match(String(refused.json['error']), /audit trail cannot record decisions right now; nothing was decided/);
  const again = await call(broker, 'POST', `/v1/approvals/${id}/approve`, token, { reason: 'second try' });
  assert.equal(again.status, 503, 'an unhealthy trail refuses at once');
  const record = (await call(broker, 'GET', `/v1/approvals/${id}`, await podToken())).json;
  assert.equal(record['status'], 'pending');
  assert.deepEqual(record['votes'], [], 'no vote counted without its evidence');

  await rm(file, { recursive: true });
  let decided: { status: number; json: Record<string, unknown> } | undefined;
  for (let i = 0; i < 100; i++) {
    decided = await call(broker, 'POST', `/v1/approvals/${id}/approve`, token, { reason: 'third try' });
    if (decided.status !== 503) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(decided!.status, 200, JSON.stringify(decided!.json));
  assert.equal(decided!.json['status'], 'approved');

  const spans = readOtlpJsonFile(file).filter((s) => s.attributes['sidegate.approval.id'] === id);
  assert.deepEqual(
    spans.map((s) => [s.name, s.attributes['sidegate.approval.reason']]),
    [
      ['approval vote', 'first try'],
      ['approval approved', 'first try'],
      ['approval transition refused', 'its evidence could not be made durable; rolled back'],
      ['approval vote', 'third try'],
      ['approval approved', 'third try'],
    ],
    'the refused transition is on record as refused; the second try left nothing',
  );
  assert.deepEqual(spans[2]!.attributes['sidegate.approval.refused_spans'], [spans[0]!.spanId, spans[1]!.spanId]);
  assert.equal(verifyChain(readOtlpJsonFile(file)).ok, true);
  assertNoSecrets(spans);
});
