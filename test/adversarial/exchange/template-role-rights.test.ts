// Attack: a template role that can manage roles. PostgreSQL 15 lets a CREATEROLE admin grant
// membership in any non-superuser role, CREATEROLE templates included, and role attributes are not
// inherited but are one SET ROLE away. A login issued in such a template rewrites its own
// COMMENT ON ROLE marker (an expiry in 2099, or no marker: never swept), its VALID UNTIL, another
// login's marker (its owner: the revocation is now the attacker's) and even the admin's password.
// The server-file and program roles reach the database server's OS user. The exchange now refuses
// to issue a login in a template that is, or can SET ROLE to, any of those
// (exchange/postgres/postgres-credential-issuer.ts).
//
// Each attack checks: the refusal seen (server_error naming why), the database unchanged (no login
// created), and no canary secret in any answer, log line or audit span.
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
import { exchangeClient } from '../../support/exchange-test-clients.js';
import type { HttpsReply } from '../../support/https-json-client.js';
import { asSuperuser } from '../../support/scratch-postgres-database.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../../support/self-signed-certificate.js';
import { pgInfo, type PgInfo } from '../../support/sidegate-harness.js';
import { startTestIssuer, type TestIssuer } from '../../support/token-issuer.js';

const AUDIENCE = 'sidegate-exchange';
const run = randomBytes(4).toString('hex');
const prefix = `sgxt_${run}_`;
const admin = `sgxt_admin_${run}`;
const reader = `sgxt_reader_${run}`;
/** CREATEROLE itself. */
const manager = `sgxt_manager_${run}`;
/** No attribute, but a member of `manager`: one SET ROLE away from CREATEROLE. */
const nested = `sgxt_nested_${run}`;
/** A member of pg_execute_server_program: COPY … TO PROGRAM runs a shell on the server. */
const shell = `sgxt_shell_${run}`;

let dir: string;
let cert: TestCertificate;
let info: PgInfo;
let ci: TestIssuer;
let service: ExchangeService;
const logs: string[] = [];
const canaries: string[] = [];
const replies: string[] = [];

