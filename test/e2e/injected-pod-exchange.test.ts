// The "Done when" for the token exchange, end to end without a cluster: the webhook,
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
import { mkdtemp, rm, writeFile, readFile, chmod, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNamespacePair, letOtherUsersReach, mustRun, run, type NamespacePair } from '../netns/network-namespaces.js';
import { makeSelfSignedCertificate } from '../support/self-signed-certificate.js';
import { flattenOtlpJson } from '../../core/audit/index.js';
import { RUNNER_UID, startPodPostgres, type InjectedSidecar, type PodPostgres } from './injected-pod-harness.js';
import { EXCHANGE_AUDIENCE, filesUnder, startExchangeControlPlane, stopped, waitUntil, type ExchangeControlPlane } from './exchange-control-plane.js';

const APP_PASSWORD = 'e2e-App-Pw-never-in-the-pod';
const ADMIN_PASSWORD = 'e2e-Exchange-Admin-Pw-77';
const ROLE_PREFIX = 'sidegate_x_';

let ns: NamespacePair;
let dir: string;
let restoreModes: (() => Promise<void>) | undefined;
let postgres: PodPostgres | undefined;
let plane: ExchangeControlPlane | undefined;
let policy: string;

const issuedRoles = async () => (await postgres!.psql(`SELECT rolname FROM pg_roles WHERE starts_with(rolname, '${ROLE_PREFIX}') ORDER BY 1`)).split('\n').filter((r) => r !== '');

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

  await writeFile(join(dir, 'admin-password'), ADMIN_PASSWORD, { mode: 0o600 });
  plane = await startExchangeControlPlane({
    ns,
    dir,
    targets: [
      {
        name: 'shop', protocol: 'postgres', host: ns.v4.db, port: 5432, database: 'shop',
        tls: { caFile: pgTls.certFile, serverName: 'localhost' },
        admin: { username: 'sidegate_admin', passwordFile: join(dir, 'admin-password') },
      },
    ],
    grant: { target: 'shop', roles: ['shop_reader'], ttl: '1m' },
    runner: { image: 'postgres:15', command: ['psql', '-h', ns.v4.db, '-U', 'app', '-d', 'shop', '-c', 'SELECT count(*) FROM items'] },
  });
  policy = plane.podPolicy(`{ name: shop, protocol: postgres, address: "${ns.v4.db}:5432", database: shop, tls: { mode: disable }, credentials: { exchange: {} } }`);
});

after(async () => {
  await plane?.stop();
  await postgres?.stop();
  await ns?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
  await restoreModes?.();
});

function startPod(exchangeToken: string): Promise<InjectedSidecar> {
  return plane!.startPod(exchangeToken, policy);
}

/** The runner's unchanged psql (uid 65534), presenting the pod's identity token as libpq must. */
function runner(sql: string) {
  return run([
    'ip', 'netns', 'exec', ns.pod, 'setpriv', `--reuid=${RUNNER_UID}`, `--regid=${RUNNER_UID}`, '--clear-groups',
    'env', `PGPASSWORD=${plane!.tokens.identity}`, 'PGSSLMODE=disable', 'PGCONNECT_TIMEOUT=10',
    'psql', '-X', '-tA', '-v', 'VERBOSITY=verbose', '-h', ns.v4.db, '-U', 'app', '-d', 'shop', '-c', sql,
  ]);
}

let first: InjectedSidecar;
let firstRole = '';

test('the injected pod mounts no database password: no credentials Secret, an exchange token instead', async () => {
  const volumes = plane!.patched.spec.volumes as { name: string; secret?: unknown; projected?: { sources: { serviceAccountToken?: { audience: string; path: string } }[] } }[];
  assert.ok(!volumes.some((v) => v.secret !== undefined), 'no Secret volume at all');
  const projected = volumes.find((v) => v.name === 'sidegate-token')!.projected!.sources.map((s) => [s.serviceAccountToken!.audience, s.serviceAccountToken!.path]);
  assert.deepEqual(projected, [['sidegate', 'token'], [EXCHANGE_AUDIENCE, 'exchange-token']]);
  const sidecar = plane!.patched.spec.initContainers!.find((c) => c.name === 'sidegate')!;
  assert.ok(!sidecar.args!.includes('--credentials'));
  assert.equal(sidecar.args![sidecar.args!.indexOf('--exchange-url') + 1], plane!.url);
  first = await startPod(plane!.tokens.exchange);
  for (const text of await filesUnder(join(dir, 'pod-1'))) {
    assert.ok(!text.includes(APP_PASSWORD) && !text.includes(ADMIN_PASSWORD), 'no database password in any file of the pod');
  }
});

test('the runner\'s statement runs with a per-pod login the exchange created; PostgreSQL shows it while the job runs', async () => {
  const r = await runner('SELECT current_user, count(*) FROM items');
  assert.equal(r.code, 0, r.stderr + first.log() + plane!.log());
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
  assert.ok(!first.log().includes(plane!.tokens.exchange), 'the exchange token is not logged');
});

test('the sidecar stopping (SIGTERM) revokes the login: the role is gone', async () => {
  await stopped(first, 'SIGTERM');
  assert.match(first.log(), /credential revoked/);
  assert.deepEqual(await issuedRoles(), []);
  assert.match(plane!.log(), /revocation revoked/);
});

let killedRole = '';
let killedAt = 0;

test('a pod killed without shutdown (SIGKILL) leaves its role to the sweeper', async () => {
  const pod = await startPod(plane!.tokens.exchange);
  const r = await runner('SELECT current_user');
  assert.equal(r.code, 0, r.stderr + pod.log());
  killedRole = r.stdout.trim();
  await stopped(pod, 'SIGKILL');
  killedAt = Date.now();
  assert.deepEqual(await issuedRoles(), [killedRole], 'no revocation: the role outlives the pod until it expires');
});

test('refused: a token for another audience, an expired one, an identity without a grant get the RFC error', async () => {
  await plane!.expectRfcRefusals('shop');
  assert.deepEqual(await issuedRoles(), [killedRole], 'nothing created');
});

test('refused: the runner\'s client gets a PostgreSQL error saying why, nothing reaches the target', async () => {
  for (const [token, error] of [[plane!.tokens.noGrant, 'invalid_target'], [plane!.tokens.expired, 'invalid_request']] as const) {
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
  await waitUntil(async () => ((await issuedRoles()).length === 0 ? true : undefined), 100_000, () => `role ${killedRole} still there ${Math.round((Date.now() - killedAt) / 1000)} s after the kill:\n${plane!.log().slice(-2000)}`);
  assert.ok(Date.now() - killedAt > 30_000, 'not before it expired (1 min after it was issued)');
  assert.ok(!plane!.log().includes(ADMIN_PASSWORD) && !plane!.log().includes(plane!.tokens.exchange), 'the exchange logs no secret');
});
