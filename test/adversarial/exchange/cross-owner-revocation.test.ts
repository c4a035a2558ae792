// Attack: revoke another run's or pod's login. A revocation's owner proof is any valid subject
// token of the credential's owner, and a revocation needs no grant. Every pod of one
// ServiceAccount has the same `sub`, and so has every GitHub run of one repository and ref; the
// victim's login name is in pg_roles (and its owner hash in pg_shdescription) for any database
// user to read, and a credential token is unsigned JSON, so the attacker forges one naming the
// victim's login. With an owner of issuer and subject alone the exchange dropped the victim's
// login and ended its sessions (a production migration cut off by another job). The owner now
// includes the run or pod (exchange/identity/owner-hash.ts).
//
// Each attack checks: the refusal the attacker sees (unauthorized_client), the database unchanged
// (the victim's login exists and still logs in, no stray login), and no canary secret in any
// answer, log line or audit span.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { flattenOtlpJson } from '../../../core/audit/index.js';
import { createLogger } from '../../../core/logging/logger.js';
import { parseExchangeConfig } from '../../../exchange/config/exchange-config.js';
import { startExchangeService, type ExchangeService } from '../../../exchange/cli/exchange-command.js';
import type { TargetCredential } from '../../../exchange/protocol/credential-token.js';
import { credentialTokenOf, exchangeClient, JWT } from '../../support/exchange-test-clients.js';
import type { HttpsReply } from '../../support/https-json-client.js';
import { IT_DATABASE, rootSql } from '../../support/mariadb-side-by-side.js';
import { exchangeTargetSql, issuedUsersSql } from '../../support/mariadb-exchange-setup.js';
import { asSuperuser } from '../../support/scratch-postgres-database.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../../support/self-signed-certificate.js';
import { mariaInfo, pgInfo, type MariaInfo, type PgInfo } from '../../support/sidegate-harness.js';
import { startTestIssuer, type TestIssuer } from '../../support/token-issuer.js';

const AUDIENCE = 'sidegate-exchange';
const CLUSTER_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const run = randomBytes(4).toString('hex');
const prefix = `sgxo_${run}_`;
const pgAdmin = `sgxo_admin_${run}`;
const pgReader = `sgxo_reader_${run}`;
const myAdmin = `sgxo_madmin_${run}`;
const myReader = `sgxo_mreader_${run}`;
const table = `exchange_owner_${run}`;

let dir: string;
let cert: TestCertificate;
let tlsKey: string;
let info: PgInfo;
let maria: MariaInfo;
let ci: TestIssuer;
let cluster: TestIssuer;
let service: ExchangeService;
const logs: string[] = [];
const canaries: string[] = [];
const replies: string[] = [];