const superuser = <T>(fn: (c: pg.Client) => Promise<T>) => asSuperuser(info, fn);
const issuedRoles = () => superuser(async (c) => (await c.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1) ORDER BY 1', [prefix])).rows.map((r) => r.rolname));

before(async () => {
  info = await pgInfo();
  dir = await mkdtemp(join(tmpdir(), 'sidegate-exchange-template-'));
  cert = makeSelfSignedCertificate(dir);
  const tlsKey = await readFile(cert.keyFile, 'utf8');
  const adminPassword = randomBytes(18).toString('base64url');
  canaries.push(adminPassword);
  await writeFile(join(dir, 'admin-password'), `${adminPassword}\n`, { mode: 0o600 });
  await superuser(async (c) => {
    await c.query(`CREATE ROLE ${admin} LOGIN CREATEROLE PASSWORD ${pg.escapeLiteral(adminPassword)}`);
    await c.query(`CREATE ROLE ${reader} NOLOGIN`);
    await c.query(`CREATE ROLE ${manager} NOLOGIN CREATEROLE`);
    await c.query(`CREATE ROLE ${nested} NOLOGIN IN ROLE ${manager}`);
    await c.query(`CREATE ROLE ${shell} NOLOGIN IN ROLE pg_execute_server_program`);
  });
  ci = await startTestIssuer({ tls: { cert: cert.cert, key: tlsKey } });
  const config = parseExchangeConfig({
    issuers: [{ issuer: ci.issuer, audience: AUDIENCE, jwksUrl: ci.jwksUrl, caFile: cert.certFile }],
    targets: [{ name: 'orders', protocol: 'postgres', host: info.host, port: info.port, database: info.database, tls: { caFile: info.caFile, serverName: 'localhost' }, admin: { username: admin, passwordFile: join(dir, 'admin-password') }, rolePrefix: prefix }],
    grants: [{ name: 'deploys', issuer: ci.issuer, claims: { repository: 'acme/app' }, target: 'orders', roles: [reader, manager, nested, shell], ttl: '15m' }],
    sweepInterval: '1h',
  });
  const log = createLogger({ level: 'debug', sink: (line) => logs.push(line) });
  service = await startExchangeService({ ...config, audit: { stateDir: join(dir, 'audit') } }, { host: '127.0.0.1', port: 0, tls: { cert: cert.cert, key: tlsKey }, env: {} }, log);
});

after(async () => {
  await service?.close();
  await ci?.close();
  await superuser(async (c) => {
    for (const role of await issuedRoles()) await c.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`).catch(() => undefined);
    for (const role of [nested, shell, manager, reader, admin]) await c.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
  }).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

const client = exchangeClient({ url: () => service.url, ca: () => cert.cert, audience: 'orders', canaries });
const ciToken = () => ci.sign({ sub: 'repo:acme/app:ref:refs/heads/main', repository: 'acme/app', ref: 'refs/heads/main', run_id: '7', run_attempt: '1' }, { audience: AUDIENCE });
async function exchangeFor(scope: string): Promise<HttpsReply> {
  const reply = await client.exchange(await ciToken(), { scope });
  replies.push(reply.text.replace(/"access_token":"[^"]*"/, ''));
  return reply;
}

async function noCanaryAnywhere(): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
  const spans = JSON.stringify(flattenOtlpJson(await readFile(join(dir, 'audit', 'audit.otlp.jsonl'), 'utf8')));
  const seen = [...logs, ...replies, spans].join('\n');
  for (const secret of canaries) assert.ok(!seen.includes(secret), 'a secret reached an answer, a log line or a span');
}

test('the premise, on the real server: a member of a CREATEROLE role rewrites its own marker and VALID UNTIL', async () => {
  const victim = `${prefix}premise`;
  const password = randomBytes(12).toString('hex');
  await superuser((c) => c.query(`CREATE ROLE ${victim} LOGIN PASSWORD ${pg.escapeLiteral(password)} VALID UNTIL '2000-01-01' IN ROLE ${nested}; COMMENT ON ROLE ${victim} IS 'marker'`));
  try {
    await superuser((c) => c.query(`ALTER ROLE ${victim} VALID UNTIL 'infinity'`));
    const own = new pg.Client({ host: info.host, port: info.port, database: info.database, user: victim, password, ssl: { ca: await readFile(info.caFile, 'utf8'), servername: 'localhost' } });
    await own.connect();
    try {
      await own.query(`SET ROLE ${manager}`);
      await own.query(`COMMENT ON ROLE ${victim} IS 'not a marker'`);
      await own.query(`ALTER ROLE ${victim} VALID UNTIL '2099-01-01'`);
    } finally {
      await own.end();
    }
    const row = await superuser(async (c) => (await c.query(`SELECT shobj_description(oid, 'pg_authid') AS d, rolvaliduntil AS v FROM pg_roles WHERE rolname = $1`, [victim])).rows[0]);
    assert.equal(row.d, 'not a marker');
    assert.equal(new Date(row.v).getUTCFullYear(), 2099);
  } finally {
    await superuser((c) => c.query(`DROP ROLE ${victim}`));
  }
});

for (const [what, role] of [
  ['a CREATEROLE template', manager],
  ['a template one SET ROLE away from CREATEROLE', nested],
  ['a template in pg_execute_server_program', shell],
] as const) {
  test(`the exchange refuses a login in ${what}, and creates nothing`, async () => {
    const before = await issuedRoles();
    const reply = await exchangeFor(role);
    assert.equal(reply.status, 500, reply.text);
    assert.equal(reply.json.error, 'server_error');
    assert.match(reply.json.error_description, /can manage roles or reach the server's files/);
    assert.deepEqual(await issuedRoles(), before, 'no login created');
    await noCanaryAnywhere();
  });
}

test('a plain template still gets its login', async () => {
  const reply = await exchangeFor(reader);
  const credential = client.credentialOf(reply);
  assert.ok((await issuedRoles()).includes(credential.username));
  await noCanaryAnywhere();
});
