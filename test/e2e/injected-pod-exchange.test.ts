// The issue's "Done when" for the token exchange, end to end without a cluster: the webhook,
// configured with the exchange's URL and CA, injects a runner pod that holds no database password
// (no credentials Secret, only a projected token of the exchange's audience); its sidecar (uid 7331,
// in a network namespace playing the pod) obtains a per-pod login from a real `sidegate exchange`
// running on the cluster network (the db namespace) against a real PostgreSQL 15 there. The role
// exists while the job runs and is gone when the sidecar stops (revocation); a pod killed with
// SIGKILL leaves its role to the exchange's sweeper, which drops it after its expiry. Tokens for
// another audience, expired ones and identities without a grant are refused with RFC 8693's error,
// and the runner's client gets a PostgreSQL error that says why. Only addresses inside the
// namespaces this test creates are used.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile, readdir, chmod, copyFile, chown } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { createNamespacePair, letOtherUsersReach, mustRun, run, spawnInNamespace, type NamespacePair } from '../netns/network-namespaces.js';
import { watchJsonLines, type JsonLinesProcess } from '../netns/json-lines-process.js';
import { startTestIssuer, writeStaticJwks } from '../support/token-issuer.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../support/self-signed-certificate.js';
import { startWebhookServer, type WebhookServer } from '../../webhook/admission/webhook-server.js';
import { createStaticNamespaceLookup } from '../../webhook/admission/namespace-lookup.js';
import { parseInjectionConfig } from '../../webhook/config/injection-config.js';
import { flattenOtlpJson } from '../../core/audit/index.js';
import type { PodSpec, VolumeContents } from './pod-simulator.js';
import { admitPod, CLI, runPatchedPod, startPodPostgres, RUNNER_UID, type InjectedSidecar, type PodPostgres } from './injected-pod-harness.js';

const CLUSTER_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const EXCHANGE_AUDIENCE = 'sidegate-exchange';
const APP_PASSWORD = 'e2e-App-Pw-never-in-the-pod';
const ADMIN_PASSWORD = 'e2e-Exchange-Admin-Pw-77';
const EGRESS_SERVERS = fileURLToPath(new URL('./fixtures/egress-servers.js', import.meta.url));
const ROLE_PREFIX = 'sidegate_x_';
const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';

let ns: NamespacePair;
let dir: string;
let restoreModes: (() => Promise<void>) | undefined;
let postgres: PodPostgres | undefined;
let webhook: WebhookServer | undefined;
let webhookCa: string;
let jwksServer: JsonLinesProcess | undefined;
let exchange: ChildProcess | undefined;
let exchangeLog = '';
let exchangeTls: TestCertificate;
let exchangeUrl: string;
let patched: PodSpec;
let policy: string;
const tokens: Record<'identity' | 'exchange' | 'otherAudience' | 'expired' | 'noGrant', string> = { identity: '', exchange: '', otherAudience: '', expired: '', noGrant: '' };
const pods: InjectedSidecar[] = [];
let podRun = 0;

const issuedRoles = async () => (await postgres!.psql(`SELECT rolname FROM pg_roles WHERE starts_with(rolname, '${ROLE_PREFIX}') ORDER BY 1`)).split('\n').filter((r) => r !== '');

async function waitUntil<T>(probe: () => Promise<T | undefined>, timeoutMs: number, why: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(why());
    await new Promise((r) => setTimeout(r, 250));
  }
}

