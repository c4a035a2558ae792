// The token exchange's /metrics over HTTPS against the test PostgreSQL 15: after an issued, a
// refused and an unreachable-target exchange, a revocation (twice) and a sweep that drops an
// expired credential, promtool accepts the exposition and the counts are those answers; no
// subject, role or login appears in it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createLogger } from '../../core/logging/logger.js';
import { parseExchangeConfig } from '../../exchange/config/exchange-config.js';
import { startExchangeService, type ExchangeService } from '../../exchange/cli/exchange-command.js';
import { decodeCredentialToken } from '../../exchange/protocol/credential-token.js';
import { httpsRequest, type HttpsReply } from '../support/https-json-client.js';
import { podTokenClaims } from '../support/exchange-test-clients.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../support/self-signed-certificate.js';
import { pgInfo, type PgInfo } from '../support/sidegate-harness.js';
import { asSuperuser } from '../support/scratch-postgres-database.js';
import { startTestIssuer, type TestIssuer } from '../support/token-issuer.js';
import { parseSamples, promtoolCheck, sampleValue } from '../support/prometheus-text.js';

const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT = 'urn:ietf:params:oauth:token-type:jwt';
const AUDIENCE = 'sidegate-exchange';
const run = randomBytes(4).toString('hex');
const prefix = `sgm_${run}_`;
const adminRole = `sgm_admin_${run}`;
const reader = `sgm_reader_${run}`;

let dir: string;
let cert: TestCertificate;
let info: PgInfo;
let ci: TestIssuer;
/** The pods' issuer: the sidecar's token acts for every CI token and proves ownership at revocation. */
let cluster: TestIssuer;
let service: ExchangeService;
let clockShiftMs = 0;

const superuser = <T>(fn: (c: pg.Client) => Promise<T>) => asSuperuser(info, fn);

before(async () => {
  info = await pgInfo();
  dir = await mkdtemp(join(tmpdir(), 'sidegate-exchange-metrics-'));
  cert = makeSelfSignedCertificate(dir);
  const tlsKey = await readFile(cert.keyFile, 'utf8');
  const adminPassword = randomBytes(18).toString('base64url');
  await writeFile(join(dir, 'admin-password'), `${adminPassword}\n`, { mode: 0o600 });
  await superuser(async (c) => {
    await c.query(`CREATE ROLE ${adminRole} LOGIN CREATEROLE PASSWORD ${pg.escapeLiteral(adminPassword)}`);
    await c.query(`CREATE ROLE ${reader} NOLOGIN`);
  });
  ci = await startTestIssuer({ tls: { cert: cert.cert, key: tlsKey } });
  cluster = await startTestIssuer({ issuer: 'https://kubernetes.default.svc.cluster.local', tls: { cert: cert.cert, key: tlsKey } });
  const actor = { claims: { 'kubernetes.io.namespace': 'ci' } };
  const admin = { username: adminRole, passwordFile: join(dir, 'admin-password') };
  const config = parseExchangeConfig({
    issuers: [
      { issuer: ci.issuer, audience: AUDIENCE, jwksUrl: ci.jwksUrl, caFile: cert.certFile },
      { issuer: cluster.issuer, audience: AUDIENCE, kubernetes: true, jwksUrl: cluster.jwksUrl, caFile: cert.certFile },
    ],
    targets: [
      { name: 'orders', protocol: 'postgres', host: info.host, port: info.port, database: info.database, tls: { caFile: info.caFile, serverName: 'localhost' }, admin, rolePrefix: prefix },
      { name: 'down', protocol: 'postgres', host: '127.0.0.1', port: 1, database: 'x', admin, rolePrefix: prefix },
    ],
    grants: [
      { name: 'app-main', issuer: ci.issuer, claims: { repository: 'acme/app' }, actor, target: 'orders', roles: [reader], ttl: '15m' },
      { name: 'down-grant', issuer: ci.issuer, claims: { repository: 'acme/app' }, actor, target: 'down', roles: [reader], ttl: '15m' },
    ],
    sweepInterval: '1h',
  });
  const log = createLogger({ level: 'error', sink: () => undefined });
  service = await startExchangeService({ ...config, audit: { stateDir: join(dir, 'audit') } }, { host: '127.0.0.1', port: 0, tls: { cert: cert.cert, key: tlsKey }, now: () => Date.now() + clockShiftMs, env: {} }, log);
});