const superuser = <T>(fn: (c: pg.Client) => Promise<T>) => asSuperuser(info, fn);
const pgRoles = () => superuser(async (c) => (await c.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1) ORDER BY 1', [prefix])).rows.map((r) => r.rolname));
const myUsers = async () => (await rootSql(maria, issuedUsersSql(prefix))).split('\n').filter((l) => l !== '');

before(async () => {
  info = await pgInfo();
  maria = await mariaInfo();
  dir = await mkdtemp(join(tmpdir(), 'sidegate-exchange-owner-'));
  cert = makeSelfSignedCertificate(dir);
  tlsKey = await readFile(cert.keyFile, 'utf8');
  const adminPassword = randomBytes(18).toString('base64url');
  canaries.push(adminPassword);
  await writeFile(join(dir, 'admin-password'), `${adminPassword}\n`, { mode: 0o600 });
  await writeFile(join(dir, 'cluster-bearer'), 'the-exchange-own-sa-token');
  await superuser(async (c) => {
    await c.query(`CREATE ROLE ${pgAdmin} LOGIN CREATEROLE PASSWORD ${pg.escapeLiteral(adminPassword)}`);
    await c.query(`CREATE ROLE ${pgReader} NOLOGIN`);
    await c.query(`GRANT SELECT ON customers TO ${pgReader}`);
  });
  await rootSql(maria, exchangeTargetSql({ admin: myAdmin, adminPassword, role: myReader, database: IT_DATABASE, table }));
  ci = await startTestIssuer({ tls: { cert: cert.cert, key: tlsKey } });
  cluster = await startTestIssuer({ issuer: CLUSTER_ISSUER, tls: { cert: cert.cert, key: tlsKey }, requireBearer: 'the-exchange-own-sa-token' });
  const adminFile = join(dir, 'admin-password');
  const config = parseExchangeConfig({
    issuers: [
      { issuer: ci.issuer, audience: AUDIENCE, jwksUrl: ci.jwksUrl, caFile: cert.certFile },
      { issuer: CLUSTER_ISSUER, audience: AUDIENCE, kubernetes: true, discoveryUrl: cluster.discoveryUrl, caFile: cert.certFile, bearerTokenFile: join(dir, 'cluster-bearer') },
    ],
    targets: [
      { name: 'orders', protocol: 'postgres', host: info.host, port: info.port, database: info.database, tls: { caFile: info.caFile, serverName: 'localhost' }, admin: { username: pgAdmin, passwordFile: adminFile }, rolePrefix: prefix },
      { name: 'shop', protocol: 'mysql', host: '127.0.0.1', port: maria.port, tls: { caFile: maria.caFile, serverName: 'localhost' }, admin: { username: myAdmin, passwordFile: adminFile }, userPrefix: prefix, maxUserConnections: 5 },
    ],
    grants: [
      { name: 'deploys', issuer: ci.issuer, claims: { repository: 'acme/app' }, target: 'orders', roles: [pgReader], ttl: '15m' },
      { name: 'runners', issuer: CLUSTER_ISSUER, subject: 'system:serviceaccount:ci:*', target: 'orders', roles: [pgReader], ttl: '15m' },
      { name: 'shop-deploys', issuer: ci.issuer, claims: { repository: 'acme/app' }, target: 'shop', roles: [myReader], ttl: '15m' },
    ],
    sweepInterval: '1h',
  });
  const log = createLogger({ level: 'debug', sink: (line) => logs.push(line) });
  service = await startExchangeService({ ...config, audit: { stateDir: join(dir, 'audit') } }, { host: '127.0.0.1', port: 0, tls: { cert: cert.cert, key: tlsKey }, env: {} }, log);
});

after(async () => {
  await service?.close();
  await ci?.close();
  await cluster?.close();
  await superuser(async (c) => {
    for (const role of await pgRoles()) await c.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`).catch(() => undefined);
    await c.query(`DROP OWNED BY ${pgReader}`).catch(() => undefined);
    await c.query(`DROP ROLE IF EXISTS ${pgReader}`);
    await c.query(`DROP ROLE IF EXISTS ${pgAdmin}`);
  }).catch(() => undefined);
  const users = await myUsers().catch(() => []);
  await rootSql(maria, [...users.map((u) => `DROP USER IF EXISTS '${u}'@'%'`), `DROP USER IF EXISTS '${myAdmin}'@'%'`, `DROP ROLE IF EXISTS ${myReader}`, `DROP TABLE IF EXISTS ${IT_DATABASE}.${table}`].join(';\n')).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

/** A GitHub run of acme/app on main: every run of it has the same `sub`. */
const runToken = (runId: string) => ci.sign({ sub: 'repo:acme/app:ref:refs/heads/main', repository: 'acme/app', ref: 'refs/heads/main', run_id: runId, run_attempt: '1' }, { audience: AUDIENCE });
/** A pod of the ServiceAccount ci/runner: every pod of it has the same `sub`. */
const podToken = (uid: string) =>
  cluster.sign({ sub: 'system:serviceaccount:ci:runner', 'kubernetes.io': { namespace: 'ci', serviceaccount: { name: 'runner', uid: 'sa-uid' }, pod: { name: `runner-${uid}`, uid } } }, { audience: AUDIENCE });

function clientFor(audience: string) {
  const c = exchangeClient({ url: () => service.url, ca: () => cert.cert, audience, canaries });
  const seen = async (reply: Promise<HttpsReply>) => {
    const r = await reply;
    replies.push(r.text);
    return r;
  };
  return {
    issue: async (token: string) => c.credentialOf(await seen(c.exchange(token))),
    revoke: (credential: TargetCredential, subjectToken: string) => seen(c.post('/v1/revoke', { token: credentialTokenOf(credential), subject_token: subjectToken, subject_token_type: JWT })),
  };
}
const orders = clientFor('orders');
const shop = clientFor('shop');

async function pgLogin(credential: TargetCredential): Promise<pg.Client> {
  const c = new pg.Client({ host: info.host, port: info.port, database: info.database, user: credential.username, password: credential.password, ssl: { ca: await readFile(info.caFile, 'utf8'), servername: 'localhost' }, connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

async function myLogin(credential: TargetCredential): Promise<mysql.Connection> {
  const c = await mysql.createConnection({ host: 'localhost', port: maria.port, user: credential.username, password: credential.password, database: IT_DATABASE, ssl: { ca: await readFile(maria.caFile), rejectUnauthorized: true }, connectTimeout: 5000 });
  c.on('error', () => undefined);
  return c;
}

/** No secret the test saw in any answer, log line or audit span. */
async function noCanaryAnywhere(): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
  const spans = JSON.stringify(flattenOtlpJson(await readFile(join(dir, 'audit', 'audit.otlp.jsonl'), 'utf8')));
  const seen = [...logs, ...replies.map((r) => r.replace(/"access_token":"[^"]*"/, '')), spans].join('\n');
  for (const secret of canaries) assert.ok(!seen.includes(secret), 'a secret reached an answer, a log line or a span');
}

/** The victim's login as the attacker rebuilds it: its name from the catalog, a made-up password. */
const forged = (victim: TargetCredential): TargetCredential => ({ ...victim, password: 'not-the-password' });

test('another GitHub run of the same repository and ref cannot revoke a run\'s PostgreSQL login, found in pg_roles', async () => {
  const victim = await orders.issue(await runToken('1001'));
  const attacker = await orders.issue(await runToken('1002'));
  // The attacker's own login reads every issued role and its marker: the victim's name is there.
  const own = await pgLogin(attacker);
  try {
    const { rows } = await own.query<{ rolname: string }>('SELECT r.rolname FROM pg_roles r JOIN pg_shdescription d ON d.objoid = r.oid WHERE starts_with(r.rolname, $1)', [prefix]);
    assert.ok(rows.some((r) => r.rolname === victim.username), 'the victim\'s login is in the catalog for any user to read');
  } finally {
    await own.end();
  }
  const victimSession = await pgLogin(victim);
  try {
    const before = await pgRoles();
    const reply = await orders.revoke(forged(victim), await runToken('1002'));
    assert.equal(reply.status, 400, reply.text);
    assert.equal(reply.json.error, 'unauthorized_client');
    assert.deepEqual(await pgRoles(), before, 'no login dropped or created');
    assert.equal((await victimSession.query('SELECT count(*)::int AS n FROM customers')).rows[0].n, 3, 'the victim\'s session goes on');
    await (await pgLogin(victim)).end();
    // The victim's own run, with a freshly requested token, still revokes it.
    const own = await orders.revoke(victim, await runToken('1001'));
    assert.equal(own.status, 200, own.text);
    assert.ok(!(await pgRoles()).includes(victim.username));
  } finally {
    await victimSession.end().catch(() => undefined);
  }
  await orders.revoke(attacker, await runToken('1002'));
  await noCanaryAnywhere();
});

test('another pod of the same ServiceAccount cannot revoke a pod\'s PostgreSQL login; the pod\'s rotated token can', async () => {
  const victim = await orders.issue(await podToken('pod-uid-victim'));
  const before = await pgRoles();
  const reply = await orders.revoke(forged(victim), await podToken('pod-uid-attacker'));
  assert.equal(reply.status, 400, reply.text);
  assert.equal(reply.json.error, 'unauthorized_client');
  assert.deepEqual(await pgRoles(), before);
  await (await pgLogin(victim)).end();
  const rotated = await orders.revoke(victim, await podToken('pod-uid-victim'));
  assert.equal(rotated.status, 200, rotated.text);
  assert.ok(!(await pgRoles()).includes(victim.username));
  await noCanaryAnywhere();
});

test('another GitHub run of the same repository and ref cannot revoke a run\'s MariaDB user', async () => {
  const victim = await shop.issue(await runToken('2001'));
  const before = await myUsers();
  assert.ok(before.includes(victim.username));
  const victimSession = await myLogin(victim);
  try {
    const reply = await shop.revoke(forged(victim), await runToken('2002'));
    assert.equal(reply.status, 400, reply.text);
    assert.equal(reply.json.error, 'unauthorized_client');
    assert.deepEqual(await myUsers(), before, 'no user dropped or created');
    const [rows] = await victimSession.query(`SELECT count(*) AS n FROM ${table}`);
    assert.equal(Number((rows as { n: number }[])[0]!.n), 3, 'the victim\'s session goes on');
  } finally {
    await victimSession.end().catch(() => undefined);
  }
  const own = await shop.revoke(victim, await runToken('2001'));
  assert.equal(own.status, 200, own.text);
  assert.ok(!(await myUsers()).includes(victim.username));
  await noCanaryAnywhere();
});
