// The "Done when" for the token exchange on MariaDB, as injected-pod-exchange.test.ts
// shows it for PostgreSQL: the injected runner pod holds no database password; its sidecar obtains
// a per-pod user from a real `sidegate exchange` on the cluster network, which creates it on a real
// MariaDB there (TLS verified, a least-privileged admin); the runner's unchanged `mariadb` client
// runs as that user, which MariaDB lists while the job runs and not after the sidecar stops
// (revocation); a pod killed with SIGKILL leaves its user to the sweeper, which drops it after the
// expiry its name holds. The server's general log shows the password only as its hash. Tokens for
// another audience, expired ones and identities without a grant are refused with RFC 8693's error
// (and are spans), and the runner's client gets ERR 1045 saying why. Only addresses inside the
// namespaces this test creates are used.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNamespacePair, letOtherUsersReach, mustRun, run, type NamespacePair } from '../netns/network-namespaces.js';
import { makeSelfSignedCertificate } from '../support/self-signed-certificate.js';
import { exchangeTargetSql, issuedUsersSql } from '../support/mariadb-exchange-setup.js';
import { flattenOtlpJson } from '../../core/audit/index.js';
import { RUNNER_UID, startPodMariaDb, type InjectedSidecar, type PodMariaDb } from './injected-pod-harness.js';
import { filesUnder, startExchangeControlPlane, stopped, waitUntil, type ExchangeControlPlane } from './exchange-control-plane.js';

const ADMIN_PASSWORD = 'e2e-Maria-Exchange-Admin-Pw-19';
const USER_PREFIX = 'sidegate_x_';

let ns: NamespacePair;
let dir: string;
let restoreModes: (() => Promise<void>) | undefined;
let maria: PodMariaDb | undefined;
let plane: ExchangeControlPlane | undefined;
let policy: string;
let generalLog = '';

async function issuedUsers(): Promise<string[]> {
  const r = await maria!.asRoot(issuedUsersSql(USER_PREFIX));
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter((u) => u !== '');
}

before(async () => {
  restoreModes = await letOtherUsersReach(fileURLToPath(new URL('../../', import.meta.url)));
  await mustRun(['sh', '-c', 'id -u 7331 >/dev/null 2>&1 || useradd -u 7331 -M -s /usr/sbin/nologin -U sidegate-e2e']);
  dir = await mkdtemp(join(tmpdir(), 'sidegate-e2e-exchange-maria-'));
  await chmod(dir, 0o755);
  ns = await createNamespacePair();

  // MariaDB with TLS (the exchange always verifies its targets), the exchange's least-privileged
  // admin, and the template role a runner's user gets as its default role.
  const mariaTls = makeSelfSignedCertificate(dir, 'maria', [`IP:${ns.v4.db}`]);
  maria = await startPodMariaDb(join(dir, 'mariadb'), ns.db, [ns.v4.db], mariaTls);
  const setup = await maria.asRoot(exchangeTargetSql({ admin: 'sidegate_admin', adminPassword: ADMIN_PASSWORD, role: 'shop_reader', database: 'shop', table: 'items' }));
  assert.equal(setup.code, 0, setup.stderr);
  // Every statement the server receives from now on, as an operator's general log would keep it.
  generalLog = join(dir, 'mariadb', 'general.log');
  const logging = await maria.asRoot(`SET GLOBAL log_output = 'FILE'; SET GLOBAL general_log_file = '${generalLog}'; SET GLOBAL general_log = 1`);
  assert.equal(logging.code, 0, logging.stderr);

  await writeFile(join(dir, 'admin-password'), ADMIN_PASSWORD, { mode: 0o600 });
  plane = await startExchangeControlPlane({
    ns,
    dir,
    // No serverName: the certificate must carry the host's address.
    targets: [{ name: 'shop', protocol: 'mysql', host: ns.v4.db, port: 3306, tls: { caFile: mariaTls.certFile }, admin: { username: 'sidegate_admin', passwordFile: join(dir, 'admin-password') } }],
    grant: { target: 'shop', roles: ['shop_reader'], ttl: '1m' },
    runner: { image: 'mariadb:10.11', command: ['mariadb', '-h', ns.v4.db, '-u', 'app', 'shop', '-e', 'SELECT count(*) FROM items'] },
  });
  policy = plane.podPolicy(`{ name: shop, protocol: mysql, address: "${ns.v4.db}:3306", database: shop, tls: { mode: disable }, credentials: { exchange: {} } }`);
});

after(async () => {
  await plane?.stop();
  await maria?.stop();
  await ns?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
  await restoreModes?.();
});

function startPod(exchangeToken: string): Promise<InjectedSidecar> {
  return plane!.startPod(exchangeToken, policy);
}

/** The runner's unchanged `mariadb` client (uid 65534) without a password: the pod's own identity applies. */
function runner(sql: string) {
  return run(
    [
      'ip', 'netns', 'exec', ns.pod, 'setpriv', `--reuid=${RUNNER_UID}`, `--regid=${RUNNER_UID}`, '--clear-groups',
      'mariadb', '--no-defaults', '-h', ns.v4.db, '-P', '3306', '--connect-timeout=10', '-u', 'app', '-N', '-B', 'shop', '-e', sql,
    ],
    { timeoutMs: 60_000 },
  );
}

let first: InjectedSidecar;
let firstUser = '';

