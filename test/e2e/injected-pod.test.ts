// End to end without a cluster: a runner pod spec goes to the running webhook as a real
// AdmissionReview over HTTPS; the returned patch is applied; then the patched pod is executed —
// a network namespace plays the pod, the injected init container installs the redirect rules
// with real iptables, the sidecar runs as uid 7331 from the patched spec, and the runner's
// `psql -h <target-ip>` runs unchanged as another uid against a real PostgreSQL in a second
// namespace. Only addresses inside the namespaces this test creates are used.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { createNamespacePair, letOtherUsersReach, mustRun, run, type NamespacePair } from '../netns/network-namespaces.js';
import { startTestIssuer, writeStaticJwks } from '../support/token-issuer.js';
import { startWebhookServer, type WebhookServer } from '../../webhook/admission/webhook-server.js';
import { createStaticNamespaceLookup } from '../../webhook/admission/namespace-lookup.js';
import { parseInjectionConfig } from '../../webhook/config/injection-config.js';
import { applyJsonPatch } from '../support/apply-json-patch.js';
import { makeSelfSignedCertificate } from '../support/self-signed-certificate.js';
import { httpsRequest } from '../support/https-json-client.js';
import { flattenOtlpJson, verifyChain } from '../../sidecar/audit/index.js';
import { prepareContainer, runContainer, startContainer, type PodSpec } from './pod-simulator.js';

const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const PGBIN = '/usr/lib/postgresql/15/bin';
const RUNNER_UID = 65534;

let ns: NamespacePair;
let dir: string;
let webhook: WebhookServer;
let sidecar: ChildProcess | undefined;
let sidecarLog = '';
let pgData: string;
let stateDir: string;
let restoreModes: (() => Promise<void>) | undefined;
/** The pod's projected ServiceAccount token (what the sidecar's token file holds). */
let podToken = '';

