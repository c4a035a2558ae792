// Evidence that outlives the pod, end to end without a cluster: the webhook injects a pod whose
// sidecar exports to a collector (auditExporter otlp), the patched pod runs in a network namespace
// as in injected-pod.test.ts, and a collector-compatible OTLP receiver (its own process, in the
// "db" namespace) decodes what arrives with the official OTLP protobuf definitions. Checked:
// spans arrive in protobuf (the default) with the pod's Resource (k8s.*, service.instance.id, the
// CI job from its labels); and killing the pod mid-job (SIGTERM with a statement still running)
// leaves nothing unexported that was not reported: with the collector slow and failing, then
// answering, the drain delivers everything; with it away throughout, the sidecar's last log line
// counts exactly the spans its spool still holds, and those plus what arrived form one whole,
// unbroken hash chain. Only addresses inside the namespaces this test creates are used.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { createNamespacePair, letOtherUsersReach, mustRun, run, spawnInNamespace, type NamespacePair } from '../netns/network-namespaces.js';
import { watchJsonLines, type JsonLinesProcess } from '../netns/json-lines-process.js';
import { startTestIssuer, writeStaticJwks } from '../support/token-issuer.js';
import { makeSelfSignedCertificate } from '../support/self-signed-certificate.js';
import { startWebhookServer, type WebhookServer } from '../../webhook/admission/webhook-server.js';
import { createStaticNamespaceLookup } from '../../webhook/admission/namespace-lookup.js';
import { parseInjectionConfig } from '../../webhook/config/injection-config.js';
import { DurableSpool, verifyChain, type FlatSpan } from '../../core/audit/index.js';
import { decodeSpanRecord } from '../../core/audit/span-record.js';
import { flattenTraceRequest } from '../../core/audit/otlp-json-reader.js';
import { otlpTraceRequestJson } from '../../core/audit/otlp-span-json.js';
import type { PodSpec } from './pod-simulator.js';
import { admitPod, podRunnerIdentities, runPatchedPod, startPodPostgres, RUNNER_UID, type InjectedSidecar, type PodPostgres } from './injected-pod-harness.js';

const TARGET_PASSWORD = 'e2e-Otlp-Pw-77cc';
const RECEIVER = fileURLToPath(new URL('./fixtures/otlp-receiver-process.js', import.meta.url));
const POD_UID = randomUUID();
const GRACE_MS = 1500;
const AUDIT_DRAIN_MS = 6000;

/** One pod with its own namespaces, target and collector. */
interface PodWorld {
  ns: NamespacePair;
  postgres: PodPostgres;
  receiver: JsonLinesProcess & { send(command: object): void };
  pod: InjectedSidecar;
}

let dir: string;
let webhook: WebhookServer;
let webhookTls: { cert: string; certFile: string; keyFile: string };
let jwksFile: string;
let podToken = '';
let restoreModes: (() => Promise<void>) | undefined;
const worlds: PodWorld[] = [];

before(async () => {
  restoreModes = await letOtherUsersReach(fileURLToPath(new URL('../../', import.meta.url)));
  await mustRun(['sh', '-c', 'id -u 7331 >/dev/null 2>&1 || useradd -u 7331 -M -s /usr/sbin/nologin -U sidegate-e2e']);
  dir = await mkdtemp(join(tmpdir(), 'sidegate-e2e-otlp-'));
  await chmod(dir, 0o755);
  const issuer = await startTestIssuer({ issuer: 'https://kubernetes.default.svc.cluster.local' });
  jwksFile = join(dir, 'jwks.json');
  await writeStaticJwks(jwksFile, issuer.jwks);
  await chmod(jwksFile, 0o644);
  podToken = await issuer.sign({ sub: 'system:serviceaccount:ci:runner', 'kubernetes.io': { namespace: 'ci', pod: { name: 'migrate' }, serviceaccount: { name: 'runner' } } }, { expiresIn: '1h' });
  await issuer.close();
  // The webhook is started per world: the collector's address is in that world's random subnet.
  webhookTls = makeSelfSignedCertificate(dir);
});

