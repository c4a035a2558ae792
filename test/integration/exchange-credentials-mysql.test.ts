// The sidecar's token-exchange credential source for a MySQL target, against a real exchange
// (in-process, HTTPS) and the test MariaDB 10.11: clients presenting a CI job's token log in
// through the sidecar with the user the exchange created for that job (the pod's token as actor),
// and have the template role's grants; the session span names
// the login and links to the exchange's span; a refusal reaches the client as ERR 1045 (28000)
// and an unreachable exchange as 2003, both naming why, and nothing reaches the target; stopping
// the sidecar revokes the user; no secret is in any log line, span or state file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { createLogger } from '../../core/logging/logger.js';
import { parseExchangeConfig } from '../../exchange/config/exchange-config.js';
import { startExchangeService, type ExchangeService } from '../../exchange/cli/exchange-command.js';
import type { ExchangeOutcome, RevocationOutcome } from '../../exchange/service/exchange-outcome.js';
import type { RunningSidecar } from '../../sidecar/runtime/sidecar-runtime.js';
import { podTokenClaims, startExchangeSidecar } from '../support/exchange-test-clients.js';
import { readOtlpJsonFile } from '../support/otlp-receiver.js';
import { exchangeTargetSql, issuedUsersSql } from '../support/mariadb-exchange-setup.js';
import { IT_DATABASE, outcome, rootSql } from '../support/mariadb-side-by-side.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../support/self-signed-certificate.js';
import { mariaInfo, type MariaInfo } from '../support/sidegate-harness.js';
import { startTestIssuer, type TestIssuer } from '../support/token-issuer.js';

const AUDIENCE = 'sidegate-exchange';
const run = randomBytes(4).toString('hex');
const prefix = `sgn_${run}_`;
const admin = `sgn_admin_${run}`;
const reader = `sgn_reader_${run}`;
const table = `exchange_rows_${run}`;

let dir: string;
let cert: TestCertificate;
let maria: MariaInfo;
let issuer: TestIssuer;
let cluster: TestIssuer;
let exchange: ExchangeService;
const outcomes: (ExchangeOutcome | RevocationOutcome)[] = [];
const logs: string[] = [];
const canaries: string[] = [];

const issuedUsers = async () => (await rootSql(maria, issuedUsersSql(prefix))).split('\n').filter((u) => u !== '');

before(async () => {
  maria = await mariaInfo();
  dir = await mkdtemp(join(tmpdir(), 'sidegate-exsidecar-maria-'));
  cert = makeSelfSignedCertificate(dir);
  const key = await readFile(cert.keyFile, 'utf8');
  const adminPassword = randomBytes(18).toString('base64url');
  canaries.push(adminPassword);
  await writeFile(join(dir, 'admin-password'), adminPassword, { mode: 0o600 });
  await rootSql(maria, exchangeTargetSql({ admin, adminPassword, role: reader, database: IT_DATABASE, table }));
  issuer = await startTestIssuer({ issuer: 'https://ci.test.sidegate', tls: { cert: cert.cert, key } });
  cluster = await startTestIssuer({ issuer: 'https://cluster.test.sidegate', tls: { cert: cert.cert, key } });
  const config = parseExchangeConfig({
    issuers: [
      { issuer: cluster.issuer, audience: AUDIENCE, kubernetes: true, jwksUrl: cluster.jwksUrl, caFile: cert.certFile },
      // The job's token as the client presented it to the sidecar: sidegate's audience.
      { issuer: issuer.issuer, audience: 'sidegate', jwksUrl: issuer.jwksUrl, caFile: cert.certFile },
    ],
    targets: [{ name: 'my', protocol: 'mysql', host: '127.0.0.1', port: maria.port, tls: { caFile: maria.caFile, serverName: 'localhost' }, admin: { username: admin, passwordFile: join(dir, 'admin-password') }, userPrefix: prefix }],
    grants: [{ name: 'app-jobs', issuer: issuer.issuer, claims: { repository: 'acme/app' }, actor: { subject: 'system:serviceaccount:ci:runner' }, target: 'my', roles: [reader], ttl: '10m' }],
    sweepInterval: '1h',
    audit: { stateDir: join(dir, 'exchange-audit') },
  });
  exchange = await startExchangeService(config, { host: '127.0.0.1', port: 0, tls: { cert: cert.cert, key }, env: {}, onOutcome: (o) => outcomes.push(o) }, createLogger({ level: 'error', sink: () => undefined }));
});

