// The sidecar's token-exchange credential source against a real exchange (in-process, HTTPS) and
// the test PostgreSQL 15: a client presenting a GitHub-shaped token logs in through the sidecar
// with that job's login, which the exchange created for the job's token with the pod's token as
// actor (two repositories: two logins, each its grant's template role; no token: the pod's own
// login); concurrent sessions of one job share one exchange; the session span names the login and links to
// the exchange's span when the exchange answered with a traceparent; refusals and an unreachable
// exchange reach the client as PostgreSQL errors and nothing reaches the target; stopping the
// sidecar revokes the login; the password appears in no log line, span or file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createLogger } from '../../core/logging/logger.js';
import { parseExchangeConfig } from '../../exchange/config/exchange-config.js';
import { startExchangeService, type ExchangeService } from '../../exchange/cli/exchange-command.js';
import { decodeCredentialToken } from '../../exchange/protocol/credential-token.js';
import type { ExchangeOutcome, RevocationOutcome } from '../../exchange/service/exchange-outcome.js';
import type { RunningSidecar } from '../../sidecar/runtime/sidecar-runtime.js';
import { startExchangeSidecar } from '../support/exchange-test-clients.js';
import { readOtlpJsonFile } from '../support/otlp-receiver.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../support/self-signed-certificate.js';
import { pgInfo, type PgInfo } from '../support/sidegate-harness.js';
import { asSuperuser } from '../support/scratch-postgres-database.js';
import { startTestIssuer, type TestIssuer } from '../support/token-issuer.js';

const AUDIENCE = 'sidegate-exchange';
const run = randomBytes(4).toString('hex');
const prefix = `sgs_${run}_`;
const adminRole = `sgs_admin_${run}`;
const reader = `sgs_reader_${run}`;
/** The template role of the second repository's grant (and of the pod's own). */
const auditor = `sgs_auditor_${run}`;
const GITHUB = 'https://token.actions.githubusercontent.com';
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

let dir: string;
let cert: TestCertificate;
let info: PgInfo;
let issuer: TestIssuer;
/** The pods' issuer (the exchange fetches its keys over HTTPS only). */
let cluster: TestIssuer;
let exchange: ExchangeService;
let front: http.Server;
let frontUrl: string;
const outcomes: (ExchangeOutcome | RevocationOutcome)[] = [];
const logs: string[] = [];
/** Every secret the test saw: none may appear in a log line, a span or a file of the sidecar. */
const canaries: string[] = [];
let traceparent: string | undefined = `00-${TRACE}-${SPAN}-01`;

const superuser = <T>(fn: (c: pg.Client) => Promise<T>) => asSuperuser(info, fn);