before(async () => {
  restoreModes = await letOtherUsersReach(fileURLToPath(new URL('../../', import.meta.url)));
  await mustRun(['sh', '-c', 'id -u 7331 >/dev/null 2>&1 || useradd -u 7331 -M -s /usr/sbin/nologin -U sidegate-e2e']);
  dir = await mkdtemp(join(tmpdir(), 'sidegate-e2e-exchange-'));
  await chmod(dir, 0o755);
  ns = await createNamespacePair();

  // The database, with TLS (the exchange always verifies its targets), the exchange's admin login
  // (CREATEROLE, nothing more) and the template role a runner's login is made a member of.
  postgres = await startPodPostgres(dir, ns.db, [ns.v4.db], APP_PASSWORD);
  const pgTls = makeSelfSignedCertificate(dir, 'pg', [`IP:${ns.v4.db}`]);
  for (const [from, to] of [[pgTls.certFile, 'server.crt'], [pgTls.keyFile, 'server.key']] as const) {
    await copyFile(from, join(postgres.pgData, to));
    await chmod(join(postgres.pgData, to), 0o600);
    await mustRun(['chown', 'postgres:postgres', join(postgres.pgData, to)]);
  }
  await postgres.psql(`ALTER SYSTEM SET ssl = on`);
  await postgres.psql(`SELECT pg_reload_conf()`);
  await postgres.psql(`CREATE ROLE sidegate_admin LOGIN CREATEROLE PASSWORD '${ADMIN_PASSWORD}'`);
  await postgres.psql(`CREATE ROLE shop_reader NOLOGIN`);
  await postgres.psql(`GRANT SELECT ON items TO shop_reader`, 'shop');

  // The cluster's ServiceAccount issuer; its JWKS served over HTTPS on the cluster network.
  const cluster = await startTestIssuer({ issuer: CLUSTER_ISSUER });
  const jwksRoot = join(dir, 'jwks-root');
  await mustRun(['mkdir', '-p', jwksRoot]);
  await writeStaticJwks(join(jwksRoot, 'jwks.json'), cluster.jwks);
  const jwksTls = makeSelfSignedCertificate(dir, 'jwks', [`IP:${ns.v4.dbOther}`]);
  jwksServer = watchJsonLines(spawnInNamespace(ns.db, [process.execPath, EGRESS_SERVERS, jwksRoot, jwksTls.certFile, jwksTls.keyFile, `${ns.v4.dbOther}:443`, `${ns.v4.dbOther}:80`]), 'jwks server');
  await jwksServer.waitFor((e) => e['event'] === 'ready', 10_000);
  const pod = (name: string, sa = 'runner') => ({ sub: `system:serviceaccount:ci:${sa}`, 'kubernetes.io': { namespace: 'ci', pod: { name, uid: `uid-${name}` }, serviceaccount: { name: sa, uid: `sa-${sa}` } } });
  tokens.identity = await cluster.sign(pod('migrate'), { audience: 'sidegate', expiresIn: '1h' });
  tokens.exchange = await cluster.sign(pod('migrate'), { audience: EXCHANGE_AUDIENCE, expiresIn: '1h' });
  tokens.otherAudience = tokens.identity;
  tokens.expired = await cluster.sign(pod('migrate'), { audience: EXCHANGE_AUDIENCE, expiresIn: -120 });
  tokens.noGrant = await cluster.sign(pod('migrate', 'intruder'), { audience: EXCHANGE_AUDIENCE, expiresIn: '1h' });
  await cluster.close();
  const clusterJwks = join(dir, 'cluster-jwks.json');
  await writeStaticJwks(clusterJwks, JSON.parse(await readFile(join(jwksRoot, 'jwks.json'), 'utf8')) as { keys: unknown[] });
  await chmod(clusterJwks, 0o644);

  // The exchange on its Service address, as `sidegate exchange` runs in the control plane.
  const exchangeAddress = ns.v4.dbAlt;
  exchangeUrl = `https://${exchangeAddress}:8443`;
  exchangeTls = makeSelfSignedCertificate(dir, 'exchange', [`IP:${exchangeAddress}`]);
  await writeFile(join(dir, 'admin-password'), ADMIN_PASSWORD, { mode: 0o600 });
  const config = join(dir, 'exchange.yaml');
  await writeFile(
    config,
    JSON.stringify({
      issuers: [{ issuer: CLUSTER_ISSUER, audience: EXCHANGE_AUDIENCE, kubernetes: true, jwksUrl: `https://${ns.v4.dbOther}/jwks.json`, caFile: jwksTls.certFile }],
      targets: [
        {
          name: 'shop', protocol: 'postgres', host: ns.v4.db, port: 5432, database: 'shop',
          tls: { caFile: pgTls.certFile, serverName: 'localhost' },
          admin: { username: 'sidegate_admin', passwordFile: join(dir, 'admin-password') },
        },
      ],
      grants: [{ name: 'ci-runners', issuer: CLUSTER_ISSUER, subject: 'system:serviceaccount:ci:runner', claims: { 'kubernetes.io.namespace': 'ci' }, target: 'shop', roles: ['shop_reader'], ttl: '1m' }],
      sweepInterval: '2s',
      audit: { stateDir: join(dir, 'exchange-audit') },
    }),
  );
  exchange = spawnInNamespace(ns.db, [process.execPath, CLI, 'exchange', '--config', config, '--tls-cert', exchangeTls.certFile, '--tls-key', exchangeTls.keyFile, '--host', exchangeAddress, '--port', '8443']);
  exchange.stdout!.on('data', (d: Buffer) => (exchangeLog += d.toString()));
  exchange.stderr!.on('data', (d: Buffer) => (exchangeLog += d.toString()));
  await waitUntil(async () => (/sidegate exchange: listening on/.test(exchangeLog) ? true : undefined), 30_000, () => `exchange did not start:\n${exchangeLog}`);

  // The webhook as the chart configures it with the exchange deployed beside it.
  const webhookTls = makeSelfSignedCertificate(dir, 'webhook');
  webhookCa = webhookTls.cert;
  webhook = await startWebhookServer({
    host: '127.0.0.1',
    port: 0,
    tls: { certFile: webhookTls.certFile, keyFile: webhookTls.keyFile },
    config: parseInjectionConfig({ exchangeUrl, exchangeCaConfigMap: 'sidegate-exchange-ca' }),
    namespaceLookup: createStaticNamespaceLookup({ ci: { 'sidegate.dev/inject': 'enabled' } }),
  });
  const spec: PodSpec = {
    metadata: { name: 'migrate', namespace: 'ci' },
    spec: { containers: [{ name: 'runner', image: 'postgres:15', command: ['psql', '-h', ns.v4.db, '-U', 'app', '-d', 'shop', '-c', 'SELECT count(*) FROM items'] }] },
  };
  patched = await admitPod({ url: webhook.url, ca: webhookCa }, spec);
  policy = `version: 1
identities:
  - name: ci-runners
    issuer: ${CLUSTER_ISSUER}
    audiences: [sidegate]
    jwksFile: ${clusterJwks}
    claims: { sub: "system:serviceaccount:ci:*" }
targets:
  - { name: shop, protocol: postgres, address: "${ns.v4.db}:5432", database: shop, tls: { mode: disable }, credentials: { exchange: {} } }
rules:
  - { name: runner-reads, identities: [ci-runners], when: { statements: [read, session, transaction] }, action: allow }
`;
});