after(async () => {
  await exchange?.close();
  await issuer?.close();
  await cluster?.close();
  const users = await issuedUsers().catch(() => []);
  await rootSql(maria, [...users.map((u) => `DROP USER IF EXISTS '${u}'@'%'`), `DROP USER IF EXISTS '${admin}'@'%'`, `DROP ROLE IF EXISTS ${reader}`, `DROP TABLE IF EXISTS ${IT_DATABASE}.${table}`].join(';\n')).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

async function sidecarWith(opts: { url: string; subject?: string }, name: string): Promise<{ sidecar: RunningSidecar; stateDir: string }> {
  const policy = `version: 1
identities:
  - { name: ci, issuer: "${issuer.issuer}", audiences: [sidegate], jwks: ${JSON.stringify(issuer.jwks)} }
targets:
  - { name: my, protocol: mysql, address: "127.0.0.1:${maria.port}", database: ${IT_DATABASE}, tls: { mode: verify-full, ca: ${maria.caFile}, serverName: localhost }, credentials: { exchange: {} }, listen: "127.0.0.1:0" }
rules:
  - { name: reads, identities: [ci], when: { statements: [read, session] }, action: allow }
`;
  const [namespace, account] = (opts.subject ?? 'system:serviceaccount:ci:runner').split(':').slice(2);
  const podToken = await cluster.sign(podTokenClaims(namespace, account), { audience: AUDIENCE, expiresIn: 600 });
  canaries.push(podToken);
  return startExchangeSidecar({ dir, name, policy, url: opts.url, podToken, ca: cert.cert, logs });
}

async function client(sidecar: RunningSidecar): Promise<mysql.Connection> {
  const port = sidecar.listeners.find((l) => l.target === 'my')!.port;
  // A job of acme/app: the sidecar exchanges its token, with the pod's as actor, for the job's user.
  const token = await issuer.sign({ sub: 'repo:acme/app:ref:refs/heads/main', repository: 'acme/app', ref: 'refs/heads/main', run_id: '7' });
  canaries.push(token);
  const conn = await mysql.createConnection({ host: '127.0.0.1', port, user: 'ci', password: token, database: IT_DATABASE, enableCleartextPlugin: true });
  conn.on('error', () => undefined);
  return conn;
}

test('a job\'s sessions log in with the user the exchange created for its token (the pod acting) and have the template role\'s grants', async () => {
  const before = outcomes.length;
  const { sidecar, stateDir } = await sidecarWith({ url: exchange.url }, 'main');
  try {
    const clients = await Promise.all(Array.from({ length: 3 }, () => client(sidecar)));
    const users = await Promise.all(clients.map(async (c) => ((await c.query<mysql.RowDataPacket[]>('SELECT CURRENT_USER() AS u'))[0][0]!['u'] as string).replace(/@%$/, '')));
    const issued = await issuedUsers();
    assert.equal(issued.length, 1, `one user for the job: ${issued.join(',')}`);
    assert.deepEqual(new Set(users), new Set(issued), 'every session is that user');
    const exchanges = outcomes.slice(before).filter((o): o is ExchangeOutcome => o.kind === 'exchange');
    assert.equal(exchanges.length, 1, 'three concurrent sessions, one exchange');
    assert.equal(exchanges[0]!.grant, 'app-jobs');
    assert.equal(exchanges[0]!.actor?.subject, 'system:serviceaccount:ci:runner');
    const [rows] = await clients[0]!.query<mysql.RowDataPacket[]>(`SELECT count(*) AS n FROM ${table}`);
    assert.equal(rows[0]!['n'], 3, "the template role's grants apply to a plain login");
    await Promise.all(clients.map((c) => c.end()));
    await new Promise((r) => setTimeout(r, 200));
    await sidecar.audit.flush();
    const sessions = readOtlpJsonFile(join(stateDir, 'audit.otlp.jsonl')).filter((s) => s.attributes['sidegate.credential.login'] !== undefined);
    assert.equal(sessions.length, 3);
    const issuedSpan = (outcomes.slice(before).find((o) => o.kind === 'exchange') as ExchangeOutcome).username;
    for (const s of sessions) {
      assert.equal(s.attributes['sidegate.credential.login'], issued[0]);
      assert.equal(s.attributes['sidegate.credential.source'], 'exchange');
      assert.equal(s.attributes['db.system.name'], 'mariadb');
      assert.equal(s.links?.length, 1, "linked to the exchange's span");
      assert.ok(issuedSpan!.endsWith(`${s.links![0]!.traceId}${s.links![0]!.spanId}`), 'the span the user name holds');
    }
  } finally {
    await sidecar.stop(1000);
  }
  assert.deepEqual(await issuedUsers(), [], 'stopping the sidecar revoked the user');
  assert.ok(outcomes.some((o) => o.kind === 'revocation' && o.decision === 'revoked'), 'by POST /v1/revoke');
});

test('refused: ERR 1045 (28000) naming the exchange\'s error; unreachable: 2003; nothing reaches the target', async () => {
  const { sidecar } = await sidecarWith({ url: exchange.url, subject: 'system:serviceaccount:other:thief' }, 'refused');
  try {
    const refused = await outcome(client(sidecar));
    assert.ok('error' in refused);
    assert.equal(refused.error.errno, 1045);
    assert.equal(refused.error.sqlState, '28000');
    assert.match(refused.error.sqlMessage ?? '', /token exchange refused a credential for target "my": invalid_target/);
    assert.deepEqual(await issuedUsers(), []);
  } finally {
    await sidecar.stop(1000);
  }
  const { sidecar: down } = await sidecarWith({ url: 'https://127.0.0.1:1' }, 'down');
  try {
    const unreachable = await outcome(client(down));
    assert.ok('error' in unreachable);
    assert.equal(unreachable.error.errno, 2003);
    assert.match(unreachable.error.sqlMessage ?? '', /token exchange at https:\/\/127\.0\.0\.1:1 cannot be reached \(ECONNREFUSED\)/);
  } finally {
    await down.stop(1000);
  }
});

test('no token, password or admin secret in any log line, span or state file', async () => {
  const texts = [...logs];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.parentPath.includes('-state')) texts.push(await readFile(join(entry.parentPath, entry.name), 'utf8').catch(() => ''));
  }
  for (const canary of canaries) for (const text of texts) assert.ok(!text.includes(canary), 'a secret was written out');
  assert.ok(logs.some((l) => l.includes('credential obtained by token exchange')));
});
