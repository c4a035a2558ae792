// The token exchange against the test MariaDB 10.11 with a least-privileged admin (CREATE USER,
// SELECT (Host, User) on mysql.global_priv, CONNECTION ADMIN, the template role WITH ADMIN
// OPTION): an exchanged credential is a user whose default role is the template role and that
// can do nothing more (no GRANT onward); its password reaches the server only as its hash; the
// owner's revocation drops it and kills its sessions, another identity's is refused; expired
// users are swept (also by a restarted exchange, and by two replicas at once exactly once);
// users that are not ours are never touched; a name that exists already is never reused;
// refusals answer the RFC's error, create nothing and are spans; no secret is logged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { flattenOtlpJson, verifyChain } from '../../core/audit/index.js';
import { createLogger } from '../../core/logging/logger.js';
import { parseExchangeConfig, type ExchangeConfig, type MysqlTargetConfig } from '../../exchange/config/exchange-config.js';
import { startExchangeService, type ExchangeService } from '../../exchange/cli/exchange-command.js';
import { ownerHash, ownerInstance } from '../../exchange/identity/owner-hash.js';
import { MysqlCredentialIssuer } from '../../exchange/mysql/mysql-credential-issuer.js';
import { nativePasswordHash } from '../../exchange/mysql/native-password-hash.js';
import type { TargetCredential } from '../../exchange/protocol/credential-token.js';
import { CredentialIssueError } from '../../exchange/service/credential-issuer.js';
import type { ExchangeOutcome, RevocationOutcome } from '../../exchange/service/exchange-outcome.js';
import { credentialTokenOf, delegatingExchange, exchangeClient, JWT, podTokenClaims } from '../support/exchange-test-clients.js';
import { IT_DATABASE, rootSql } from '../support/mariadb-side-by-side.js';
import { exchangeTargetSql, issuedUsersSql } from '../support/mariadb-exchange-setup.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../support/self-signed-certificate.js';
import { mariaInfo, type MariaInfo } from '../support/sidegate-harness.js';
import { startTestIssuer, type TestIssuer } from '../support/token-issuer.js';

const AUDIENCE = 'sidegate-exchange';
const run = randomBytes(4).toString('hex');
const prefix = `sgm_${run}_`;
const admin = `sgm_admin_${run}`;
const reader = `sgm_reader_${run}`;
/** A role the admin holds without ADMIN OPTION: it may not hand it on. */
const ungrantable = `sgm_other_${run}`;
const table = `exchange_items_${run}`;

let dir: string;
let cert: TestCertificate;
let tlsKey: string;
let maria: MariaInfo;
let ci: TestIssuer;
/** The pods' issuer: a sidecar's token is the actor of every CI exchange. */
let cluster: TestIssuer;
const CLUSTER_ISSUER = 'https://kubernetes.default.svc.cluster.local';
/** Who owns a credential the sidecar obtained for a job: the sidecar's pod (the actor). */
const POD_SUBJECT = 'system:serviceaccount:ci:runner';
let config: ExchangeConfig;
let service: ExchangeService;
let clockShiftMs = 0;
const logs: string[] = [];
const outcomes: (ExchangeOutcome | RevocationOutcome)[] = [];
const canaries: string[] = [];

const root = (sql: string) => rootSql(maria, sql);
const lines = (text: string) => text.split('\n').filter((l) => l !== '');
const issuedUsers = async () => lines(await root(issuedUsersSql(prefix)));
const shopTarget = () => config.targets[0] as MysqlTargetConfig;

function start(stateDir = 'audit-a'): Promise<ExchangeService> {
  const log = createLogger({ level: 'debug', sink: (line) => logs.push(line) });
  return startExchangeService(
    { ...config, audit: { stateDir: join(dir, stateDir) } },
    { host: '127.0.0.1', port: 0, tls: { cert: cert.cert, key: tlsKey }, now: () => Date.now() + clockShiftMs, env: {}, onOutcome: (o) => outcomes.push(o) },
    log,
  );
}