const issuedRoles = () => superuser(async (c) => (await c.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1) ORDER BY 1', [prefix])).rows.map((r) => r.rolname));

before(async () => {
  info = await pgInfo();
  dir = await mkdtemp(join(tmpdir(), 'sidegate-exsidecar-'));
  cert = makeSelfSignedCertificate(dir);
  const adminPassword = randomBytes(18).toString('base64url');
  canaries.push(adminPassword);
  await writeFile(join(dir, 'admin-password'), adminPassword, { mode: 0o600 });
  await superuser(async (c) => {
    await c.query(`CREATE ROLE ${adminRole} LOGIN CREATEROLE PASSWORD ${pg.escapeLiteral(adminPassword)}`);
    await c.query(`CREATE ROLE ${reader} NOLOGIN`);
    await c.query(`GRANT SELECT ON customers TO ${reader}`);
    await c.query(`CREATE ROLE ${auditor} NOLOGIN`);
  });
  const tls = { cert: cert.cert, key: await readFile(cert.keyFile, 'utf8') };
  // GitHub's issuer name: the tokens are GitHub-shaped, signed by a test key over HTTPS.
  issuer = await startTestIssuer({ issuer: GITHUB, tls });
  cluster = await startTestIssuer({ issuer: 'https://cluster.test.sidegate', tls });
  const actor = { claims: { 'kubernetes.io.namespace': 'ci' } };
  const config = parseExchangeConfig({
    issuers: [
      { issuer: cluster.issuer, audience: AUDIENCE, kubernetes: true, jwksUrl: cluster.jwksUrl, caFile: cert.certFile },
      // The job's token reaches the exchange as the client presented it to the sidecar: sidegate's audience.
      { issuer: GITHUB, audience: 'sidegate', jwksUrl: issuer.jwksUrl, caFile: cert.certFile },
    ],
    targets: [
      { name: 'pg', protocol: 'postgres', host: info.host, port: info.port, database: info.database, tls: { caFile: info.caFile, serverName: 'localhost' }, admin: { username: adminRole, passwordFile: join(dir, 'admin-password') }, rolePrefix: prefix },
      { name: 'nogrant', protocol: 'postgres', host: info.host, port: info.port, database: info.database, tls: { caFile: info.caFile, serverName: 'localhost' }, admin: { username: adminRole, passwordFile: join(dir, 'admin-password') }, rolePrefix: prefix },
    ],
    grants: [
      { name: 'app-jobs', issuer: GITHUB, claims: { repository: 'acme/app' }, actor, target: 'pg', roles: [reader], ttl: '10m' },
      { name: 'lib-jobs', issuer: GITHUB, claims: { repository: 'acme/lib' }, actor, target: 'pg', roles: [auditor], ttl: '10m' },
      { name: 'runner-pods', issuer: cluster.issuer, subject: 'system:serviceaccount:ci:runner', target: 'pg', roles: [auditor], ttl: '10m' },
    ],
    sweepInterval: '1h',
    audit: { stateDir: join(dir, 'exchange-audit') },
  });
  const key = await readFile(cert.keyFile, 'utf8');
  exchange = await startExchangeService(config, { host: '127.0.0.1', port: 0, tls: { cert: cert.cert, key }, onOutcome: (o) => outcomes.push(o) }, createLogger({ level: 'debug', sink: (line) => logs.push(line) }));
  // In front of the real exchange: adds the traceparent the exchange will send once its exchanges
  // are spans, and remembers each issued password as a canary.
  front = https.createServer({ cert: cert.cert, key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const upstream = https.request(new URL(req.url!, exchange.url), { method: req.method, headers: req.headers, ca: cert.cert }, (up) => {
        const body: Buffer[] = [];
        up.on('data', (c: Buffer) => body.push(c));
        up.on('end', () => {
          const text = Buffer.concat(body).toString();
          const issued = up.statusCode === 200 && req.url === '/v1/token' ? decodeCredentialToken((JSON.parse(text) as { access_token: string }).access_token) : undefined;
          if (issued) canaries.push(issued.password);
          res.writeHead(up.statusCode ?? 502, { 'content-type': 'application/json', ...(traceparent && req.url === '/v1/token' ? { traceparent } : {}) });
          res.end(text);
        });
      });
      upstream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  frontUrl = `https://127.0.0.1:${(front.address() as { port: number }).port}`;
});

after(async () => {
  await new Promise((r) => front?.close(r));
  await exchange?.close();
  await issuer?.close();
  await cluster?.close();
  await superuser(async (c) => {
    for (const role of await issuedRoles()) await c.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`).catch(() => undefined);
    await c.query(`DROP OWNED BY ${reader}`).catch(() => undefined);
    await c.query(`DROP ROLE IF EXISTS ${reader}`);
    await c.query(`DROP ROLE IF EXISTS ${auditor}`);
    await c.query(`DROP ROLE IF EXISTS ${adminRole}`);
  }).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

async function sidecarWith(opts: { url: string; subject?: string; targets?: string }, name: string): Promise<{ sidecar: RunningSidecar; stateDir: string }> {
  const policy = `version: 1
identities:
  - { name: ci, issuer: "${issuer.issuer}", audiences: [sidegate], jwks: ${JSON.stringify(issuer.jwks)} }
  - { name: pods, issuer: "${cluster.issuer}", audiences: [sidegate], jwks: ${JSON.stringify(cluster.jwks)} }
targets:
  - { name: pg, protocol: postgres, address: "127.0.0.1:${info.port}", database: ${info.database}, tls: { mode: verify-full, ca: ${info.caFile}, serverName: localhost }, credentials: { exchange: {} }, listen: "127.0.0.1:0" }
  - { name: nogrant, protocol: postgres, address: "127.0.0.2:${info.port}", database: ${info.database}, tls: { mode: verify-full, ca: ${info.caFile}, serverName: localhost }, credentials: { exchange: {} }, listen: "127.0.0.1:0" }
rules:
  - { name: reads, identities: [ci, pods], when: { statements: [read, session] }, action: allow }
`;
  const sub = opts.subject ?? 'system:serviceaccount:ci:runner';
  const [, namespace, account] = sub.split(':').slice(1);
  const podClaims = { sub, 'kubernetes.io': { namespace, serviceaccount: { name: account, uid: 'sa-1' }, pod: { name: 'runner-0', uid: 'pod-1' } } };
  const podToken = await cluster.sign(podClaims, { audience: AUDIENCE, expiresIn: 600 });
  // The pod's identity token (sidegate's audience), for sessions whose client presents none.
  const identityToken = await cluster.sign(podClaims, { audience: 'sidegate', expiresIn: 600 });
  const tokenFile = join(dir, `${name}-identity-token`);
  await writeFile(tokenFile, identityToken);
  canaries.push(podToken, identityToken);
  return startExchangeSidecar({ dir, name, policy, url: opts.url, podToken, tokenFile, ca: cert.cert, logs });
}

/** A GitHub Actions job's token, with the claims GitHub puts in it. */
function jobToken(repository = 'acme/app'): Promise<string> {
  return issuer.sign({
    sub: `repo:${repository}:ref:refs/heads/main`,
    repository,
    repository_owner: 'acme',
    ref: 'refs/heads/main',
    sha: 'a1b2c3',
    workflow: 'migrate',
    job_workflow_ref: `${repository}/.github/workflows/migrate.yml@refs/heads/main`,
    run_id: '4242',
    run_attempt: '1',
    actor: 'octocat',
    event_name: 'push',
  });
}

/** A psql-like client through the sidecar presenting `password`: a job's token, or '' for the pod's identity. */
async function client(sidecar: RunningSidecar, target = 'pg', password?: string): Promise<pg.Client> {
  const port = sidecar.listeners.find((l) => l.target === target)!.port;
  const token = password ?? (await jobToken());
  if (token !== '') canaries.push(token);
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'ci', password: token, database: info.database, ssl: false });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

/** The job's step as CI-TOKENS.md writes it: psql with the job's token as PGPASSWORD. */
function psql(sidecar: RunningSidecar, token: string, sql: string): Promise<{ code: number; stdout: string; stderr: string }> {
  canaries.push(token);
  const port = String(sidecar.listeners.find((l) => l.target === 'pg')!.port);
  const args = ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', port, '-U', 'ci', '-d', info.database, '-c', sql];
  return new Promise((resolve) => {
    execFile('psql', args, { env: { ...process.env, PGPASSWORD: token, PGSSLMODE: 'disable', PGCONNECT_TIMEOUT: '10' }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout: stdout.trim(), stderr });
    });
  });
}

function loginError(sidecar: RunningSidecar, target: string): Promise<{ code?: string; message: string }> {
  return client(sidecar, target).then(
    async (c) => {
      await c.end();
      throw new Error('the login should have been refused');
    },
    (err: { code?: string; message: string }) => err,
  );
}

test("a job's sessions log in with the login the exchange created for its token; one exchange serves them all", async () => {
  const before = outcomes.length;
  const { sidecar, stateDir } = await sidecarWith({ url: frontUrl }, 'main');
  try {
    const clients = await Promise.all(Array.from({ length: 5 }, () => client(sidecar)));
    const users = await Promise.all(clients.map(async (c) => (await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u));
    const roles = await issuedRoles();
    assert.equal(roles.length, 1, `one login for the job: ${roles.join(',')}`);
    assert.deepEqual(new Set(users), new Set(roles), 'every session is that login');
    const exchanges = outcomes.slice(before).filter((o): o is ExchangeOutcome => o.kind === 'exchange');
    assert.equal(exchanges.length, 1, 'five concurrent sessions (five tokens of one job), one exchange');
    assert.equal(exchanges[0]!.grant, 'app-jobs', "the job's grant decided, on its claims");
    assert.equal(exchanges[0]!.subject?.claims['repository'], 'acme/app');
    assert.equal(exchanges[0]!.actor?.subject, 'system:serviceaccount:ci:runner', 'the sidecar acted for it');
    const rows = await clients[0]!.query('SELECT count(*)::int AS n FROM customers');
    assert.ok((rows.rows[0] as { n: number }).n > 0, 'the template role\'s grants apply');
    await Promise.all(clients.map((c) => c.end()));
    await sidecar.audit.flush();
    const spans = readOtlpJsonFile(join(stateDir, 'audit.otlp.jsonl'));
    const sessions = spans.filter((s) => s.attributes['sidegate.credential.login'] !== undefined);
    assert.equal(sessions.length, 5);
    for (const s of sessions) {
      assert.equal(s.attributes['sidegate.credential.login'], roles[0]);
      assert.equal(s.attributes['sidegate.credential.source'], 'exchange');
      assert.deepEqual(s.links?.map((l) => [l.traceId, l.spanId]), [[TRACE, SPAN]], 'linked to the exchange span');
    }
  } finally {
    await sidecar.stop(1000);
  }
  assert.deepEqual(await issuedRoles(), [], 'stopping the sidecar revoked the login');
  assert.ok(outcomes.some((o) => o.kind === 'revocation'), 'by POST /v1/revoke');
});

test('without a traceparent the login is still named and no link is made', async () => {
  traceparent = undefined;
  const { sidecar, stateDir } = await sidecarWith({ url: frontUrl }, 'untraced');
  try {
    const c = await client(sidecar);
    await c.query('SELECT 1');
    await c.end();
    await sidecar.audit.flush();
    const session = readOtlpJsonFile(join(stateDir, 'audit.otlp.jsonl')).find((s) => s.attributes['sidegate.credential.login'] !== undefined)!;
    assert.match(String(session.attributes['sidegate.credential.login']), new RegExp(`^${prefix}`));
    assert.equal(session.links, undefined);
  } finally {
    traceparent = `00-${TRACE}-${SPAN}-01`;
    await sidecar.stop(1000);
  }
});

test("two repositories through one sidecar: two logins, each its grant's template role; no token: the pod's own", async () => {
  const before = outcomes.length;
  const { sidecar, stateDir } = await sidecarWith({ url: frontUrl }, 'repos');
  try {
    const app = await psql(sidecar, await jobToken('acme/app'), 'SELECT current_user');
    const lib = await psql(sidecar, await jobToken('acme/lib'), 'SELECT current_user');
    assert.equal(app.code, 0, app.stderr);
    assert.equal(lib.code, 0, lib.stderr);
    const pod = await client(sidecar, 'pg', '');
    const userOf = async (c: pg.Client) => (await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u;
    const [appUser, libUser, podUser] = [app.stdout, lib.stdout, await userOf(pod)];
    assert.equal(new Set([appUser, libUser, podUser]).size, 3, 'a login per identity');
    const memberOf = (login: string) =>
      superuser(async (c) => (await c.query<{ r: string }>('SELECT r.rolname AS r FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = $1', [login])).rows.map((x) => x.r));
    assert.deepEqual(await memberOf(appUser), [reader]);
    assert.deepEqual(await memberOf(libUser), [auditor]);
    assert.deepEqual(await memberOf(podUser), [auditor]);
    // The template roles decide, on the target: acme/app's login reads customers, acme/lib's does not.
    const appReads = await psql(sidecar, await jobToken('acme/app'), 'SELECT count(*) > 0 FROM customers');
    assert.equal(appReads.stdout, 't', appReads.stderr);
    const libReads = await psql(sidecar, await jobToken('acme/lib'), 'SELECT count(*) FROM customers');
    assert.notEqual(libReads.code, 0);
    assert.match(libReads.stderr, /permission denied for table customers/);
    // A repository no grant names is refused, never given the pod's login instead.
    const other = await psql(sidecar, await jobToken('acme/other'), 'SELECT current_user');
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /token exchange refused a credential for target "pg": invalid_target/);
    // Fresh tokens of the same jobs shared their logins (one exchange per job, below).
    await pod.end();
    const exchanges = outcomes.slice(before).filter((o): o is ExchangeOutcome => o.kind === 'exchange' && o.decision === 'issued');
    assert.deepEqual(exchanges.map((o) => [o.grant, o.username, o.actor?.subject]).sort(), [
      ['app-jobs', appUser, 'system:serviceaccount:ci:runner'],
      ['lib-jobs', libUser, 'system:serviceaccount:ci:runner'],
      ['runner-pods', podUser, undefined],
    ].sort());
    await sidecar.audit.flush();
    const sessions = readOtlpJsonFile(join(stateDir, 'audit.otlp.jsonl')).filter((s) => s.attributes['sidegate.credential.login'] !== undefined);
    const byLogin = (login: string) => sessions.filter((s) => s.attributes['sidegate.credential.login'] === login);
    assert.equal(byLogin(appUser)[0]?.attributes['sidegate.ci.repository'], 'acme/app');
    assert.deepEqual(byLogin(libUser).map((s) => s.attributes['sidegate.ci.repository']), ['acme/lib', 'acme/lib']);
    assert.equal(byLogin(podUser)[0]?.attributes['sidegate.ci.k8s.namespace'], 'ci');
  } finally {
    await sidecar.stop(1000);
  }
  assert.deepEqual(await issuedRoles(), [], 'stopping the sidecar revoked every login, the jobs\' with the pod\'s token');
});

test('refused or unreachable: the client gets a PostgreSQL error naming why; nothing reaches the target', async () => {
  const { sidecar } = await sidecarWith({ url: frontUrl, subject: 'system:serviceaccount:other:thief' }, 'refused');
  try {
    const refused = await loginError(sidecar, 'pg');
    assert.equal(refused.code, '28000');
    assert.match(refused.message, /token exchange refused a credential for target "pg": invalid_target/);
    const nogrant = await loginError(sidecar, 'nogrant');
    assert.equal(nogrant.code, '28000');
    assert.deepEqual(await issuedRoles(), []);
  } finally {
    await sidecar.stop(1000);
  }
  const { sidecar: down } = await sidecarWith({ url: 'https://127.0.0.1:1' }, 'down');
  try {
    const unreachable = await loginError(down, 'pg');
    assert.equal(unreachable.code, '08001');
    assert.match(unreachable.message, /token exchange at https:\/\/127\.0\.0\.1:1 cannot be reached \(ECONNREFUSED\)/);
  } finally {
    await down.stop(1000);
  }
});

test('no token, password or admin secret in any log line, span or state file', async () => {
  assert.ok(canaries.length >= 4);
  const texts = [...logs];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.parentPath.includes('-state')) texts.push(await readFile(join(entry.parentPath, entry.name), 'utf8').catch(() => ''));
  }
  for (const canary of canaries) for (const text of texts) assert.ok(!text.includes(canary), 'a secret was written out');
  assert.ok(logs.some((l) => l.includes('credential obtained by token exchange')));
  // The exchange's own lines and the sidecar's are in `logs`: each side's events are there.
  const events = logs.map((l) => (JSON.parse(l) as { event?: string; kind?: string; grant?: string }));
  assert.ok(events.some((e) => e.event === 'exchange.issued' && e.grant === 'app-jobs'), "the exchange's line");
  assert.ok(events.some((e) => e.event === 'exchange.issued' && e.kind === undefined), "the sidecar's line");
  assert.ok(events.some((e) => e.event === 'exchange.revoked'));
  assert.ok(events.some((e) => e.event === 'exchange.refused'));
});
