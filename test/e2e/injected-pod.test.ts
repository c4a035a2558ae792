// End to end without a cluster: a runner pod spec goes to the running webhook as a real
// AdmissionReview over HTTPS; the returned patch is applied; then the patched pod is executed —
// a network namespace plays the pod, the injected init container installs the redirect rules
// with real iptables, the sidecar runs as uid 7331 from the patched spec, and the runner's
// `psql -h <target-ip>` runs unchanged as another uid against a real PostgreSQL in a second
// namespace. The same runner's `git clone` over HTTPS and `curl` must keep working: with the
// injection defaults they are not captured; a second pod that asks for ports 80 and 443 to be
// captured too gets them relayed untouched (egress passthrough) and audited per connection.
// Only addresses inside the namespaces this test creates are used.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { createNamespacePair, letOtherUsersReach, mustRun, run, type NamespacePair } from '../netns/network-namespaces.js';
import { startTestIssuer, writeStaticJwks } from '../support/token-issuer.js';
import { startWebhookServer, type WebhookServer } from '../../webhook/admission/webhook-server.js';
import { createStaticNamespaceLookup } from '../../webhook/admission/namespace-lookup.js';
import { parseInjectionConfig } from '../../webhook/config/injection-config.js';
import { makeSelfSignedCertificate } from '../support/self-signed-certificate.js';
import { flattenOtlpJson, verifyChain } from '../../core/audit/index.js';
import type { PodSpec, VolumeContents } from './pod-simulator.js';
import { admitPod, podRunnerIdentities, runPatchedPod, startPodPostgres, RUNNER_UID, type PodPostgres } from './injected-pod-harness.js';
import { watchJsonLines, type JsonLinesProcess } from '../netns/json-lines-process.js';
import { spawnInNamespace } from '../netns/network-namespaces.js';

const TARGET_PASSWORD = 'e2e-Target-Pw-55aa';
const EGRESS_SERVERS = fileURLToPath(new URL('./fixtures/egress-servers.js', import.meta.url));

/** A pod made from a patched spec: its sidecar process, where it keeps state, what it logged. */
interface RunningPod {
  ns: NamespacePair;
  sidecar: ChildProcess;
  stateDir: string;
  log: () => string;
}

let ns: NamespacePair;
let dir: string;
let webhook: WebhookServer;
let webhookCa: string;
let pod: RunningPod;
/** The second pod: ports 80 and 443 captured too, egress passthrough with one refuse rule. */
let widePod: RunningPod | undefined;
let nsWide: NamespacePair | undefined;
const servers: JsonLinesProcess[] = [];
let wideServers: JsonLinesProcess;
let postgres: PodPostgres | undefined;
let jwksFile: string;
/** CA of the git/web fixture's HTTPS certificate (for GIT_SSL_CAINFO / curl --cacert). */
let fixtureCaFile: string;
let repoDir: string;
let restoreModes: (() => Promise<void>) | undefined;
/** The pod's projected ServiceAccount token (what the sidecar's token file holds). */
let podToken = '';

/** Runs the patched pod in `pair.pod` with what the cluster would put in its volumes. */
async function runPod(pair: NamespacePair, patched: PodSpec, policy: string, root: string): Promise<RunningPod> {
  const volumes: VolumeContents = {
    'sidegate-policy': { 'policy.yaml': { content: policy, mode: 0o644, owner: 'root' } },
    // As the kubelet writes a Secret with the injected defaultMode 0444: root-owned, world-readable.
    'sidegate-credentials': { 'credentials.yaml': { content: `targets:\n  shop: { username: app, password: "${TARGET_PASSWORD}" }\n`, mode: 0o444, owner: 'root' } },
    'sidegate-token': { token: podToken },
  };
  return { ns: pair, ...(await runPatchedPod(pair.pod, patched, volumes, root)) };
}