after(async () => {
  for (const p of pods) p.sidecar.kill('SIGKILL');
  exchange?.kill('SIGTERM');
  await jwksServer?.stop();
  await new Promise((r) => setTimeout(r, 300));
  await webhook?.close();
  await postgres?.stop();
  await ns?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
  await restoreModes?.();
});

/** Runs the patched pod again (a new pod on the same node): its volumes as the kubelet fills them. */
async function startPod(exchangeToken: string): Promise<InjectedSidecar> {
  const volumes: VolumeContents = {
    'sidegate-policy': { 'policy.yaml': { content: policy, mode: 0o644, owner: 'root' } },
    'sidegate-token': { token: tokens.identity, 'exchange-token': exchangeToken },
    'sidegate-exchange-ca': { 'ca.crt': { content: exchangeTls.cert, mode: 0o644, owner: 'root' } },
  };
  const pod = await runPatchedPod(ns.pod, patched, volumes, join(dir, `pod-${++podRun}`));
  pods.push(pod);
  return pod;
}

/** The runner's unchanged psql (uid 65534), presenting the pod's identity token as libpq must. */
function runner(sql: string) {
  return run([
    'ip', 'netns', 'exec', ns.pod, 'setpriv', `--reuid=${RUNNER_UID}`, `--regid=${RUNNER_UID}`, '--clear-groups',
    'env', `PGPASSWORD=${tokens.identity}`, 'PGSSLMODE=disable', 'PGCONNECT_TIMEOUT=10',
    'psql', '-X', '-tA', '-v', 'VERBOSITY=verbose', '-h', ns.v4.db, '-U', 'app', '-d', 'shop', '-c', sql,
  ]);
}