async function startPostgresIn(namespace: string, addresses: string[]): Promise<void> {
  pgData = join(dir, 'pg');
  await mustRun(['mkdir', '-p', pgData]);
  await mustRun(['chown', 'postgres:postgres', pgData]);
  await mustRun(['runuser', '-u', 'postgres', '--', `${PGBIN}/initdb`, '-D', pgData, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256']);
  await writeFile(
    join(pgData, 'postgresql.conf'),
    `listen_addresses = '${addresses.join(',')}'\nport = 5432\nunix_socket_directories = '${pgData}'\nfsync = off\n`,
    { flag: 'a' },
  );
  await writeFile(join(pgData, 'pg_hba.conf'), 'local all all trust\nhost all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n');
  await mustRun(['chown', '-R', 'postgres:postgres', pgData]);
  await mustRun(['ip', 'netns', 'exec', namespace, 'runuser', '-u', 'postgres', '--', `${PGBIN}/pg_ctl`, '-D', pgData, '-l', join(pgData, 'log'), '-w', 'start'], { timeoutMs: 60_000 });
  const psql = (sql: string, db = 'postgres') => mustRun(['ip', 'netns', 'exec', namespace, 'runuser', '-u', 'postgres', '--', 'psql', '-X', '-q', '-h', pgData, '-d', db, '-c', sql]);
  await psql("CREATE ROLE app LOGIN PASSWORD 'e2e-Target-Pw-55aa'");
  await psql('CREATE DATABASE shop OWNER app');
  await psql("SET ROLE app; CREATE TABLE items (id int, name text); INSERT INTO items VALUES (1, 'a'), (2, 'b'), (3, 'c');", 'shop');
}

before(async () => {
  // The sidecar (uid 7331) and the runner (65534) run the compiled code from this checkout.
  restoreModes = await letOtherUsersReach(fileURLToPath(new URL('../../', import.meta.url)));
  await mustRun(['sh', '-c', 'id -u 7331 >/dev/null 2>&1 || useradd -u 7331 -M -s /usr/sbin/nologin -U sidegate-e2e']);
  dir = await mkdtemp(join(tmpdir(), 'sidegate-e2e-'));
  await chmod(dir, 0o755);
  ns = await createNamespacePair();
  await startPostgresIn(ns.db, [ns.v4.db, ns.v6.db]);
  const cert = makeSelfSignedCertificate(join(dir));
  webhook = await startWebhookServer({
    host: '127.0.0.1',
    port: 0,
    tls: { certFile: cert.certFile, keyFile: cert.keyFile },
    config: parseInjectionConfig({}),
    namespaceLookup: createStaticNamespaceLookup({ ci: { 'sidegate.dev/inject': 'enabled' } }),
  });

  // The pod a CI system would create: nothing sidegate-specific in it.
  const pod: PodSpec = {
    metadata: { name: 'migrate', namespace: 'ci' },
    spec: { containers: [{ name: 'runner', image: 'postgres:15', command: ['psql', '-h', ns.v4.db, '-U', 'app', '-d', 'shop', '-c', 'SELECT count(*) FROM items'] }] },
  };
  const review = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: randomUUID(), kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'ci', operation: 'CREATE', object: pod, dryRun: false },
  };
  const reply = await httpsRequest(`${webhook.url}/mutate`, { ca: cert.cert, method: 'POST', body: JSON.stringify(review), headers: { 'content-type': 'application/json' } });
  assert.equal(reply.status, 200, reply.text);
  const response = (reply.json as { response: { allowed: boolean; patch: string } }).response;
  assert.equal(response.allowed, true);
  const patched = applyJsonPatch(pod, JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8'))) as PodSpec;
  const init = patched.spec.initContainers!.find((c) => c.name === 'sidegate-init')!;
  const side = patched.spec.initContainers!.find((c) => c.name === 'sidegate')!;
  assert.equal(side.restartPolicy, 'Always', 'native sidecar');

  // What the cluster would put in the volumes: the policy ConfigMap, the credentials Secret and
  // the projected ServiceAccount token (here signed by a test issuer whose JWKS is a file).
  const issuer = await startTestIssuer({ issuer: 'https://kubernetes.default.svc.cluster.local' });
  const jwksFile = join(dir, 'jwks.json');
  await writeStaticJwks(jwksFile, issuer.jwks);
  await chmod(jwksFile, 0o644);
  const saToken = await issuer.sign(
    { sub: 'system:serviceaccount:ci:runner', 'kubernetes.io': { namespace: 'ci', pod: { name: 'migrate' }, serviceaccount: { name: 'runner' } } },
    { expiresIn: '1h' },
  );
  podToken = saToken;
  await issuer.close();
  const policy = `version: 1
identities:
  - name: ci-runners
    issuer: https://kubernetes.default.svc.cluster.local
    audiences: [sidegate]
    jwksFile: ${jwksFile}
    claims: { sub: "system:serviceaccount:ci:*" }
targets:
  - { name: shop-v4, protocol: postgres, address: "${ns.v4.db}:5432", database: shop, tls: { mode: disable }, credentials: { file: shop } }
  - { name: shop-v6, protocol: postgres, address: "[${ns.v6.db}]:5432", database: shop, tls: { mode: disable }, credentials: { file: shop } }
rules:
  - { name: runner-reads, identities: [ci-runners], when: { statements: [read, session, transaction] }, action: allow }
  - { name: no-ddl, when: { statements: [ddl] }, action: deny }
`;
  const volumes = {
    'sidegate-policy': { 'policy.yaml': { content: policy, mode: 0o644, owner: 'root' as const } },
    // As the kubelet writes a Secret with the injected defaultMode 0444: root-owned, world-readable.
    'sidegate-credentials': { 'credentials.yaml': { content: `targets:\n  shop: { username: app, password: "e2e-Target-Pw-55aa" }\n`, mode: 0o444, owner: 'root' as const } },
    'sidegate-token': { token: saToken },
  };
  const entrypoint = [process.execPath, CLI];
  const initProc = await prepareContainer(init, join(dir, 'pod'), volumes, entrypoint);
  const r = await runContainer(ns.pod, initProc);
  assert.equal(r.code, 0, r.stderr);
  const sideProc = await prepareContainer(side, join(dir, 'pod'), volumes, entrypoint);
  stateDir = sideProc.argv[sideProc.argv.indexOf('--state-dir') + 1]!;
  sidecar = startContainer(ns.pod, sideProc);
  sidecar.stdout!.on('data', (d: Buffer) => (sidecarLog += d.toString()));
  sidecar.stderr!.on('data', (d: Buffer) => (sidecarLog += d.toString()));
  const deadline = Date.now() + 30_000;
  while (!/"sidecar ready"/.test(sidecarLog)) {
    if (Date.now() > deadline || sidecar.exitCode !== null) throw new Error(`sidecar did not start:\n${sidecarLog}`);
    await new Promise((res) => setTimeout(res, 100));
  }
});

after(async () => {
  sidecar?.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  if (pgData && ns) await run(['ip', 'netns', 'exec', ns.db, 'runuser', '-u', 'postgres', '--', `${PGBIN}/pg_ctl`, '-D', pgData, '-m', 'immediate', 'stop']);
  await webhook?.close();
  await ns?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
  await restoreModes?.();
});

/**
 * The runner: psql as a non-sidegate uid inside the pod. libpq never sends an empty password, so
 * it presents the pod's ServiceAccount token; a leftover static password is refused (only an
 * empty password falls back to the sidecar's token file, and libpq cannot send one).
 */
function runner(host: string, sql: string, extraEnv: Record<string, string> = {}) {
  return run([
    'ip', 'netns', 'exec', ns.pod, 'setpriv', `--reuid=${RUNNER_UID}`, `--regid=${RUNNER_UID}`, '--clear-groups',
    'env', `PGPASSWORD=${podToken}`, 'PGSSLMODE=disable', 'PGCONNECT_TIMEOUT=10', ...Object.entries(extraEnv).map(([k, v]) => `${k}=${v}`),
    'psql', '-X', '-tA', '-v', 'VERBOSITY=verbose', '-h', host, '-U', 'app', '-d', 'shop', '-c', sql,
  ]);
}

async function spans() {
  // The sidecar writes its audit file in its state directory (no collector in this pod).
  await new Promise((r) => setTimeout(r, 600));
  return flattenOtlpJson(await readFile(join(stateDir, 'audit.otlp.jsonl'), 'utf8'));
}

test('a leftover static password is refused (28P01), never replaced by the pod identity', async () => {
  const r = await runner(ns.v4.db, 'SELECT count(*) FROM items', { PGPASSWORD: 'the-old-static-password' });
  assert.notEqual(r.code, 0, r.stdout);
  assert.match(r.stderr, /the password is not a token/);
});

test('the runner command is captured, identified by the pod token and allowed', async () => {
  const r = await runner(ns.v4.db, 'SELECT count(*) FROM items');
  assert.equal(r.code, 0, r.stderr + sidecarLog);
  assert.equal(r.stdout.trim(), '3');
  const s = await spans();
  const stmt = s.find((x) => x.attributes['db.query.text'] === 'SELECT count(*) FROM items');
  assert.ok(stmt, 'a statement span exists');
  assert.equal(stmt.attributes['server.address'], ns.v4.db, 'the original destination is recorded');
  assert.equal(stmt.attributes['sidegate.identity.subject'], 'system:serviceaccount:ci:runner');
  assert.equal(stmt.attributes['sidegate.decision'], 'allow');
});

test('policy is enforced on captured traffic: a denied statement fails', async () => {
  const r = await runner(ns.v4.db, 'DROP TABLE items');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /42501/);
  assert.match(r.stderr, /no-ddl/);
});