/** The git repository and web endpoint a CI job fetches from, served in `namespace` (+ a sink at `sinkAddr`). */
async function startEgressServers(namespace: string, address: string, cert: { certFile: string; keyFile: string }, sinkAddr?: string): Promise<JsonLinesProcess> {
  const argv = ['node', EGRESS_SERVERS, repoDir, cert.certFile, cert.keyFile, `${address}:443`, `0.0.0.0:80`, ...(sinkAddr ? [sinkAddr] : [])];
  const p = watchJsonLines(spawnInNamespace(namespace, argv), `egress servers in ${namespace}`);
  servers.push(p);
  await p.waitFor((e) => e.event === 'ready', 10_000);
  return p;
}

/** A bare repository with one commit, prepared for git's dumb HTTP protocol. */
async function makeRepository(): Promise<string> {
  const src = join(dir, 'repo-src');
  const git = (...args: string[]) => mustRun(['git', '-c', 'user.name=e2e', '-c', 'user.email=e2e@example.invalid', '-c', 'init.defaultBranch=main', ...args]);
  await git('init', '-q', src);
  await writeFile(join(src, 'README'), 'cloned through the pod\n');
  await git('-C', src, 'add', 'README');
  await git('-C', src, 'commit', '-q', '-m', 'first');
  const bare = join(dir, 'www', 'repo.git');
  await git('clone', '-q', '--bare', src, bare);
  await git('-C', bare, 'update-server-info');
  return join(dir, 'www');
}

before(async () => {
  // The sidecar (uid 7331) and the runner (65534) run the compiled code from this checkout.
  restoreModes = await letOtherUsersReach(fileURLToPath(new URL('../../', import.meta.url)));
  await mustRun(['sh', '-c', 'id -u 7331 >/dev/null 2>&1 || useradd -u 7331 -M -s /usr/sbin/nologin -U sidegate-e2e']);
  dir = await mkdtemp(join(tmpdir(), 'sidegate-e2e-'));
  await chmod(dir, 0o755);
  ns = await createNamespacePair();
  postgres = await startPodPostgres(dir, ns.db, [ns.v4.db, ns.v6.db], TARGET_PASSWORD);
  const cert = makeSelfSignedCertificate(join(dir));
  webhookCa = cert.cert;
  webhook = await startWebhookServer({
    host: '127.0.0.1',
    port: 0,
    tls: { certFile: cert.certFile, keyFile: cert.keyFile },
    config: parseInjectionConfig({}),
    namespaceLookup: createStaticNamespaceLookup({ ci: { 'sidegate.dev/inject': 'enabled' } }),
  });

  // The pod's projected ServiceAccount token, signed by a test issuer whose JWKS is a file.
  const issuer = await startTestIssuer({ issuer: 'https://kubernetes.default.svc.cluster.local' });
  jwksFile = join(dir, 'jwks.json');
  await writeStaticJwks(jwksFile, issuer.jwks);
  await chmod(jwksFile, 0o644);
  podToken = await issuer.sign(
    { sub: 'system:serviceaccount:ci:runner', 'kubernetes.io': { namespace: 'ci', pod: { name: 'migrate' }, serviceaccount: { name: 'runner' } } },
    { expiresIn: '1h' },
  );
  await issuer.close();

  // The git server and web endpoint, with a certificate for their names.
  const fixtureDir = join(dir, 'fixture-tls');
  await mustRun(['mkdir', '-p', fixtureDir]);
  await chmod(fixtureDir, 0o755);
  const fixtureCert = makeSelfSignedCertificate(fixtureDir, 'git', ['DNS:git.test', 'DNS:db.test']);
  fixtureCaFile = fixtureCert.certFile;
  await chmod(fixtureCaFile, 0o644);
  repoDir = await makeRepository();
  await startEgressServers(ns.db, ns.v4.db, fixtureCert);

  // The pod a CI system would create: nothing sidegate-specific in it.
  const spec: PodSpec = {
    metadata: { name: 'migrate', namespace: 'ci' },
    spec: { containers: [{ name: 'runner', image: 'postgres:15', command: ['psql', '-h', ns.v4.db, '-U', 'app', '-d', 'shop', '-c', 'SELECT count(*) FROM items'] }] },
  };
  pod = await runPod(ns, await admitPod({ url: webhook.url, ca: webhookCa }, spec), podPolicy(`${ns.v4.db}:5432`, `[${ns.v6.db}]:5432`), join(dir, 'pod'));

  // The second pod asks for HTTP and HTTPS to be captured as well. Its target's address has only
  // a connection sink behind it; dbOther stands for a destination an operator refuses.
  nsWide = await createNamespacePair();
  wideServers = await startEgressServers(nsWide.db, nsWide.v4.db, fixtureCert, `${nsWide.v4.dbAlt}:5432`);
  const wideSpec: PodSpec = {
    metadata: { name: 'build', namespace: 'ci', annotations: { 'traffic.sidegate.dev/include-outbound-ports': '5432,80,443' } },
    spec: { containers: [{ name: 'runner', image: 'alpine/git', command: ['git', 'clone', 'https://git.test/repo.git'] }] },
  };
  const widePolicy =
    podPolicy(`${nsWide.v4.dbAlt}:5432`, `[${nsWide.v6.dbAlt}]:5432`) +
    `egress:\n  default: passthrough\n  rules:\n    - { name: no-other-host, destinations: ["${nsWide.v4.dbOther}/32"], action: refuse }\n`;
  widePod = await runPod(nsWide, await admitPod({ url: webhook.url, ca: webhookCa }, wideSpec), widePolicy, join(dir, 'pod-wide'));
});