before(async () => {
  maria = await mariaInfo();
  dir = await mkdtemp(join(tmpdir(), 'sidegate-exchange-maria-'));
  cert = makeSelfSignedCertificate(dir);
  tlsKey = await readFile(cert.keyFile, 'utf8');
  const adminPassword = randomBytes(18).toString('base64url');
  canaries.push(adminPassword);
  await writeFile(join(dir, 'admin-password'), `${adminPassword}\n`, { mode: 0o600 });
  await root(
    `${exchangeTargetSql({ admin, adminPassword, role: reader, database: IT_DATABASE, table })}
     CREATE ROLE ${ungrantable};
     GRANT ${ungrantable} TO '${admin}'@'%';`,
  );
  ci = await startTestIssuer({ tls: { cert: cert.cert, key: tlsKey } });
  cluster = await startTestIssuer({ issuer: CLUSTER_ISSUER, tls: { cert: cert.cert, key: tlsKey } });
  const actor = { claims: { 'kubernetes.io.namespace': 'ci' } };
  const target = (name: string, extra: Record<string, unknown>) => ({
    name, protocol: 'mysql', host: '127.0.0.1', port: maria.port, tls: { caFile: maria.caFile, serverName: 'localhost' },
    admin: { username: admin, passwordFile: join(dir, 'admin-password') }, userPrefix: prefix, maxUserConnections: 5, ...extra,
  });
  config = parseExchangeConfig({
    issuers: [
      { issuer: ci.issuer, audience: AUDIENCE, jwksUrl: ci.jwksUrl, caFile: cert.certFile },
      { issuer: CLUSTER_ISSUER, audience: AUDIENCE, kubernetes: true, jwksUrl: cluster.jwksUrl, caFile: cert.certFile },
    ],
    targets: [
      target('shop', {}),
      // The server's certificate does not name db.example.com: the admin login must never be sent.
      target('misnamed', { tls: { caFile: maria.caFile, serverName: 'db.example.com' } }),
      target('down', { port: 1 }),
    ],
    grants: [
      { name: 'app-main', issuer: ci.issuer, claims: { repository: 'acme/app', ref: 'refs/heads/main' }, actor, target: 'shop', roles: [reader, ungrantable], ttl: '15m' },
      { name: 'misnamed-grant', issuer: ci.issuer, claims: { repository: 'acme/app' }, actor, target: 'misnamed', roles: [reader], ttl: '15m' },
      { name: 'down-grant', issuer: ci.issuer, claims: { repository: 'acme/app' }, actor, target: 'down', roles: [reader], ttl: '15m' },
    ],
    sweepInterval: '1h',
  });
  service = await start();
});

