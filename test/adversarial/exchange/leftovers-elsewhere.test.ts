// Attack: make the exchange create something it cannot sweep. Every role may connect to the
// cluster's other databases (CONNECT is PUBLIC's by default) and, with no grant at all, create a
// large object there or a default ACL for itself. The drop reassigned and dropped what the role
// owned in the exchange's own database only, so DROP ROLE failed (2BP01) at every revocation and
// sweep for good: an expired role, its marker and its large object left on the target forever.
// The drop now also drops what the role owns in the other databases.
//
// Each attack checks: what the attacker sees (the revocation succeeds), the database (the role and
// its large object gone, nothing left), and no canary secret in any answer, log line or span.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { flattenOtlpJson } from '../../../core/audit/index.js';
import { createLogger } from '../../../core/logging/logger.js';
import { parseExchangeConfig } from '../../../exchange/config/exchange-config.js';
import { startExchangeService, type ExchangeService } from '../../../exchange/cli/exchange-command.js';
import type { TargetCredential } from '../../../exchange/protocol/credential-token.js';
import { credentialTokenOf, exchangeClient, JWT } from '../../support/exchange-test-clients.js';
import type { HttpsReply } from '../../support/https-json-client.js';
import { asSuperuser } from '../../support/scratch-postgres-database.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../../support/self-signed-certificate.js';
import { pgInfo, type PgInfo } from '../../support/sidegate-harness.js';
import { startTestIssuer, type TestIssuer } from '../../support/token-issuer.js';

const AUDIENCE = 'sidegate-exchange';
const OTHER_DATABASE = 'postgres';
const run = randomBytes(4).toString('hex');
const prefix = `sgxe_${run}_`;
const admin = `sgxe_admin_${run}`;
const reader = `sgxe_reader_${run}`;

let dir: string;
let cert: TestCertificate;
let info: PgInfo;
let ci: TestIssuer;
let service: ExchangeService;
let clockShiftMs = 0;
const logs: string[] = [];
const canaries: string[] = [];
const replies: string[] = [];