function podPolicy(v4Target: string, v6Target: string): string {
  return `${podRunnerIdentities(jwksFile)}targets:
  - { name: shop-v4, protocol: postgres, address: "${v4Target}", database: shop, tls: { mode: disable }, credentials: { file: shop } }
  - { name: shop-v6, protocol: postgres, address: "${v6Target}", database: shop, tls: { mode: disable }, credentials: { file: shop } }
rules:
  - { name: runner-reads, identities: [ci-runners], when: { statements: [read, session, transaction] }, action: allow }
  - { name: no-ddl, when: { statements: [ddl] }, action: deny }
`;
}

after(async () => {
  for (const p of [pod, widePod]) p?.sidecar.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  for (const p of servers) await p.stop();
  await postgres?.stop();
  await webhook?.close();
  await ns?.destroy();
  await nsWide?.destroy();
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

async function spans(of: RunningPod = pod) {
  // The sidecar writes its audit file in its state directory (no collector in this pod).
  await new Promise((r) => setTimeout(r, 600));
  return flattenOtlpJson(await readFile(join(of.stateDir, 'audit.otlp.jsonl'), 'utf8'));
}

type FlatSpans = Awaited<ReturnType<typeof spans>>;

/** Spans of `of` until one matches (a relayed connection's span ends when both sides have closed). */
async function spanWhere(of: RunningPod, match: (s: FlatSpans[number]) => boolean): Promise<FlatSpans[number]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = (await spans(of)).find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no matching span; sidecar log:\n${of.log()}`);
  }
}

/** Any command as the runner (uid 65534) inside `pair`'s pod namespace. */
function asRunner(pair: NamespacePair, argv: string[], env: Record<string, string> = {}) {
  return run(
    ['ip', 'netns', 'exec', pair.pod, 'setpriv', `--reuid=${RUNNER_UID}`, `--regid=${RUNNER_UID}`, '--clear-groups', 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv],
    { timeoutMs: 60_000 },
  );
}

/** `git clone https://git.test/repo.git` as the runner, git.test resolving to `address`; the cloned README or the failure. */
async function gitClone(pair: NamespacePair, address: string): Promise<{ code: number | null; readme: string; stderr: string }> {
  const home = await mkdtemp(join(dir, 'clone-'));
  await chmod(home, 0o755);
  await mustRun(['chown', `${RUNNER_UID}:${RUNNER_UID}`, home]);
  const r = await asRunner(pair, ['git', '-c', `http.curloptResolve=git.test:443:${address}`, 'clone', '-q', 'https://git.test/repo.git', join(home, 'repo')], {
    HOME: home,
    GIT_SSL_CAINFO: fixtureCaFile,
    GIT_TERMINAL_PROMPT: '0',
  });
  const readme = r.code === 0 ? await readFile(join(home, 'repo', 'README'), 'utf8') : '';
  return { code: r.code, readme, stderr: r.stderr };
}

/** `curl` as the runner, `name` resolving to `address`. */
function curl(pair: NamespacePair, url: string, name: string, port: number, address: string) {
  return asRunner(pair, ['curl', '-sS', '--max-time', '10', '--cacert', fixtureCaFile, '--resolve', `${name}:${port}:${address}`, url]);
}

test('a leftover static password is refused (28P01), never replaced by the pod identity', async () => {
  const r = await runner(ns.v4.db, 'SELECT count(*) FROM items', { PGPASSWORD: 'the-old-static-password' });
  assert.notEqual(r.code, 0, r.stdout);
  assert.match(r.stderr, /the password is not a token/);
});

test('the runner command is captured, identified by the pod token and allowed', async () => {
  const r = await runner(ns.v4.db, 'SELECT count(*) FROM items');
  assert.equal(r.code, 0, r.stderr + pod.log());
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

test('every address on port 5432 is captured: a PostgreSQL connection no target names is refused (guarded protocol) and audited', async () => {
  // A database sidegate guards reached at another address must not be relayed by the default.
  const r = await asRunner(ns, ['psql', '-X', '-h', ns.v4.dbAlt, '-U', 'app', '-d', 'shop', '-c', 'SELECT 1'], { PGCONNECT_TIMEOUT: '5', PGSSLMODE: 'disable' });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /egress-guarded-protocol/);
  const span = await spanWhere(pod, (x) => x.attributes['server.address'] === ns.v4.dbAlt && x.attributes['server.port'] === 5432);
  assert.equal(span.attributes['sidegate.decision'], 'deny');
  assert.equal(span.attributes['sidegate.rule'], 'egress-guarded-protocol');
  assert.equal(span.attributes['sidegate.protocol'], 'postgres');
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

test('with the injection defaults only the database ports are captured: git clone over HTTPS and curl work untouched', async () => {
  const nat = await mustRun(['ip', 'netns', 'exec', ns.pod, 'iptables-save', '-t', 'nat']);
  assert.match(nat, /--dport 5432 -j SIDEGATE_REDIRECT/);
  assert.match(nat, /--dport 3306 -j SIDEGATE_REDIRECT/);
  assert.doesNotMatch(nat, /--dport (80|443|22) -j SIDEGATE_REDIRECT/);
  const clone = await gitClone(ns, ns.v4.db);
  assert.equal(clone.code, 0, clone.stderr);
  assert.equal(clone.readme, 'cloned through the pod\n');
  const web = await curl(ns, 'http://web.test/hello', 'web.test', 80, ns.v4.db);
  assert.equal(web.code, 0, web.stderr);
  assert.equal(web.stdout, 'hello from the web fixture\n');
  const s = await spans();
  assert.ok(!s.some((x) => x.attributes['server.port'] === 443 || x.attributes['server.port'] === 80), 'not captured, so not audited');
});

test('ports 80 and 443 captured too: git clone and curl are relayed untouched, one span per connection', async () => {
  const nat = await mustRun(['ip', 'netns', 'exec', nsWide!.pod, 'iptables-save', '-t', 'nat']);
  assert.match(nat, /--dport 443 -j SIDEGATE_REDIRECT/);
  assert.match(nat, /--dport 80 -j SIDEGATE_REDIRECT/);
  const clone = await gitClone(nsWide!, nsWide!.v4.db);
  assert.equal(clone.code, 0, clone.stderr + widePod!.log());
  assert.equal(clone.readme, 'cloned through the pod\n');
  const https = await spanWhere(widePod!, (x) => x.attributes['server.port'] === 443);
  assert.equal(https.attributes['server.address'], nsWide!.v4.db);
  assert.equal(https.attributes['sidegate.decision'], 'passthrough');
  assert.equal(https.attributes['sidegate.rule'], 'egress-default');
  assert.equal(https.attributes['sidegate.protocol'], 'tls');
  assert.equal(https.attributes['tls.client.server_name'], 'git.test');
  assert.ok(Number(https.attributes['sidegate.egress.bytes_to_server']) > 0);
  assert.ok(Number(https.attributes['sidegate.egress.bytes_to_client']) > 0);
  assert.equal(typeof https.attributes['client.port'], 'number');
  assert.ok(wideServers.events.some((e) => e.event === 'request' && e.host === 'git.test' && String(e.path).endsWith('info/refs')));

  const web = await curl(nsWide!, 'http://web.test/hello', 'web.test', 80, nsWide!.v4.db);
  assert.equal(web.code, 0, web.stderr);
  assert.equal(web.stdout, 'hello from the web fixture\n');
  const http = await spanWhere(widePod!, (x) => x.attributes['server.port'] === 80);
  assert.equal(http.attributes['sidegate.decision'], 'passthrough');
  assert.equal(http.attributes['sidegate.protocol'], 'http');
  assert.equal(http.attributes['http.request.header.host'], 'web.test');
  assert.ok(Number(http.attributes['sidegate.egress.bytes_to_server']) > 0);
  assert.ok(Number(http.attributes['sidegate.egress.bytes_to_client']) > 0);
  assert.match(widePod!.log(), /"security: egress passthrough"/);
});

test('attacker: a destination an egress rule refuses is never reached, and the span says deny', async () => {
  const r = await curl(nsWide!, 'http://other.test/exfiltrate', 'other.test', 80, nsWide!.v4.dbOther);
  assert.notEqual(r.code, 0, r.stdout);
  const span = await spanWhere(widePod!, (x) => x.attributes['server.address'] === nsWide!.v4.dbOther);
  assert.equal(span.attributes['sidegate.decision'], 'deny');
  assert.equal(span.attributes['sidegate.rule'], 'no-other-host');
  assert.equal(span.attributes['http.request.header.host'], 'other.test');
  assert.ok(!wideServers.events.some((e) => e.event === 'request' && e.host === 'other.test'), 'the request never reached the server');
  assert.match(widePod!.log(), /"security: egress refused"/);
});

test("attacker: TLS to the PostgreSQL target's address is refused, not relayed", async () => {
  const r = await curl(nsWide!, 'https://db.test:5432/', 'db.test', 5432, nsWide!.v4.dbAlt);
  assert.notEqual(r.code, 0, r.stdout);
  const span = await spanWhere(widePod!, (x) => x.attributes['server.address'] === nsWide!.v4.dbAlt && x.attributes['sidegate.protocol'] === 'tls');
  assert.equal(span.attributes['sidegate.decision'], 'deny');
  assert.equal(span.attributes['server.port'], 5432);
  assert.equal(span.attributes['tls.client.server_name'], 'db.test');
  await new Promise((res) => setTimeout(res, 300));
  assert.ok(!wideServers.events.some((e) => e.event === 'tcp-connection'), "nothing reached the target's address");
  const all = await spans(widePod!);
  assert.ok(!all.some((x) => x.attributes['server.address'] === nsWide!.v4.dbAlt && x.attributes['sidegate.decision'] === 'passthrough'));
  assert.equal(verifyChain(all).ok, true);
});