after(async () => {
  for (const w of worlds) {
    w.pod.sidecar.kill('SIGKILL');
    await w.receiver.stop();
    await w.postgres.stop();
    await w.ns.destroy();
  }
  await webhook?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  await restoreModes?.();
});

/** A namespace pair with PostgreSQL and the receiver on the db side, and the injected pod on the other. */
async function startWorld(name: string): Promise<PodWorld> {
  const ns = await createNamespacePair();
  const root = join(dir, name);
  await mustRun(['mkdir', '-p', root]);
  await chmod(root, 0o755);
  const postgres = await startPodPostgres(root, ns.db, [ns.v4.db], TARGET_PASSWORD);
  const child = spawnInNamespace(ns.db, [process.execPath, RECEIVER, ns.v4.dbOther, '4318']);
  const receiver = Object.assign(watchJsonLines(child, `otlp receiver ${name}`), { send: (command: object) => child.stdin!.write(JSON.stringify(command) + '\n') });
  await receiver.waitFor((e) => e.event === 'ready', 10_000);
  const world: PodWorld = { ns, postgres, receiver, pod: undefined as unknown as InjectedSidecar };
  worlds.push(world);

  await webhook?.close();
  webhook = await startWebhookServer({
    host: '127.0.0.1',
    port: 0,
    tls: { certFile: webhookTls.certFile, keyFile: webhookTls.keyFile },
    config: parseInjectionConfig({
      auditExporter: 'otlp',
      otlpEndpoint: `http://${ns.v4.dbOther}:4318`,
      // An operator's bounds for a short stop: sessions get 1.5 s, each audit drain 6 s.
      extraEnv: [{ name: 'SIDEGATE_GRACE_MS', value: String(GRACE_MS) }, { name: 'SIDEGATE_AUDIT_DRAIN_MS', value: String(AUDIT_DRAIN_MS) }],
    }),
    namespaceLookup: createStaticNamespaceLookup({ ci: { 'sidegate.dev/inject': 'enabled' } }),
  });
  const spec: PodSpec = {
    metadata: { name: `migrate-${name}`, namespace: 'ci', labels: { 'job.runner.gitlab.com/pod': `runner-${name}` } },
    spec: { containers: [{ name: 'runner', image: 'postgres:15', command: ['psql', '-h', ns.v4.db, '-U', 'app', '-d', 'shop'] }] },
  };
  const patched = await admitPod({ url: webhook.url, ca: webhookTls.cert }, spec);
  world.pod = await runPatchedPod(ns.pod, patched, {
    'sidegate-policy': { 'policy.yaml': { content: policy(`${ns.v4.db}:5432`), mode: 0o644, owner: 'root' } },
    'sidegate-credentials': { 'credentials.yaml': { content: `targets:\n  shop: { username: app, password: "${TARGET_PASSWORD}" }\n`, mode: 0o444, owner: 'root' } },
    'sidegate-token': { token: podToken },
    // What the kubelet's downward API writes for the pod's labels and annotations.
    'sidegate-podinfo': {
      labels: `job.runner.gitlab.com/pod="runner-${name}"\n`,
      annotations: 'job.runner.gitlab.com/id="987654"\njob.runner.gitlab.com/name="migrate-db"\n',
    },
  }, join(root, 'pod'), {
    'metadata.name': `migrate-${name}`,
    'metadata.namespace': 'ci',
    'metadata.uid': POD_UID,
    'spec.nodeName': 'node-7',
    'spec.serviceAccountName': 'runner',
  });
  return world;
}

function policy(target: string): string {
  return `${podRunnerIdentities(jwksFile)}targets:
  - { name: shop, protocol: postgres, address: "${target}", database: shop, tls: { mode: disable }, credentials: { file: shop } }
rules:
  - { name: runner-reads, identities: [ci-runners], when: { statements: [read, session, transaction] }, action: allow }
`;
}