test('the injected pod mounts no database password: no credentials Secret, an exchange token instead', async () => {
  const volumes = plane!.patched.spec.volumes as { name: string; secret?: unknown }[];
  assert.ok(!volumes.some((v) => v.secret !== undefined), 'no Secret volume at all');
  const sidecar = plane!.patched.spec.initContainers!.find((c) => c.name === 'sidegate')!;
  assert.ok(!sidecar.args!.includes('--credentials'));
  first = await startPod(plane!.tokens.exchange);
  for (const text of await filesUnder(join(dir, 'pod-1'))) assert.ok(!text.includes(ADMIN_PASSWORD), 'no database password in any file of the pod');
});

test("the runner's statement runs as a per-pod user the exchange created; MariaDB lists it while the job runs", async () => {
  const r = await runner('SELECT CURRENT_USER(), CURRENT_ROLE(), count(*) FROM items');
  assert.equal(r.code, 0, r.stderr + first.log() + plane!.log());
  const [user, role, count] = r.stdout.trim().split('\t');
  assert.equal(count, '3');
  assert.equal(role, 'shop_reader', "the template role is the user's default role");
  firstUser = user!.replace(/@%$/, '');
  assert.ok(firstUser.startsWith(USER_PREFIX), firstUser);
  assert.deepEqual(await issuedUsers(), [firstUser], 'the created user, one for the pod');
  const again = await runner('SELECT CURRENT_USER()');
  assert.equal(again.stdout.trim(), user, 'a second session of the job reuses the user');
  await new Promise((res) => setTimeout(res, 600));
  const sessions = flattenOtlpJson(await readFile(join(first.stateDir, 'audit.otlp.jsonl'), 'utf8')).filter((s) => s.attributes['sidegate.credential.login'] === firstUser);
  assert.equal(sessions.length, 2, 'each session span names the login');
  assert.equal(sessions[0]!.attributes['db.system.name'], 'mariadb');
  assert.ok(!first.log().includes(plane!.tokens.exchange), 'the exchange token is not logged');
});

test("the server's general log has the user's password only as its hash, and the user setting its own default role", async () => {
  const log = await readFile(generalLog, 'utf8');
  assert.match(log, new RegExp(`CREATE USER '${firstUser}'@'%' IDENTIFIED BY PASSWORD '\\*[0-9A-F]{40}' WITH MAX_USER_CONNECTIONS 50`));
  assert.doesNotMatch(log, /IDENTIFIED (BY|VIA [a-z_0-9]+ USING) '(?!\*)/, 'no password in clear');
  assert.match(log, /SET DEFAULT ROLE `shop_reader`/);
  assert.ok(!log.includes(ADMIN_PASSWORD));
});

test('the sidecar stopping (SIGTERM) revokes the user: MariaDB no longer lists it', async () => {
  await stopped(first, 'SIGTERM');
  assert.match(first.log(), /credential revoked/);
  assert.deepEqual(await issuedUsers(), []);
  assert.match(plane!.log(), /revocation revoked/);
});

let killedUser = '';
let killedAt = 0;

test('a pod killed without shutdown (SIGKILL) leaves its user to the sweeper', async () => {
  const pod = await startPod(plane!.tokens.exchange);
  const r = await runner('SELECT CURRENT_USER()');
  assert.equal(r.code, 0, r.stderr + pod.log());
  killedUser = r.stdout.trim().replace(/@%$/, '');
  await stopped(pod, 'SIGKILL');
  killedAt = Date.now();
  assert.deepEqual(await issuedUsers(), [killedUser], 'no revocation: the user outlives the pod until it expires');
});

test('refused: a token for another audience, an expired one, an identity without a grant get the RFC error, and are spans', async () => {
  await plane!.expectRfcRefusals('shop');
  assert.deepEqual(await issuedUsers(), [killedUser], 'nothing created');
});

test("refused: the runner's mariadb client gets ERR 1045 (28000) saying why, nothing reaches the target", async () => {
  for (const [token, error] of [[plane!.tokens.noGrant, 'invalid_target'], [plane!.tokens.expired, 'invalid_request']] as const) {
    const pod = await startPod(token);
    const r = await runner('SELECT count(*) FROM items');
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, new RegExp(`ERROR 1045 \\(28000\\).*sidegate: cannot log in to target "shop": the token exchange refused a credential for target "shop": ${error}`));
    await stopped(pod, 'SIGTERM');
    const session = flattenOtlpJson(await readFile(join(pod.stateDir, 'audit.otlp.jsonl'), 'utf8')).find((s) => s.attributes['error.type'] === 'refused');
    assert.ok(session, 'the refused login is audited');
  }
  assert.deepEqual(await issuedUsers(), [killedUser], 'no user was created for a refused pod');
});

test("after its expiry the sweeper drops the killed pod's user", { timeout: 120_000 }, async () => {
  await waitUntil(async () => ((await issuedUsers()).length === 0 ? true : undefined), 100_000, () => `user ${killedUser} still there ${Math.round((Date.now() - killedAt) / 1000)} s after the kill:\n${plane!.log().slice(-2000)}`);
  assert.ok(Date.now() - killedAt > 30_000, 'not before it expired (1 min after it was issued)');
  assert.match(plane!.log(), /expired credentials swept/);
  const expired = flattenOtlpJson(await readFile(plane!.auditFile, 'utf8')).find((s) => s.name === 'credential expired' && s.attributes['sidegate.exchange.login'] === killedUser);
  assert.ok(expired, 'a credential expired span');
  assert.ok(!plane!.log().includes(ADMIN_PASSWORD) && !plane!.log().includes(plane!.tokens.exchange), 'the exchange logs no secret');
});