async function stopped(pod: InjectedSidecar, signal: NodeJS.Signals): Promise<void> {
  const exited = new Promise((r) => pod.sidecar.once('exit', r));
  pod.sidecar.kill(signal);
  await exited;
}

/** Every regular file under `root`, read as text. */
async function filesUnder(root: string): Promise<string[]> {
  const texts: string[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) texts.push(await readFile(join(entry.parentPath, entry.name), 'utf8').catch(() => ''));
  }
  return texts;
}

let first: InjectedSidecar;
let firstRole = '';

test('the injected pod mounts no database password: no credentials Secret, an exchange token instead', async () => {
  const volumes = patched.spec.volumes as { name: string; secret?: unknown; projected?: { sources: { serviceAccountToken?: { audience: string; path: string } }[] } }[];
  assert.ok(!volumes.some((v) => v.secret !== undefined), 'no Secret volume at all');
  const projected = volumes.find((v) => v.name === 'sidegate-token')!.projected!.sources.map((s) => [s.serviceAccountToken!.audience, s.serviceAccountToken!.path]);
  assert.deepEqual(projected, [['sidegate', 'token'], [EXCHANGE_AUDIENCE, 'exchange-token']]);
  const sidecar = patched.spec.initContainers!.find((c) => c.name === 'sidegate')!;
  assert.ok(!sidecar.args!.includes('--credentials'));
  assert.equal(sidecar.args![sidecar.args!.indexOf('--exchange-url') + 1], exchangeUrl);
  first = await startPod(tokens.exchange);
  for (const text of await filesUnder(join(dir, 'pod-1'))) {
    assert.ok(!text.includes(APP_PASSWORD) && !text.includes(ADMIN_PASSWORD), 'no database password in any file of the pod');
  }
});

test('the runner\'s statement runs with a per-pod login the exchange created; PostgreSQL shows it while the job runs', async () => {
  const r = await runner('SELECT current_user, count(*) FROM items');
  assert.equal(r.code, 0, r.stderr + first.log() + exchangeLog);
  const [user, count] = r.stdout.trim().split('|');
  assert.equal(count, '3');
  assert.ok(user!.startsWith(ROLE_PREFIX), user);
  assert.deepEqual(await issuedRoles(), [user], 'the created role, one for the pod');
  firstRole = user!;
  const again = await runner('SELECT current_user');
  assert.equal(again.stdout.trim(), firstRole, 'a second session of the job reuses the login');
  await new Promise((r) => setTimeout(r, 600));
  const spans = flattenOtlpJson(await readFile(join(first.stateDir, 'audit.otlp.jsonl'), 'utf8'));
  const sessions = spans.filter((s) => s.attributes['sidegate.credential.login'] === firstRole);
  assert.equal(sessions.length, 2, 'each session span names the login');
  assert.match(first.log(), /credential obtained by token exchange/);
  assert.ok(!first.log().includes(tokens.exchange), 'the exchange token is not logged');
});

test('the sidecar stopping (SIGTERM) revokes the login: the role is gone', async () => {
  await stopped(first, 'SIGTERM');
  assert.match(first.log(), /credential revoked/);
  assert.deepEqual(await issuedRoles(), []);
  assert.match(exchangeLog, /revocation revoked/);
});

let killedRole = '';
let killedAt = 0;