/** psql as the runner (uid 65534) inside the pod; captured, identified by the pod token. */
function runner(w: PodWorld, sql: string) {
  return run([
    'ip', 'netns', 'exec', w.ns.pod, 'setpriv', `--reuid=${RUNNER_UID}`, `--regid=${RUNNER_UID}`, '--clear-groups',
    'env', `PGPASSWORD=${podToken}`, 'PGSSLMODE=disable', 'PGCONNECT_TIMEOUT=10',
    'psql', '-X', '-tA', '-h', w.ns.v4.db, '-U', 'app', '-d', 'shop', '-c', sql,
  ], { timeoutMs: 60_000 });
}

/** The same runner with a statement that is still running when the pod is killed. */
function longRunner(w: PodWorld) {
  return spawnInNamespace(w.ns.pod, ['env', `PGPASSWORD=${podToken}`, 'PGSSLMODE=disable', 'psql', '-X', '-tA', '-h', w.ns.v4.db, '-U', 'app', '-d', 'shop', '-c', 'SELECT pg_sleep(60)'], { uid: RUNNER_UID, gid: RUNNER_UID });
}

function received(w: PodWorld): FlatSpan[] {
  return w.receiver.events.filter((e) => e.event === 'spans').flatMap((e) => e.spans as FlatSpan[]);
}

/** Kills the pod's sidecar as the kubelet does (SIGTERM) and waits for it to exit; its exit code. */
async function killPod(w: PodWorld): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => w.pod.sidecar.once('exit', (code) => resolve(code)));
  w.pod.sidecar.kill('SIGTERM');
  return exited;
}

/** What the stopped sidecar's spool still holds (everything after its committed position), as spans. */
async function spooled(w: PodWorld): Promise<FlatSpan[]> {
  const spool = await DurableSpool.open(join(w.pod.stateDir, 'audit-spool'));
  const records: { resource: string; span: string }[] = [];
  await spool.forEachPending((r) => records.push(decodeSpanRecord(r.toString('utf8'))));
  await spool.close();
  return records.length === 0 ? [] : flattenTraceRequest(JSON.parse(otlpTraceRequestJson(records)));
}

function lastAuditLine(w: PodWorld): Record<string, unknown> {
  const lines = w.pod.log().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const found = lines.filter((l) => /^audit: (every span was delivered|spans were not delivered) before exit$/.test(String(l['msg'])));
  assert.equal(found.length, 1, `one report line; sidecar log:\n${w.pod.log()}`);
  return found[0]!;
}

