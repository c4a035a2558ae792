// Attack: keep a login alive past its expiry and its revocation by squatting the lock the exchange
// takes before dropping it. Advisory locks (PostgreSQL) and GET_LOCK (MariaDB) need no privilege,
// and their keys were guessable from the login's own name and the configured prefix:
//
// - MariaDB: every sweep took GET_LOCK('sidegate-exchange-sweep:<prefix>', 0) and, not getting it,
//   left the sweep "to the replica that holds it". An issued user holding that lock in one open
//   session stopped every sweep on the target; MariaDB has no account expiry, so every expired
//   login, the attacker's first, kept working.
// - PostgreSQL: dropping a role waited on pg_advisory_lock(hashtext('sidegate-exchange'),
//   hashtext(<role>)) with no bound but the statement timeout. The role holding that lock in its own
//   session made every revocation and sweep of it fail: the session outlived VALID UNTIL and the
//   revocation, and the role could still log in until VALID UNTIL after it was revoked.
//
// Each attack checks: what the attacker sees (the revocation succeeds; its lock-holding session is
// ended), the database (the login gone, nothing else dropped or left), and no canary secret in any
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
const run = randomBytes(4).toString('hex');
const prefix = `sgxl_${run}_`;
const pgAdmin = `sgxl_admin_${run}`;
const pgReader = `sgxl_reader_${run}`;
const myAdmin = `sgxl_madmin_${run}`;
const myReader = `sgxl_mreader_${run}`;
const table = `exchange_lock_${run}`;

let dir: string;
let cert: TestCertificate;
let info: PgInfo;
let maria: MariaInfo;
let ci: TestIssuer;
let service: ExchangeService;
let clockShiftMs = 0;
const logs: string[] = [];
const canaries: string[] = [];
const replies: string[] = [];