after(async () => {
  await service?.close();
  await ci?.close();
  await cluster?.close();
  await superuser(async (c) => {
    const roles = (await c.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)', [prefix])).rows;
    for (const { rolname } of roles) await c.query(`DROP ROLE ${rolname}`).catch(() => undefined);
    await c.query(`DROP ROLE IF EXISTS ${reader}`);
    await c.query(`DROP ROLE IF EXISTS ${adminRole}`);
  }).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

function ciToken(claims: Record<string, unknown> = {}): Promise<string> {
  return ci.sign({ sub: 'repo:acme/app:canary-subject', repository: 'acme/app', ...claims }, { audience: AUDIENCE });
}

function post(path: string, form: Record<string, string>): Promise<HttpsReply> {
  return httpsRequest(`${service.url}${path}`, { ca: cert.cert, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
}

const podToken = () => cluster.sign(podTokenClaims(), { audience: AUDIENCE });

/** As the sidecar asks for a job: the job's token, its own pod token as actor. */
const exchange = async (audience: string, claims: Record<string, unknown> = {}) =>
  post('/v1/token', { grant_type: GRANT_TYPE, subject_token: await ciToken(claims), subject_token_type: JWT, actor_token: await podToken(), actor_token_type: JWT, audience });

test('/metrics counts exchanges, refusals by error code, revocations, issuer work and sweeps', async () => {
  const issued = await exchange('orders');
  assert.equal(issued.status, 200, issued.text);
  const credential = decodeCredentialToken(issued.json.access_token)!;
  const expiring = decodeCredentialToken((await exchange('orders')).json.access_token)!;
  const refused = await exchange('orders', { repository: 'evil/app' });
  assert.ok(refused.status >= 400 && refused.status < 500, refused.text);
  const down = await exchange('down');
  assert.ok(down.status >= 500, down.text);
  const token = Buffer.from(JSON.stringify({ v: 1, ...credential })).toString('base64url');
  assert.equal((await post('/v1/revoke', { token, subject_token: await podToken() })).status, 200);
  assert.equal((await post('/v1/revoke', { token, subject_token: await podToken() })).status, 200, 'already gone: unknown');
  clockShiftMs = 16 * 60_000; // the second credential expired
  await service.sweeper.sweepNow();
  clockShiftMs = 0;

  const reply = await httpsRequest(`${service.url}/metrics`, { ca: cert.cert });
  assert.equal(reply.status, 200);
  const check = promtoolCheck(reply.text);
  assert.deepEqual(check.problems.filter((p) => !/^nodejs_active_(handles|requests|resources)_total /.test(p)), [], check.problems.join('\n'));
  const samples = parseSamples(reply.text);
  const v = (name: string, labels: Record<string, string> = {}) => sampleValue(samples, name, labels);
  assert.equal(v('sidegate_exchange_exchanges_total', { outcome: 'issued' }), 2);
  assert.equal(v('sidegate_exchange_exchanges_total', { outcome: String(refused.json.error) }), 1);
  assert.equal(v('sidegate_exchange_exchanges_total', { outcome: String(down.json.error) }), 1);
  assert.equal(v('sidegate_exchange_revocations_total', { outcome: 'revoked' }), 1);
  assert.equal(v('sidegate_exchange_revocations_total', { outcome: 'unknown' }), 1);
  assert.equal(v('sidegate_exchange_request_duration_seconds_count', { kind: 'exchange' }), 4);
  assert.equal(v('sidegate_exchange_issuer_duration_seconds_count', { target: 'orders', operation: 'issue' }), 2);
  assert.equal(v('sidegate_exchange_issuer_failures_total', { target: 'down', operation: 'issue' }), 1);
  assert.ok((v('sidegate_exchange_sweeps_total', { target: 'orders' }) ?? 0) >= 2, 'the start-up sweep and this one');
  assert.equal(v('sidegate_exchange_swept_credentials_total', { target: 'orders' }), 1);
  assert.equal(v('sidegate_audit_healthy'), 1);
  assert.doesNotMatch(reply.text, /canary-subject|acme\/app|sgm_/, 'no subject, claim or role in the metrics');
  assert.ok(!credential.password || !reply.text.includes(credential.password));
  assert.ok(expiring.username.startsWith(prefix));
});