after(async () => {
  await service?.close();
  await ci?.close();
  await cluster?.close();
  const users = await issuedUsers().catch(() => []);
  await root(
    [...users.map((u) => `DROP USER IF EXISTS '${u}'@'%'; DROP USER IF EXISTS '${u}'@'localhost';`), `DROP USER IF EXISTS '${admin}'@'%'`, `DROP ROLE IF EXISTS ${reader}`, `DROP ROLE IF EXISTS ${ungrantable}`, `DROP TABLE IF EXISTS ${IT_DATABASE}.${table}`].join(';\n'),
  ).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

function ciToken(claims: Record<string, unknown> = {}, opts: { audience?: string; expiresIn?: number } = {}): Promise<string> {
  return ci.sign({ sub: 'repo:acme/app:ref:refs/heads/main', repository: 'acme/app', ref: 'refs/heads/main', ...claims }, { audience: opts.audience ?? AUDIENCE, expiresIn: opts.expiresIn ?? 300 });
}

/** The sidecar's pod token (the exchange's audience): the actor, and the owner's proof at revocation. */
const podToken = () => cluster.sign(podTokenClaims(), { audience: AUDIENCE });

const client = exchangeClient({ url: () => service.url, ca: () => cert.cert, audience: 'shop', canaries });
const { post, credentialOf } = client;
const exchange = delegatingExchange(client, podToken);

/** mysql2 as the issued user, verify-full TLS like the sidecar's upstream leg. */
async function login(credential: Pick<TargetCredential, 'username' | 'password'>): Promise<mysql.Connection> {
  const conn = await mysql.createConnection({
    host: 'localhost', port: maria.port, user: credential.username, password: credential.password, database: IT_DATABASE,
    ssl: { ca: await readFile(maria.caFile), rejectUnauthorized: true }, connectTimeout: 5000,
  });
  conn.on('error', () => undefined);
  return conn;
}

const errnoOf = (work: Promise<unknown>) => work.then(() => 0, (err: { errno?: number }) => err.errno);

async function exchangeSpans() {
  await new Promise((r) => setTimeout(r, 300));
  return flattenOtlpJson(await readFile(join(dir, 'audit-a', 'audit.otlp.jsonl'), 'utf8'));
}

test('a CI token with a grant gets a MariaDB user whose default role is the template role, and nothing more', async () => {
  const reply = await exchange(await ciToken());
  const credential = credentialOf(reply);
  assert.equal(credential.protocol, 'mysql');
  assert.equal(reply.json.scope, reader);
  assert.ok(reply.json.expires_in > 14 * 60 && reply.json.expires_in <= 15 * 60, String(reply.json.expires_in));
  assert.ok(credential.username.startsWith(prefix) && credential.username.length <= 128, credential.username);
  assert.ok(credential.username.includes(`${Date.parse(credential.expiresAt) / 1000}_${ownerHash(CLUSTER_ISSUER, POD_SUBJECT, ownerInstance(podTokenClaims())).slice(0, 24)}_t`), 'the name holds the expiry and the owner (the sidecar\'s pod that acted)');
  assert.deepEqual(await issuedUsers(), [credential.username]);
  assert.match(await root(`SHOW GRANTS FOR '${credential.username}'@'%'`), /WITH MAX_USER_CONNECTIONS 5/);

  const conn = await login(credential);
  try {
    const [who] = await conn.query<mysql.RowDataPacket[]>('SELECT CURRENT_ROLE() AS role, (SELECT count(*) FROM ' + table + ') AS n');
    assert.deepEqual({ ...who[0] }, { role: reader, n: 3 });
    assert.equal(await errnoOf(conn.query('SELECT count(*) FROM sidegate_test.customers')), 1142, 'only what the role grants');
    assert.equal(await errnoOf(conn.query(`GRANT ${reader} TO '${credential.username}'@'%'`)), 1698, 'no GRANT onward: no ADMIN OPTION');
    assert.equal(await errnoOf(conn.query(`GRANT SELECT ON ${IT_DATABASE}.${table} TO '${credential.username}'@'%'`)), 1142, 'no GRANT OPTION');
    assert.equal(await errnoOf(conn.query(`CREATE USER 'sgm_escalate_${run}'@'%'`)), 1227);
  } finally {
    await conn.end();
  }
  const outcome = outcomes.at(-1) as ExchangeOutcome;
  assert.equal(outcome.decision, 'issued');
  assert.equal(outcome.username, credential.username);
  const span = (await exchangeSpans()).find((s) => s.attributes['sidegate.exchange.login'] === credential.username)!;
  assert.equal(span.name, 'token exchange');
  assert.equal(span.attributes['sidegate.target'], 'shop');
  assert.equal(span.attributes['sidegate.exchange.role'], reader);
  assert.equal(span.attributes['sidegate.exchange.expires_at'], credential.expiresAt);
  assert.equal(span.attributes['sidegate.exchange.decision'], 'issued');
  assert.ok(credential.username.endsWith(`${span.traceId}${span.spanId}`), 'the name holds the issuing span');
});

test('the password reaches MariaDB only as its mysql_native_password hash', async () => {
  const credential = credentialOf(await exchange(await ciToken()));
  const [plugin, stored] = (await root(`SELECT JSON_VALUE(Priv, '$.plugin'), JSON_VALUE(Priv, '$.authentication_string') FROM mysql.global_priv WHERE User = '${credential.username}'`)).split('\t');
  assert.equal(plugin, 'mysql_native_password');
  assert.equal(stored, nativePasswordHash(credential.password));
});

test('revocation by the owner (the sidecar that acted) drops the user and kills its sessions; another identity is refused', async () => {
  const credential = credentialOf(await exchange(await ciToken()));
  const other = credentialOf(await exchange(await ciToken()));
  const session = await login(credential);
  const sleeping = errnoOf(session.query('SELECT SLEEP(30)'));

  const stranger = await post('/v1/revoke', { token: credentialTokenOf(credential), subject_token: await ciToken({ sub: 'repo:evil/app:ref:refs/heads/main' }), subject_token_type: JWT });
  assert.equal(stranger.status, 400);
  assert.equal(stranger.json.error, 'unauthorized_client');
  assert.ok((await issuedUsers()).includes(credential.username), "another identity cannot revoke it");

  const started = Date.now();
  const revoked = await post('/v1/revoke', { token: credentialTokenOf(credential), subject_token: await podToken() });
  assert.equal(revoked.status, 200, revoked.text);
  assert.notEqual(await sleeping, 0, 'the running session was killed');
  assert.ok(Date.now() - started < 20_000, 'killed, not finished');
  assert.ok(!(await issuedUsers()).includes(credential.username));
  // For a user it does not know, MariaDB answers with a made-up plugin switch (no user enumeration).
  await assert.rejects(login(credential));
  assert.ok((await issuedUsers()).includes(other.username), 'only the revoked credential is gone');
  const again = await post('/v1/revoke', { token: credentialTokenOf(credential), subject_token: await podToken() });
  assert.equal(again.status, 200, 'revoking what is gone is not an error (RFC 7009)');
  assert.equal((outcomes.at(-1) as RevocationOutcome).decision, 'unknown');
});

test('adversarial: a revocation naming a user that is not ours, or forged to look like a victim\'s, touches nothing', async () => {
  const victim = credentialOf(await exchange(await ciToken({ sub: 'repo:acme/victim:ref:refs/heads/main' })));
  const attacker = await ciToken({ sub: 'repo:evil/app:ref:refs/heads/main' });
  for (const username of [admin, maria.users.native.user, 'root', `${prefix}reporting`]) {
    const reply = await post('/v1/revoke', { token: credentialTokenOf({ ...victim, username }), subject_token: attacker });
    assert.equal(reply.status, 200, reply.text);
    assert.equal((outcomes.at(-1) as RevocationOutcome).decision, 'unknown', username);
  }
  assert.match(await root(`SELECT count(*) FROM mysql.global_priv WHERE User IN ('${admin}', '${maria.users.native.user}')`), /^2$/);
  // The victim's exact name with the attacker's proof: the owner part of the name is not theirs.
  const forged = await post('/v1/revoke', { token: credentialTokenOf({ ...victim, password: 'x' }), subject_token: attacker });
  assert.equal(forged.json.error, 'unauthorized_client');
  assert.ok((await issuedUsers()).includes(victim.username));
  await (await login(victim)).end();
});

test('adversarial: a user name that exists already is never reused, and the existing user keeps working', async () => {
  const issuer = await MysqlCredentialIssuer.open(shopTarget(), createLogger({ level: 'error', sink: () => undefined }));
  const request = { role: reader, ttlMs: 600_000, grant: 'app-main', owner: ownerHash(ci.issuer, 'repo:acme/app:ref:refs/heads/main'), nowMs: Date.now(), issuedBy: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01` };
  const first = await issuer.issue(request);
  canaries.push(first.password);
  await assert.rejects(issuer.issue(request), (err: unknown) => err instanceof CredentialIssueError && !err.unavailable && /refused \(1396\)/.test(err.message));
  assert.ok((await issuedUsers()).includes(first.username), 'the failed attempt dropped nothing of the first');
  const conn = await login(first);
  const [rows] = await conn.query<mysql.RowDataPacket[]>(`SELECT count(*) AS n FROM ${table}`);
  assert.equal(rows[0]!['n'], 3, 'with its own password and role');
  await conn.end();
});

test('a template role the admin may not grant: server_error, and no user is left behind', async () => {
  const before = await issuedUsers();
  const reply = await exchange(await ciToken(), { scope: ungrantable });
  assert.equal(reply.status, 500, reply.text);
  assert.equal(reply.json.error, 'server_error');
  assert.match(reply.json.error_description, /template role does not exist on the target or the admin may not grant it/);
  assert.deepEqual(await issuedUsers(), before);
});

test('refusals answer the RFC error, create nothing in MariaDB, and are spans', async () => {
  const before = await issuedUsers();
  for (const [name, token, error, description] of [
    ['another audience', await ciToken({}, { audience: 'sidegate-broker' }), 'invalid_request', /audience/],
    ['expired', await ciToken({}, { expiresIn: -120 }), 'invalid_request', /expired/],
    ['no grant', await ciToken({ repository: 'acme/other' }), 'invalid_target', /grant/],
  ] as const) {
    const reply = await exchange(token);
    assert.equal(reply.status, 400, `${name}: ${reply.text}`);
    assert.equal(reply.json.error, error, name);
    assert.match(reply.json.error_description, description, name);
  }
  assert.deepEqual(await issuedUsers(), before);
  const errors = (await exchangeSpans()).map((s) => s.attributes['sidegate.exchange.error']);
  for (const error of ['invalid_request', 'invalid_target']) assert.ok(errors.includes(error), `${error}: ${JSON.stringify(errors)}`);
});

test('a target that cannot be reached, or whose certificate does not name its serverName: temporarily_unavailable, nothing sent', async () => {
  for (const audience of ['down', 'misnamed']) {
    const reply = await exchange(await ciToken(), { audience });
    assert.equal(reply.status, 503, `${audience}: ${reply.text}`);
    assert.equal(reply.json.error, 'temporarily_unavailable');
    assert.match(reply.json.error_description, /could not be reached/);
  }
});

test('an expired user is swept and its sessions killed; a restarted exchange sweeps what it left behind', async () => {
  const credential = credentialOf(await exchange(await ciToken()));
  const session = await login(credential);
  const sleeping = errnoOf(session.query('SELECT SLEEP(30)'));
  clockShiftMs = 16 * 60_000;
  try {
    await service.sweeper.sweepNow();
    assert.ok(!(await issuedUsers()).includes(credential.username));
    assert.notEqual(await sleeping, 0, 'its session was killed');
    // Left by an exchange that crashed: issued (already expired) and never revoked.
    const issuer = await MysqlCredentialIssuer.open(shopTarget(), createLogger({ level: 'error', sink: () => undefined }));
    const left = await issuer.issue({ role: reader, ttlMs: 60_000, grant: 'app-main', owner: ownerHash(ci.issuer, 'x'), nowMs: Date.now() - 120_000 });
    canaries.push(left.password);
    await service.close();
    service = await start('audit-b');
    await service.sweeper.sweepNow();
    assert.ok(!(await issuedUsers()).includes(left.username), 'swept at start');
    const expired = flattenOtlpJson(await readFile(join(dir, 'audit-a', 'audit.otlp.jsonl'), 'utf8')).find((s) => s.name === 'credential expired' && s.attributes['sidegate.exchange.login'] === credential.username);
    assert.ok(expired, 'a credential expired span');
    assert.equal(credential.username.endsWith(`${expired.traceId}${expired.links?.[0]?.spanId ?? ''}`), true, "in the issuing exchange's trace, linked to its span");
  } finally {
    clockShiftMs = 0;
  }
});

test('two replicas sweeping the same expired users at once drop each exactly once, without failures', async () => {
  const quiet = createLogger({ level: 'error', sink: () => undefined });
  const [a, b] = [await MysqlCredentialIssuer.open(shopTarget(), quiet), await MysqlCredentialIssuer.open(shopTarget(), quiet)];
  const issued = [];
  for (let i = 0; i < 4; i++) issued.push(await a.issue({ role: reader, ttlMs: 60_000, grant: 'app-main', owner: ownerHash(ci.issuer, `s${i}`), nowMs: Date.now() - 120_000 }));
  const results = await Promise.all([a.sweep(Date.now()), b.sweep(Date.now()), a.sweep(Date.now())]);
  const dropped = results.flatMap((r) => r.dropped.map((d) => d.username));
  assert.equal(results.reduce((n, r) => n + r.failed, 0), 0);
  for (const { username } of issued) assert.equal(dropped.filter((u) => u === username).length, 1, username);
  for (const { username } of issued) assert.ok(!(await issuedUsers()).includes(username));
});

test('users that are not ours are never swept: another form, another host, another prefix', async () => {
  const zeros = `1000000000_${'0'.repeat(24)}_r${'0'.repeat(48)}`;
  const strangers = [[`${prefix}reporting`, '%'], [`${prefix}${zeros}`, 'localhost'], [`sgm_${run}x${zeros}`, '%']] as const;
  const list = strangers.map(([u]) => `'${u}'`).join(', ');
  await root(strangers.map(([u, h]) => `CREATE USER '${u}'@'${h}'`).join('; '));
  try {
    const issuer = await MysqlCredentialIssuer.open(shopTarget(), createLogger({ level: 'error', sink: () => undefined }));
    const dropped = (await issuer.sweep(Date.now() + 48 * 3_600_000)).dropped.map((d) => d.username);
    assert.ok(!strangers.some(([u]) => dropped.includes(u)), dropped.join(' '));
    assert.equal(await root(`SELECT count(*) FROM mysql.global_priv WHERE User IN (${list})`), '3');
  } finally {
    await root(strangers.map(([u, h]) => `DROP USER IF EXISTS '${u}'@'${h}'`).join('; '));
  }
});

test('the audit trail is one hash chain, and no token, password or admin secret is in any span or log line', async () => {
  const spans = flattenOtlpJson(await readFile(join(dir, 'audit-a', 'audit.otlp.jsonl'), 'utf8'));
  assert.equal(verifyChain(spans).ok, true);
  const text = JSON.stringify(spans) + logs.join('\n');
  for (const secret of canaries) assert.ok(!text.includes(secret), 'a secret was recorded');
});
