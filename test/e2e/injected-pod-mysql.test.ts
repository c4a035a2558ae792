// MySQL capture end to end without a cluster, as injected-pod.test.ts shows it for PostgreSQL: a
// runner pod spec goes to the running webhook as a real AdmissionReview over HTTPS; the returned
// patch is applied; a network namespace plays the pod, the injected init container installs the
// redirect rules with real iptables (the injection defaults: 3306 and 5432), the sidecar runs as
// uid 7331 from the patched spec, and the runner's unchanged `mariadb -h <target-ip>` runs as
// another uid against a throwaway MariaDB in a second namespace. MySQL's server speaks first, so
// capture recognises a MySQL target by its address, not by the client's opening bytes.
// Only addresses inside the namespaces this test creates are used.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNamespacePair, letOtherUsersReach, mustRun, run, type NamespacePair } from '../netns/network-namespaces.js';
import { startTestIssuer, writeStaticJwks } from '../support/token-issuer.js';
import { startWebhookServer, type WebhookServer } from '../../webhook/admission/webhook-server.js';
import { createStaticNamespaceLookup } from '../../webhook/admission/namespace-lookup.js';
import { parseInjectionConfig } from '../../webhook/config/injection-config.js';
import { makeSelfSignedCertificate } from '../support/self-signed-certificate.js';
import { flattenOtlpJson, verifyChain } from '../../core/audit/index.js';
import type { PodSpec, VolumeContents } from './pod-simulator.js';
import { admitPod, podRunnerIdentities, runPatchedPod, startPodMariaDb, RUNNER_UID, type InjectedSidecar, type PodMariaDb } from './injected-pod-harness.js';

const TARGET_USER = 'app';
const TARGET_PASSWORD = 'e2e-Maria-Pw-7d31';
const POD_SUBJECT = 'system:serviceaccount:ci:runner';

let ns: NamespacePair;
let dir: string;
let webhook: WebhookServer;
let webhookCa: string;
let pod: InjectedSidecar;
let jwksFile: string;
let podToken = '';
let restoreModes: (() => Promise<void>) | undefined;
let maria: PodMariaDb | undefined;

/** SQL as MariaDB's root over its unix socket: the database's own view, not through sidegate. */
function asRoot(sql: string) {
  return maria!.asRoot(sql);
}

/** Runs the patched pod in `pair.pod` with what the cluster would put in its volumes. */
function runPod(pair: NamespacePair, patched: PodSpec, policy: string, root: string): Promise<InjectedSidecar> {
  const volumes: VolumeContents = {
    'sidegate-policy': { 'policy.yaml': { content: policy, mode: 0o644, owner: 'root' } },
    'sidegate-credentials': { 'credentials.yaml': { content: `targets:\n  shop: { username: ${TARGET_USER}, password: "${TARGET_PASSWORD}" }\n`, mode: 0o444, owner: 'root' } },
    'sidegate-token': { token: podToken },
  };
  return runPatchedPod(pair.pod, patched, volumes, root);
}

function podPolicy(v4Target: string, v6Target: string): string {
  return `${podRunnerIdentities(jwksFile)}targets:
  - { name: shop-v4, protocol: mysql, address: "${v4Target}", database: shop, tls: { mode: disable }, credentials: { file: shop } }
  - { name: shop-v6, protocol: mysql, address: "${v6Target}", database: shop, tls: { mode: disable }, credentials: { file: shop } }
rules:
  - { name: runner-reads, identities: [ci-runners], when: { statements: [read, session, transaction] }, action: allow }
  - { name: no-ddl, when: { statements: [ddl] }, action: deny }
`;
}

before(async () => {
  // The sidecar (uid 7331) and the runner (65534) run the compiled code from this checkout.
  restoreModes = await letOtherUsersReach(fileURLToPath(new URL('../../', import.meta.url)));
  await mustRun(['sh', '-c', 'id -u 7331 >/dev/null 2>&1 || useradd -u 7331 -M -s /usr/sbin/nologin -U sidegate-e2e']);
  dir = await mkdtemp(join(tmpdir(), 'sidegate-e2e-mysql-'));
  await chmod(dir, 0o755);
  ns = await createNamespacePair();
  // dbAlt serves the same MariaDB at an address no target names.
  maria = await startPodMariaDb(dir, ns.db, [ns.v4.db, ns.v4.dbAlt, ns.v6.db]);
  const setup = await asRoot(`CREATE USER '${TARGET_USER}'@'%' IDENTIFIED BY '${TARGET_PASSWORD}'; GRANT ALL ON shop.* TO '${TARGET_USER}'@'%';`);
  assert.equal(setup.code, 0, setup.stderr);
  const cert = makeSelfSignedCertificate(join(dir));
  webhookCa = cert.cert;
  webhook = await startWebhookServer({
    host: '127.0.0.1',
    port: 0,
    tls: { certFile: cert.certFile, keyFile: cert.keyFile },
    config: parseInjectionConfig({}),
    namespaceLookup: createStaticNamespaceLookup({ ci: { 'sidegate.dev/inject': 'enabled' } }),
  });
  const issuer = await startTestIssuer({ issuer: 'https://kubernetes.default.svc.cluster.local' });
  jwksFile = join(dir, 'jwks.json');
  await writeStaticJwks(jwksFile, issuer.jwks);
  await chmod(jwksFile, 0o644);
  podToken = await issuer.sign(
    { sub: POD_SUBJECT, 'kubernetes.io': { namespace: 'ci', pod: { name: 'migrate' }, serviceaccount: { name: 'runner' } } },
    { expiresIn: '1h' },
  );
  await issuer.close();
  // The pod a CI system would create: nothing sidegate-specific in it.
  const spec: PodSpec = {
    metadata: { name: 'migrate', namespace: 'ci' },
    spec: { containers: [{ name: 'runner', image: 'mariadb:10.11', command: ['mariadb', '-h', ns.v4.db, '-u', TARGET_USER, 'shop', '-e', 'SELECT count(*) FROM items'] }] },
  };
  pod = await runPod(ns, await admitPod({ url: webhook.url, ca: webhookCa }, spec), podPolicy(`${ns.v4.db}:3306`, `[${ns.v6.db}]:3306`), join(dir, 'pod'));
});