test('spans reach the collector in protobuf with the pod\'s resource; killed mid-job with the collector slow and failing, the drain delivers everything', async (t) => {
  const w = await startWorld('slow');
  const ok = await runner(w, 'SELECT count(*) FROM items');
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout.trim(), '3');
  await w.receiver.waitFor((e) => e.event === 'spans' && (e.spans as FlatSpan[]).some((s) => s.attributes['db.query.text'] === 'SELECT count(*) FROM items'), 10_000);
  const first = received(w).find((s) => s.attributes['db.query.text'] === 'SELECT count(*) FROM items')!;
  assert.deepEqual(
    Object.fromEntries(['service.name', 'k8s.pod.name', 'k8s.namespace.name', 'k8s.pod.uid', 'k8s.node.name', 'service.instance.id', 'sidegate.ci.system', 'cicd.pipeline.task.run.id', 'cicd.pipeline.task.name'].map((k) => [k, first.resource[k]])),
    {
      'service.name': 'sidegate',
      'k8s.pod.name': 'migrate-slow',
      'k8s.namespace.name': 'ci',
      'k8s.pod.uid': POD_UID,
      'k8s.node.name': 'node-7',
      'service.instance.id': POD_UID,
      'sidegate.ci.system': 'gitlab',
      'cicd.pipeline.task.run.id': '987654',
      'cicd.pipeline.task.name': 'migrate-db',
    },
  );
  const last = w.receiver.events.filter((e) => e.event === 'spans').at(-1)!;
  assert.ok((last.encodings as string[]).length > 0 && (last.encodings as string[]).every((e) => e === 'protobuf'), 'http/protobuf is the default');

  // Mid-job: a statement is running when the pod is killed, and the collector is slow and refuses
  // the next two requests (503, which the exporter retries after a backoff), then answers.
  const job = longRunner(w);
  await new Promise((r) => setTimeout(r, 1000));
  w.receiver.send({ failing: 2 });
  w.receiver.send({ delayMs: 200 });
  await w.receiver.waitFor((e) => e.event === 'ok' && (e.command as { delayMs?: number }).delayMs === 200);
  const killedAt = Date.now();
  const code = await killPod(w);
  job.kill('SIGKILL');
  assert.equal(code, 0, w.pod.log());
  const report = lastAuditLine(w);
  assert.equal(report['msg'], 'audit: every span was delivered before exit', JSON.stringify(report));
  t.diagnostic(`stop took ${Date.now() - killedAt} ms; the receiver answered ${w.receiver.events.filter((e) => e.event === 'spans').at(-1)!['requests']} requests`);
  assert.deepEqual(await spooled(w), [], 'nothing is left in the spool');
  await w.receiver.waitFor((e) => e.event === 'spans' && (e.spans as FlatSpan[]).some((s) => s.attributes['db.query.text'] === 'SELECT pg_sleep(?)' && s.endTimeUnixNano !== '0'), 5_000);
  const all = received(w);
  const sleeper = all.find((s) => s.attributes['db.query.text'] === 'SELECT pg_sleep(?)')!;
  assert.ok(sleeper.status?.code === 2, 'the statement the stop cut short ends as an error');
  assert.equal(verifyChain(all).ok, true, 'one whole chain: no span missing');
});

test('killed mid-job with the collector away: the last log line counts exactly the spans not delivered, and they are all the chain lacks', async (t) => {
  const w = await startWorld('away');
  w.receiver.send({ failing: 1_000_000 });
  await w.receiver.waitFor((e) => e.event === 'ok');
  const ok = await runner(w, 'SELECT count(*) FROM items');
  assert.equal(ok.code, 0, ok.stderr);
  const job = longRunner(w);
  await new Promise((r) => setTimeout(r, 1000));
  const started = Date.now();
  const code = await killPod(w);
  job.kill('SIGKILL');
  const took = Date.now() - started;
  assert.equal(code, 0, w.pod.log());
  // Sessions' grace plus at most two audit drains (the drain's flush, the stop's), and not much more.
  assert.ok(took < GRACE_MS + 2 * AUDIT_DRAIN_MS + 2_500, `the stop took ${took} ms`);
  const report = lastAuditLine(w);
  assert.equal(report['level'], 'error');
  assert.equal(report['msg'], 'audit: spans were not delivered before exit');
  const left = await spooled(w);
  assert.ok(left.length >= 4, `two sessions with a command each, at least (${left.length})`);
  assert.equal(report['undeliveredSpans'], left.length, 'the report counts exactly what the spool holds');
  const oldest = left.map((s) => BigInt(s.startTimeUnixNano)).reduce((a, b) => (a < b ? a : b));
  assert.equal(report['oldestUndeliveredSpanStart'], new Date(Number(oldest / 1_000_000n)).toISOString());
  assert.equal(received(w).length, 0);
  // What was reported is all there is: with nothing received, the spool alone is a whole chain.
  assert.equal(verifyChain(left).ok, true, JSON.stringify(verifyChain(left)));
  assert.ok(left.some((s) => s.attributes['db.query.text'] === 'SELECT pg_sleep(?)'), 'the statement cut short is among them');
  t.diagnostic(`stop took ${took} ms; reported ${String(report['undeliveredSpans'])} undelivered spans, oldest ${String(report['oldestUndeliveredSpanStart'])}`);
});