test('a pod killed without shutdown (SIGKILL) leaves its role to the sweeper', async () => {
  const pod = await startPod(tokens.exchange);
  const r = await runner('SELECT current_user');
  assert.equal(r.code, 0, r.stderr + pod.log());
  killedRole = r.stdout.trim();
  await stopped(pod, 'SIGKILL');
  killedAt = Date.now();
  assert.deepEqual(await issuedRoles(), [killedRole], 'no revocation: the role outlives the pod until it expires');
});

test('refused: a token for another audience, an expired one, an identity without a grant get the RFC error', async () => {
  const post = (subjectToken: string) =>
    run([
      'ip', 'netns', 'exec', ns.pod, 'curl', '-sS', '--max-time', '10', '--cacert', exchangeTls.certFile, `${exchangeUrl}/v1/token`,
      '-d', `grant_type=${GRANT_TYPE}`, '-d', 'subject_token_type=urn:ietf:params:oauth:token-type:jwt', '-d', 'audience=shop',
      '--data-urlencode', `subject_token=${subjectToken}`, '-w', '\n%{http_code}',
    ]);
  for (const [name, token, error, description] of [
    ['another audience', tokens.otherAudience, 'invalid_request', /aud/],
    ['expired', tokens.expired, 'invalid_request', /exp/],
    ['no grant', tokens.noGrant, 'invalid_target', /grant/],
  ] as const) {
    const r = await post(token);
    const [body, status] = r.stdout.trim().split('\n');
    assert.equal(status, '400', `${name}: ${r.stdout}${r.stderr}`);
    const answer = JSON.parse(body!) as { error: string; error_description: string };
    assert.equal(answer.error, error, name);
    assert.match(answer.error_description, description, name);
  }
  assert.deepEqual(await issuedRoles(), [killedRole], 'nothing created');
  assert.match(exchangeLog, /exchange refused/);
  // Each refusal is evidence too: a span in the exchange's own audit trail, with the RFC's error.
  const refusals = flattenOtlpJson(await readFile(join(dir, 'exchange-audit', 'audit.otlp.jsonl'), 'utf8')).map((x) => x.attributes['sidegate.exchange.error']);
  for (const error of ['invalid_request', 'invalid_target']) assert.ok(refusals.includes(error), `a refusal span with ${error}: ${JSON.stringify(refusals)}`);
});

test('refused: the runner\'s client gets a PostgreSQL error saying why, nothing reaches the target', async () => {
  for (const [token, error] of [[tokens.noGrant, 'invalid_target'], [tokens.expired, 'invalid_request']] as const) {
    const pod = await startPod(token);
    const r = await runner('SELECT count(*) FROM items');
    assert.notEqual(r.code, 0, r.stdout);
    // psql shows no SQLSTATE for a failed connection; the integration test reads 28000 itself.
    assert.match(r.stderr, new RegExp(`FATAL: +sidegate: cannot log in to target "shop": the token exchange refused a credential for target "shop": ${error}`));
    await stopped(pod, 'SIGTERM');
    const session = flattenOtlpJson(await readFile(join(pod.stateDir, 'audit.otlp.jsonl'), 'utf8')).find((s) => s.attributes['error.type'] === 'refused');
    assert.ok(session, 'the refused login is audited');
  }
  assert.deepEqual(await issuedRoles(), [killedRole], 'no login was created for a refused pod');
});

test('after its expiry the sweeper drops the killed pod\'s role', { timeout: 120_000 }, async () => {
  await waitUntil(async () => ((await issuedRoles()).length === 0 ? true : undefined), 100_000, () => `role ${killedRole} still there ${Math.round((Date.now() - killedAt) / 1000)} s after the kill:\n${exchangeLog.slice(-2000)}`);
  assert.ok(Date.now() - killedAt > 30_000, 'not before it expired (1 min after it was issued)');
  assert.ok(!exchangeLog.includes(ADMIN_PASSWORD) && !exchangeLog.includes(tokens.exchange), 'the exchange logs no secret');
});