after(async () => {
  pod?.sidecar.kill('SIGTERM');
  await maria?.stop();
  await new Promise((r) => setTimeout(r, 300));
  await webhook?.close();
  await ns?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
  await restoreModes?.();
});

/**
 * The runner: the `mariadb` CLI as a non-sidegate uid inside the pod, unchanged, with no
 * password (the pod's own identity applies) and whatever extra options it is given.
 */
function runner(host: string, sql: string, extra: string[] = []) {
  return run(
    [
      'ip', 'netns', 'exec', ns.pod, 'setpriv', `--reuid=${RUNNER_UID}`, `--regid=${RUNNER_UID}`, '--clear-groups',
      'mariadb', '--no-defaults', '-h', host, '-P', '3306', '--connect-timeout=10', '-u', TARGET_USER, '-N', '-B', ...extra, 'shop', '-e', sql,
    ],
    { timeoutMs: 60_000 },
  );
}

async function spans() {
  // The sidecar writes its audit file in its state directory (no collector in this pod).
  await new Promise((r) => setTimeout(r, 600));
  return flattenOtlpJson(await readFile(join(pod.stateDir, 'audit.otlp.jsonl'), 'utf8'));
}

type FlatSpan = Awaited<ReturnType<typeof spans>>[number];

/** Spans until one matches (a relayed connection's span ends when both sides have closed). */
async function spanWhere(match: (s: FlatSpan) => boolean): Promise<FlatSpan> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = (await spans()).find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no matching span; sidecar log:\n${pod.log()}`);
  }
}

test('the injection defaults redirect 3306 (and 5432) to the sidecar', async () => {
  const nat = await mustRun(['ip', 'netns', 'exec', ns.pod, 'iptables-save', '-t', 'nat']);
  assert.match(nat, /--dport 3306 -j SIDEGATE_REDIRECT/);
  assert.match(nat, /--dport 5432 -j SIDEGATE_REDIRECT/);
});

test('the runner\'s mariadb CLI without a password is captured, is the pod, and reads the rows', async () => {
  const r = await runner(ns.v4.db, 'SELECT id, name FROM items ORDER BY id');
  assert.equal(r.code, 0, r.stderr + pod.log());
  assert.equal(r.stdout, '1\ta\n2\tb\n3\tc\n');
  const stmt = await spanWhere((x) => x.attributes['db.query.text'] === 'SELECT id, name FROM items ORDER BY id');
  assert.equal(stmt.attributes['db.system.name'], 'mariadb');
  assert.equal(stmt.attributes['server.address'], ns.v4.db, 'the original destination is recorded');
  assert.equal(stmt.attributes['sidegate.identity.subject'], POD_SUBJECT);
  assert.equal(stmt.attributes['sidegate.decision'], 'allow');
  assert.equal(stmt.attributes['sidegate.rule'], 'runner-reads');
});

test('policy is enforced on captured traffic: DROP TABLE fails with 1142 naming the rule, the table stays', async () => {
  const r = await runner(ns.v4.db, 'DROP TABLE items');
  assert.notEqual(r.code, 0, r.stdout);
  assert.match(r.stderr, /ERROR 1142 \(42000\)/);
  assert.match(r.stderr, /no-ddl/);
  const still = await asRoot('SELECT count(*) FROM shop.items');
  assert.equal(still.code, 0, still.stderr);
  assert.equal(still.stdout.trim(), '3', 'the table is still there');
  const stmt = await spanWhere((x) => x.attributes['db.operation.name'] === 'DROP TABLE' || (typeof x.attributes['db.query.text'] === 'string' && /^DROP TABLE/i.test(x.attributes['db.query.text'] as string)));
  assert.equal(stmt.attributes['sidegate.decision'], 'deny');
  assert.equal(stmt.attributes['sidegate.rule'], 'no-ddl');
  assert.equal(stmt.attributes['db.response.status_code'], '1142');
});

test('bypass: the target\'s IPv6 address directly is captured too', async () => {
  const r = await runner(ns.v6.db, 'SELECT count(*) FROM items WHERE id > 1');
  assert.equal(r.code, 0, r.stderr + pod.log());
  assert.equal(r.stdout.trim(), '2');
  const stmt = await spanWhere((x) => x.attributes['server.address'] === ns.v6.db && x.attributes['db.operation.name'] === 'SELECT');
  assert.equal(stmt.attributes['db.system.name'], 'mariadb');
  assert.equal(stmt.attributes['sidegate.identity.subject'], POD_SUBJECT);
});

test('bypass: binding a different source address is still captured', async () => {
  // The mariadb CLI has no option to bind a source address, so a few lines of Node speak the
  // handshake: read the greeting, log in with an empty password (the pod), send DROP TABLE.
  const script = `
    const net = require('net');
    const s = net.connect({ host: '${ns.v4.db}', port: 3306, localAddress: '${ns.v4.podAlt}' });
    let buf = Buffer.alloc(0); let step = 0; const out = [];
    const send = (seq, body) => { const h = Buffer.alloc(4); h.writeUIntLE(body.length, 0, 3); h[3] = seq; s.write(Buffer.concat([h, body])); };
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUIntLE(0, 3)) {
        const p = buf.subarray(4, 4 + buf.readUIntLE(0, 3)); buf = buf.subarray(4 + p.length);
        if (step === 0) {
          const parts = p.toString('latin1').split('\\0'); out.push(parts[parts.length - 2]);
          const caps = 0x1 | 0x8 | 0x200 | 0x2000 | 0x8000 | 0x80000;
          const head = Buffer.alloc(32); head.writeUInt32LE(caps, 0); head.writeUInt32LE(1 << 24, 4); head[8] = 45;
          send(1, Buffer.concat([head, Buffer.from('${TARGET_USER}\\0'), Buffer.from([0]), Buffer.from('shop\\0mysql_clear_password\\0')]));
        } else if (step === 1) {
          out.push(p[0] === 0 ? 'ok' : 'login:' + p[0]);
          if (p[0] !== 0) { s.destroy(); break; }
          send(0, Buffer.concat([Buffer.from([3]), Buffer.from('DROP TABLE items')]));
        } else {
          out.push(p[0] === 0xff ? String(p.readUInt16LE(1)) + ':' + p.subarray(9).toString() : 'reply:' + p[0]);
          s.destroy(); break;
        }
        step++;
      }
    });
    s.on('close', () => process.stdout.write(out.join('|')));
    s.on('error', (e) => out.push('error:' + e.message));
  `;
  const r = await run(['ip', 'netns', 'exec', ns.pod, 'setpriv', `--reuid=${RUNNER_UID}`, `--regid=${RUNNER_UID}`, '--clear-groups', process.execPath, '-e', script]);
  // sidegate greets asking for mysql_clear_password (the token); MariaDB itself would have asked
  // for mysql_native_password. The pod logs in and its DROP is denied by the policy.
  const [plugin, login, reply] = r.stdout.split('|');
  assert.equal(plugin, 'mysql_clear_password', r.stdout + r.stderr);
  assert.equal(login, 'ok', r.stdout + pod.log());
  assert.match(reply ?? '', /^1142:.*no-ddl/);
  assert.equal((await asRoot('SELECT count(*) FROM shop.items')).stdout.trim(), '3');
  const session = await spanWhere((x) => x.attributes['client.address'] === ns.v4.podAlt && x.attributes['server.address'] === ns.v4.db);
  assert.equal(session.attributes['sidegate.identity.subject'], POD_SUBJECT);
  assert.equal(session.attributes['db.system.name'], 'mariadb');
});

test('every address on port 3306 is captured: a MySQL connection no target names is refused (guarded protocol) and audited', async () => {
  // The same MariaDB at an address no target names, as the PostgreSQL e2e has it: a database
  // sidegate guards reached at another address must not be relayed by the egress default.
  const r = await runner(ns.v4.dbAlt, 'SELECT count(*) FROM items');
  assert.notEqual(r.code, 0, r.stdout);
  const span = await spanWhere((x) => x.attributes['server.address'] === ns.v4.dbAlt && x.attributes['server.port'] === 3306);
  assert.equal(span.attributes['sidegate.decision'], 'deny', `span: ${JSON.stringify(span.attributes)}; client: ${r.stderr}`);
  assert.equal(span.attributes['sidegate.rule'], 'egress-guarded-protocol');
  assert.equal(span.attributes['sidegate.protocol'], 'mysql');
  assert.match(r.stderr, /egress-guarded-protocol/);
});

test('the audit trail of the pod is complete and hash-chained', async () => {
  const s = await spans();
  assert.ok(s.length >= 5);
  assert.equal(verifyChain(s).ok, true);
});