const superuser = <T>(fn: (c: pg.Client) => Promise<T>) => asSuperuser(info, fn);
const pgRoles = () => superuser(async (c) => (await c.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1) ORDER BY 1', [prefix])).rows.map((r) => r.rolname));
const myUsers = async () => (await rootSql(maria, issuedUsersSql(prefix))).split('\n').filter((l) => l !== '');

before(async () => {
  info = await pgInfo();
  maria = await mariaInfo();
  dir = await mkdtemp(join(tmpdir(), 'sidegate-exchange-lock-'));
  cert = makeSelfSignedCertificate(dir);
  const tlsKey = await readFile(cert.keyFile, 'utf8');
  const adminPassword = randomBytes(18).toString('base64url');
  canaries.push(adminPassword);
  const adminFile = join(dir, 'admin-password');
  await writeFile(adminFile, `${adminPassword}\n`, { mode: 0o600 });
  await superuser(async (c) => {
    await c.query(`CREATE ROLE ${pgAdmin} LOGIN CREATEROLE PASSWORD ${pg.escapeLiteral(adminPassword)}`);
    await c.query(`CREATE ROLE ${pgReader} NOLOGIN`);
    await c.query(`GRANT SELECT ON customers TO ${pgReader}`);
  });
  await rootSql(maria, exchangeTargetSql({ admin: myAdmin, adminPassword, role: myReader, database: IT_DATABASE, table }));
  ci = await startTestIssuer({ tls: { cert: cert.cert, key: tlsKey } });
  const config = parseExchangeConfig({
    issuers: [{ issuer: ci.issuer, audience: AUDIENCE, jwksUrl: ci.jwksUrl, caFile: cert.certFile }],
    targets: [
      { name: 'orders', protocol: 'postgres', host: info.host, port: info.port, database: info.database, tls: { caFile: info.caFile, serverName: 'localhost' }, admin: { username: pgAdmin, passwordFile: adminFile }, rolePrefix: prefix },
      { name: 'shop', protocol: 'mysql', host: '127.0.0.1', port: maria.port, tls: { caFile: maria.caFile, serverName: 'localhost' }, admin: { username: myAdmin, passwordFile: adminFile }, userPrefix: prefix, maxUserConnections: 5 },
    ],
    grants: [
      { name: 'deploys', issuer: ci.issuer, claims: { repository: 'acme/app' }, target: 'orders', roles: [pgReader], ttl: '15m' },
      { name: 'shop-deploys', issuer: ci.issuer, claims: { repository: 'acme/app' }, target: 'shop', roles: [myReader], ttl: '15m' },
    ],
    sweepInterval: '1h',
  });
  const log = createLogger({ level: 'debug', sink: (line) => logs.push(line) });
  service = await startExchangeService({ ...config, audit: { stateDir: join(dir, 'audit') } }, { host: '127.0.0.1', port: 0, tls: { cert: cert.cert, key: tlsKey }, env: {}, now: () => Date.now() + clockShiftMs }, log);
});

after(async () => {
  await service?.close();
  await ci?.close();
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

const ciToken = () => ci.sign({ sub: 'repo:acme/app:ref:refs/heads/main', repository: 'acme/app', ref: 'refs/heads/main', run_id: '9', run_attempt: '1' }, { audience: AUDIENCE });

function clientFor(audience: string) {
  const c = exchangeClient({ url: () => service.url, ca: () => cert.cert, audience, canaries });
  const seen = async (reply: Promise<HttpsReply>) => {
    const r = await reply;
    replies.push(r.text.replace(/"access_token":"[^"]*"/, ''));
    return r;
  };
  return {
    issue: async () => c.credentialOf(await seen(c.exchange(await ciToken()))),
    revoke: async (credential: TargetCredential) => seen(c.post('/v1/revoke', { token: credentialTokenOf(credential), subject_token: await ciToken(), subject_token_type: JWT })),
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

const stillWorks = (work: Promise<unknown>) => work.then(() => true, () => false);

async function noCanaryAnywhere(): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
  const spans = JSON.stringify(flattenOtlpJson(await readFile(join(dir, 'audit', 'audit.otlp.jsonl'), 'utf8')));
  const seen = [...logs, ...replies, spans].join('\n');
  for (const secret of canaries) assert.ok(!seen.includes(secret), 'a secret reached an answer, a log line or a span');
}

test('MariaDB: an expired user holding the sweep lock is swept anyway, its sessions killed', async () => {
  const attacker = await shop.issue();
  const squatter = await myLogin(attacker);
  try {
    const [locked] = await squatter.query('SELECT GET_LOCK(?, 0) AS l', [`sidegate-exchange-sweep:${prefix}`]);
    assert.equal((locked as { l: number }[])[0]!.l, 1, 'any user may take the lock');
    clockShiftMs = 16 * 60_000;
    await service.sweeper.sweepNow();
    assert.ok(!(await myUsers()).includes(attacker.username), 'the expired user is swept');
    assert.equal(await stillWorks(squatter.query('SELECT 1')), false, 'the lock-holding session is killed');
    assert.equal(await stillWorks(myLogin(attacker).then((c) => c.end())), false, 'no new login');
  } finally {
    clockShiftMs = 0;
    squatter.destroy();
  }
  await noCanaryAnywhere();
});

test('PostgreSQL: a role holding its own drop lock is revoked anyway, its session ended', async () => {
  const attacker = await orders.issue();
  const squatter = await pgLogin(attacker);
  try {
    await squatter.query(`SELECT pg_advisory_lock(hashtext('sidegate-exchange'), hashtext($1))`, [attacker.username]);
    const reply = await orders.revoke(attacker);
    assert.equal(reply.status, 200, reply.text);
    assert.ok(!(await pgRoles()).includes(attacker.username), 'the role is dropped');
    assert.equal(await stillWorks(squatter.query('SELECT 1')), false, 'the lock-holding session is ended');
    assert.equal(await stillWorks(pgLogin(attacker).then((c) => c.end())), false, 'no new login');
  } finally {
    await squatter.end().catch(() => undefined);
  }
  await noCanaryAnywhere();
});

test('PostgreSQL: an expired role holding its own drop lock is swept anyway, its session ended', async () => {
  const attacker = await orders.issue();
  const squatter = await pgLogin(attacker);
  try {
    await squatter.query(`SELECT pg_advisory_lock(hashtext('sidegate-exchange'), hashtext($1))`, [attacker.username]);
    clockShiftMs = 16 * 60_000;
    await service.sweeper.sweepNow();
    assert.ok(!(await pgRoles()).includes(attacker.username), 'the expired role is dropped');
    assert.equal(await stillWorks(squatter.query('SELECT 1')), false, 'the session that outlived VALID UNTIL is ended');
  } finally {
    clockShiftMs = 0;
    await squatter.end().catch(() => undefined);
  }
  await noCanaryAnywhere();
});