const superuser = <T>(fn: (c: pg.Client) => Promise<T>) => asSuperuser(info, fn);
const issuedRoles = () => superuser(async (c) => (await c.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1) ORDER BY 1', [prefix])).rows.map((r) => r.rolname));

before(async () => {
  info = await pgInfo();
  dir = await mkdtemp(join(tmpdir(), 'sidegate-exchange-leftovers-'));
  cert = makeSelfSignedCertificate(dir);
  const tlsKey = await readFile(cert.keyFile, 'utf8');
  const adminPassword = randomBytes(18).toString('base64url');
  canaries.push(adminPassword);
  await writeFile(join(dir, 'admin-password'), `${adminPassword}\n`, { mode: 0o600 });
  await superuser(async (c) => {
    await c.query(`CREATE ROLE ${admin} LOGIN CREATEROLE PASSWORD ${pg.escapeLiteral(adminPassword)}`);
    await c.query(`CREATE ROLE ${reader} NOLOGIN`);
  });
  ci = await startTestIssuer({ tls: { cert: cert.cert, key: tlsKey } });
  const config = parseExchangeConfig({
    issuers: [{ issuer: ci.issuer, audience: AUDIENCE, jwksUrl: ci.jwksUrl, caFile: cert.certFile }],
    targets: [{ name: 'orders', protocol: 'postgres', host: info.host, port: info.port, database: info.database, tls: { caFile: info.caFile, serverName: 'localhost' }, admin: { username: admin, passwordFile: join(dir, 'admin-password') }, rolePrefix: prefix }],
    grants: [{ name: 'deploys', issuer: ci.issuer, claims: { repository: 'acme/app' }, target: 'orders', roles: [reader], ttl: '15m' }],
    sweepInterval: '1h',
  });
  const log = createLogger({ level: 'debug', sink: (line) => logs.push(line) });
  service = await startExchangeService({ ...config, audit: { stateDir: join(dir, 'audit') } }, { host: '127.0.0.1', port: 0, tls: { cert: cert.cert, key: tlsKey }, env: {}, now: () => Date.now() + clockShiftMs }, log);
});

after(async () => {
  await service?.close();
  await ci?.close();
  const cleanup = async (database: string) => {
    const c = new pg.Client({ host: info.socketDir, port: info.port, database, user: 'postgres' });
    await c.connect();
    try {
      for (const role of await issuedRoles()) await c.query(`DROP OWNED BY ${role}`).catch(() => undefined);
    } finally {
      await c.end();
    }
  };
  await cleanup(OTHER_DATABASE).catch(() => undefined);
  await superuser(async (c) => {
    for (const role of await issuedRoles()) await c.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`).catch(() => undefined);
    for (const role of [reader, admin]) await c.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
  }).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

const client = exchangeClient({ url: () => service.url, ca: () => cert.cert, audience: 'orders', canaries });
const ciToken = () => ci.sign({ sub: 'repo:acme/app:ref:refs/heads/main', repository: 'acme/app', run_id: '3', run_attempt: '1' }, { audience: AUDIENCE });
const seen = async (reply: Promise<HttpsReply>) => {
  const r = await reply;
  replies.push(r.text.replace(/"access_token":"[^"]*"/, ''));
  return r;
};

/** As the issued role, in another database: a large object and a default ACL, no grant needed. */
async function leaveSomethingElsewhere(credential: TargetCredential): Promise<number> {
  const c = new pg.Client({ host: info.host, port: info.port, database: OTHER_DATABASE, user: credential.username, password: credential.password, ssl: { ca: await readFile(info.caFile, 'utf8'), servername: 'localhost' } });
  await c.connect();
  try {
    const oid = Number((await c.query('SELECT lo_create(0) AS oid')).rows[0].oid);
    await c.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${pg.escapeIdentifier(credential.username)} GRANT SELECT ON TABLES TO PUBLIC`);
    return oid;
  } finally {
    await c.end();
  }
}

async function largeObjectExists(oid: number): Promise<boolean> {
  const c = new pg.Client({ host: info.socketDir, port: info.port, database: OTHER_DATABASE, user: 'postgres' });
  await c.connect();
  try {
    return ((await c.query('SELECT 1 FROM pg_largeobject_metadata WHERE oid = $1', [oid])).rowCount ?? 0) > 0;
  } finally {
    await c.end();
  }
}

async function noCanaryAnywhere(): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
  const spans = JSON.stringify(flattenOtlpJson(await readFile(join(dir, 'audit', 'audit.otlp.jsonl'), 'utf8')));
  const text = [...logs, ...replies, spans].join('\n');
  for (const secret of canaries) assert.ok(!text.includes(secret), 'a secret reached an answer, a log line or a span');
}

test('a role that left a large object and a default ACL in another database is revoked all the same', async () => {
  const credential = client.credentialOf(await seen(client.exchange(await ciToken())));
  const oid = await leaveSomethingElsewhere(credential);
  const reply = await seen(client.post('/v1/revoke', { token: credentialTokenOf(credential), subject_token: await ciToken(), subject_token_type: JWT }));
  assert.equal(reply.status, 200, reply.text);
  assert.ok(!(await issuedRoles()).includes(credential.username), 'the role is dropped');
  assert.equal(await largeObjectExists(oid), false, 'its large object is gone with it');
  await noCanaryAnywhere();
});

test('an expired role that left a large object in another database is swept all the same', async () => {
  const credential = client.credentialOf(await seen(client.exchange(await ciToken())));
  const oid = await leaveSomethingElsewhere(credential);
  clockShiftMs = 16 * 60_000;
  try {
    await service.sweeper.sweepNow();
  } finally {
    clockShiftMs = 0;
  }
  assert.ok(!(await issuedRoles()).includes(credential.username), 'the role is swept');
  assert.equal(await largeObjectExists(oid), false);
  assert.ok(!logs.some((l) => l.includes('could not be dropped yet')), 'no failed drop');
  await noCanaryAnywhere();
});