test('bypass: the target IPv6 address directly is captured too', async () => {
  const r = await runner(ns.v6.db, 'SELECT count(*) FROM items');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), '3');
  const s = await spans();
  assert.ok(s.some((x) => x.attributes['server.address'] === ns.v6.db && x.attributes['db.operation.name'] === 'SELECT'));
});

test('bypass: another included port is captured (and refused: no policy names it)', async () => {
  const r = await run(['ip', 'netns', 'exec', ns.pod, 'setpriv', `--reuid=${RUNNER_UID}`, `--regid=${RUNNER_UID}`, '--clear-groups', 'env', 'PGCONNECT_TIMEOUT=5', 'PGSSLMODE=disable', 'psql', '-X', '-h', ns.v4.db, '-p', '3306', '-U', 'app', '-d', 'shop', '-c', 'SELECT 1']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /no policy target/, 'the answer came from sidegate, not from the network');
  const s = await spans();
  assert.ok(s.some((x) => x.attributes['sidegate.rule'] === 'unknown-destination' && x.attributes['server.port'] === 3306));
});

test('bypass: binding a different source address is still captured', async () => {
  const script = `
    const net = require('net');
    const s = net.connect({ host: '${ns.v4.db}', port: 5432, localAddress: '${ns.v4.podAlt}' }, () => {
      const body = Buffer.from('user\\0app\\0database\\0shop\\0\\0');
      const head = Buffer.alloc(8); head.writeInt32BE(8 + body.length, 0); head.writeInt32BE(196608, 4);
      s.write(Buffer.concat([head, body]));
    });
    s.once('data', (d) => { process.stdout.write(String.fromCharCode(d[0]) + ':' + d.readInt32BE(5)); s.destroy(); });
    s.on('error', (e) => { process.stdout.write('error:' + e.message); });
  `;
  const r = await run(['ip', 'netns', 'exec', ns.pod, 'setpriv', `--reuid=${RUNNER_UID}`, `--regid=${RUNNER_UID}`, '--clear-groups', process.execPath, '-e', script]);
  // sidegate asks for the token (AuthenticationCleartextPassword = 3); PostgreSQL itself would
  // have asked for SCRAM (10).
  assert.equal(r.stdout.trim(), 'R:3', r.stderr);
});

test('the audit trail of the pod is complete and hash-chained', async () => {
  const s = await spans();
  assert.ok(s.length >= 5);
  assert.equal(verifyChain(s).ok, true);
});
