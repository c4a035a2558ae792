// The token exchange against the test PostgreSQL 15 and real token issuers over HTTPS: a CI-style
// OIDC issuer (JWKS with its CA) and a cluster-style issuer (discovery served only to a bearer
// token). An exchanged credential logs in with node-postgres and has exactly the template role's
// grants; revocation ends it and its sessions; expired roles are swept, also by a restarted
// exchange; refusals answer the RFC's error and create nothing; every exchange, revocation and
// swept credential is an audit span at a real OTLP receiver, named by the answer's traceparent; a
// trail that cannot record refuses exchanges (503) and leaves no role; no token or password is
// logged or recorded. A CI token is exchanged only with a sidecar's pod token as actor (RFC 8693
// delegation): alone, or with an actor that is not a genuine pod's token, it is refused and audited.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { verifyChain } from '../../core/audit/index.js';
import { createLogger } from '../../core/logging/logger.js';
import { parseExchangeConfig, type ExchangeConfig } from '../../exchange/config/exchange-config.js';
import { startExchangeService, type ExchangeService } from '../../exchange/cli/exchange-command.js';
import type { TargetCredential } from '../../exchange/protocol/credential-token.js';
import type { ExchangeOutcome, RevocationOutcome } from '../../exchange/service/exchange-outcome.js';
import { httpsRequest, type HttpsReply } from '../support/https-json-client.js';
import { credentialTokenOf, delegatingExchange, exchangeClient, GRANT_TYPE, JWT } from '../support/exchange-test-clients.js';
import { readOtlpJsonFile, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../support/self-signed-certificate.js';
import { pgInfo, type PgInfo } from '../support/sidegate-harness.js';
import { asSuperuser } from '../support/scratch-postgres-database.js';
import { startTestIssuer, type TestIssuer } from '../support/token-issuer.js';

const AUDIENCE = 'sidegate-exchange';
const CLUSTER_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const run = randomBytes(4).toString('hex');
const prefix = `sgx_${run}_`;
const adminRole = `sgx_admin_${run}`;
const reader = `sgx_reader_${run}`;

let dir: string;
let cert: TestCertificate;
let info: PgInfo;
let ci: TestIssuer;
let cluster: TestIssuer;
let config: ExchangeConfig;
let service: ExchangeService;
let receiver: OtlpReceiver;
let clockShiftMs = 0;
let tlsKey: string;
const logs: string[] = [];
const outcomes: (ExchangeOutcome | RevocationOutcome)[] = [];
/** Every secret a test saw: none may appear in a log line. */
const canaries: string[] = [];

const superuser = <T>(fn: (c: pg.Client) => Promise<T>) => asSuperuser(info, fn);

async function issuedRoles(): Promise<string[]> {
  return superuser(async (c) => (await c.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1) ORDER BY 1', [prefix])).rows.map((r) => r.rolname));
}

/** An exchange replica with its own audit state directory, exporting to the receiver unless `env` says otherwise. */
function start(stateDir = 'audit-a', env: NodeJS.ProcessEnv = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint }): Promise<ExchangeService> {
  const log = createLogger({ level: 'debug', sink: (line) => logs.push(line) });
  const now = () => Date.now() + clockShiftMs;
  return startExchangeService({ ...config, audit: { stateDir: join(dir, stateDir) } }, { host: '127.0.0.1', port: 0, tls: { cert: cert.cert, key: tlsKey }, now, env, onOutcome: (o) => outcomes.push(o) }, log);
}

/** The span a reply's traceparent names, once the receiver has it. */
function spanOf(reply: HttpsReply): Promise<ReceivedSpan> {
  const traceparent = String(reply.headers['traceparent']);
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(traceparent);
  assert.ok(m, `a W3C traceparent: ${traceparent}`);
  return receiver.waitForSpans((spans) => spans.find((s) => s.traceId === m[1] && s.spanId === m[2]), 10_000);
}


before(async () => {
  info = await pgInfo();
  receiver = await startOtlpReceiver();
  dir = await mkdtemp(join(tmpdir(), 'sidegate-exchange-'));
  cert = makeSelfSignedCertificate(dir);
  tlsKey = await readFile(cert.keyFile, 'utf8');
  const adminPassword = randomBytes(18).toString('base64url');
  canaries.push(adminPassword);
  await writeFile(join(dir, 'admin-password'), `${adminPassword}\n`, { mode: 0o600 });
  await writeFile(join(dir, 'cluster-bearer'), 'the-exchange-own-sa-token');
  await superuser(async (c) => {
    await c.query(`CREATE ROLE ${adminRole} LOGIN CREATEROLE PASSWORD ${pg.escapeLiteral(adminPassword)}`);
    await c.query(`CREATE ROLE ${reader} NOLOGIN`);
    await c.query(`GRANT SELECT ON customers TO ${reader}`);
    await c.query(`GRANT CREATE ON SCHEMA public TO ${reader}`);
  });
  ci = await startTestIssuer({ tls: { cert: cert.cert, key: tlsKey } });
  cluster = await startTestIssuer({ issuer: CLUSTER_ISSUER, tls: { cert: cert.cert, key: tlsKey }, requireBearer: 'the-exchange-own-sa-token' });
  config = parseExchangeConfig({
    issuers: [
      { issuer: ci.issuer, audience: AUDIENCE, jwksUrl: ci.jwksUrl, caFile: cert.certFile },
      { issuer: CLUSTER_ISSUER, audience: AUDIENCE, kubernetes: true, discoveryUrl: cluster.discoveryUrl, caFile: cert.certFile, bearerTokenFile: join(dir, 'cluster-bearer') },
    ],
    targets: [
      {
        name: 'orders',
        protocol: 'postgres',
        host: info.host,
        port: info.port,
        database: info.database,
        tls: { caFile: info.caFile, serverName: 'localhost' },
        admin: { username: adminRole, passwordFile: join(dir, 'admin-password') },
        rolePrefix: prefix,
      },
      // The server's certificate does not name db.example.com: its admin login must never be sent.
      { name: 'misnamed', protocol: 'postgres', host: 'localhost', port: info.port, database: info.database, tls: { caFile: info.caFile, serverName: 'db.example.com' }, admin: { username: adminRole, passwordFile: join(dir, 'admin-password') }, rolePrefix: prefix },
      // Nothing listens there: exchanges for it fail fast and closed, its sweeps are retried.
      { name: 'down', protocol: 'postgres', host: '127.0.0.1', port: 1, database: 'x', admin: { username: adminRole, passwordFile: join(dir, 'admin-password') }, rolePrefix: prefix },
    ],
    grants: [
      { name: 'app-main', issuer: ci.issuer, claims: { repository: 'acme/app', ref: ['refs/heads/main', 'refs/tags/v*'] }, actor: { claims: { 'kubernetes.io.namespace': 'ci' } }, target: 'orders', roles: [reader], ttl: '15m' },
      { name: 'down-grant', issuer: ci.issuer, claims: { repository: 'acme/app' }, actor: { claims: { 'kubernetes.io.namespace': 'ci' } }, target: 'down', roles: [reader], ttl: '15m' },
      { name: 'misnamed-grant', issuer: ci.issuer, claims: { repository: 'acme/app' }, actor: { claims: { 'kubernetes.io.namespace': 'ci' } }, target: 'misnamed', roles: [reader], ttl: '15m' },
      { name: 'ci-runners', issuer: CLUSTER_ISSUER, subject: 'system:serviceaccount:ci:*', target: 'orders', roles: [reader], ttl: '10m' },
    ],
    sweepInterval: '1h',
  });
  service = await start();
});

after(async () => {
  await service?.close();
  await ci?.close();
  await cluster?.close();
  await receiver?.close();
  await superuser(async (c) => {
    for (const role of await issuedRoles()) await c.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`).catch(() => undefined);
    await c.query(`DROP OWNED BY ${reader}`).catch(() => undefined);
    await c.query(`DROP ROLE IF EXISTS ${reader}`);
    await c.query(`DROP ROLE IF EXISTS ${adminRole}`);
  }).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

function ciToken(claims: Record<string, unknown> = {}, opts: { audience?: string; expiresIn?: string | number } = {}): Promise<string> {
  return ci.sign(
    { sub: 'repo:acme/app:ref:refs/heads/main', repository: 'acme/app', ref: 'refs/heads/main', run_id: '4242', actor: 'octocat', ...claims },
    { audience: opts.audience ?? AUDIENCE, expiresIn: opts.expiresIn ?? 300 },
  );
}

function podToken(bound = true, opts: { namespace?: string; audience?: string; expiresIn?: number } = {}): Promise<string> {
  const namespace = opts.namespace ?? 'ci';
  return cluster.sign(
    {
      sub: `system:serviceaccount:${namespace}:runner`,
      'kubernetes.io': { namespace, serviceaccount: { name: 'runner', uid: 'sa-uid' }, ...(bound ? { pod: { name: 'runner-7f9c', uid: 'pod-uid-1' } } : {}) },
    },
    { audience: opts.audience ?? AUDIENCE, ...(opts.expiresIn !== undefined ? { expiresIn: opts.expiresIn } : {}) },
  );
}

const client = exchangeClient({ url: () => service.url, ca: () => cert.cert, audience: 'orders', canaries });
const { post, credentialOf } = client;
const delegating = delegatingExchange(client, () => podToken());
/** An exchange as a sidecar makes it: the pod's token as actor unless `extra.actor_token` says otherwise ('' none). */
const exchange = (subjectToken: string, extra: Record<string, string> = {}, on?: ExchangeService): Promise<HttpsReply> => delegating(subjectToken, extra, on?.url);

async function login(credential: TargetCredential): Promise<pg.Client> {
  const client = new pg.Client({
    host: info.host,
    port: info.port,
    database: info.database,
    user: credential.username,
    password: credential.password,
    ssl: { ca: await readFile(info.caFile, 'utf8'), servername: 'localhost' },
    connectionTimeoutMillis: 5000,
  });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

async function loginFails(credential: TargetCredential): Promise<string> {
  try {
    const client = await login(credential);
    await client.end();
  } catch (err) {
    return String((err as { code?: string }).code);
  }
  assert.fail('the login should have been refused');
}

test('a CI token with a grant gets a login role with the template role grants, and nothing more', async () => {
  const before = await issuedRoles();
  const reply = await exchange(await ciToken());
  const credential = credentialOf(reply);
  assert.equal(reply.json.issued_token_type, 'urn:sidegate:params:oauth:token-type:target-credential');
  assert.equal(reply.json.token_type, 'N_A');
  assert.equal(reply.json.scope, reader);
  assert.ok(reply.json.expires_in > 14 * 60 && reply.json.expires_in <= 15 * 60, String(reply.json.expires_in));
  assert.equal(credential.target, 'orders');
  assert.ok(credential.username.startsWith(prefix));
  assert.deepEqual(await issuedRoles(), [...before, credential.username].sort());
  const validUntil = await superuser(async (c) => (await c.query<{ v: Date }>('SELECT rolvaliduntil AS v FROM pg_roles WHERE rolname = $1', [credential.username])).rows[0]!.v);
  assert.equal(validUntil.toISOString(), credential.expiresAt);

  const client = await login(credential);
  try {
    assert.equal((await client.query('SELECT count(*)::int AS n FROM customers')).rows[0].n, 3);
    await assert.rejects(client.query('SELECT count(*) FROM orders'), (err: { code?: string }) => err.code === '42501');
    await assert.rejects(client.query(`CREATE ROLE sgx_escalate_${run}`), (err: { code?: string }) => err.code === '42501');
  } finally {
    await client.end();
  }
  const outcome = outcomes.at(-1) as ExchangeOutcome;
  assert.equal(outcome.decision, 'issued');
  assert.equal(outcome.subject?.claims['repository'], 'acme/app');
  assert.equal(outcome.actor?.subject, 'system:serviceaccount:ci:runner');
  assert.equal(outcome.actor?.claims['kubernetes.io.pod.name'], 'runner-7f9c');
  assert.equal(outcome.grant, 'app-main');
  assert.equal(outcome.username, credential.username);
});

test('a CI token alone is refused and audited: the job itself never gets the login', async () => {
  const before = await issuedRoles();
  const reply = await exchange(await ciToken(), { actor_token: '' });
  assert.equal(reply.status, 400, reply.text);
  assert.equal(reply.json.error, 'invalid_request');
  assert.match(reply.json.error_description, /actor_token .* is required; a CI token alone would hand the login to the job itself/);
  assert.deepEqual(await issuedRoles(), before);
  const span = await spanOf(reply);
  assert.equal(span.attributes['sidegate.exchange.decision'], 'refused');
  assert.equal(span.attributes['sidegate.exchange.error'], 'invalid_request');
  assert.equal(span.attributes['sidegate.ci.repository'], 'acme/app', 'the refusal names the job that asked');
  assert.equal(span.attributes['sidegate.exchange.actor.subject'], undefined);
  assert.ok(logs.some((l) => l.includes('"msg":"token exchange: exchange refused"') && l.includes('a CI token alone would hand the login')));
});

test("a CI token with an actor that is not a genuine sidecar's pod token is refused; nothing is created", async () => {
  const before = await issuedRoles();
  const cases: { name: string; actor: () => Promise<string>; error: string; description: RegExp }[] = [
    { name: 'an actor token for another audience', actor: () => podToken(true, { audience: 'sidegate-broker' }), error: 'invalid_request', description: /actor_token rejected: .*audience/ },
    { name: 'an actor token not bound to a pod', actor: () => podToken(false), error: 'invalid_request', description: /actor_token rejected: token is not bound to a pod/ },
    { name: 'an expired actor token', actor: () => podToken(true, { expiresIn: -120 }), error: 'invalid_request', description: /actor_token rejected: .*expired/ },
    { name: "the job's own CI token as actor", actor: () => ciToken(), error: 'invalid_request', description: /actor_token rejected: an actor is a sidecar's pod token/ },
    { name: 'not a JWT', actor: async () => 'not-a-jwt', error: 'invalid_request', description: /actor_token rejected/ },
    { name: 'a pod the grant does not name as actor', actor: () => podToken(true, { namespace: 'prod' }), error: 'invalid_target', description: /no grant/ },
  ];
  for (const c of cases) {
    const reply = await exchange(await ciToken(), { actor_token: await c.actor() });
    assert.equal(reply.status, 400, `${c.name}: ${reply.text}`);
    assert.equal(reply.json.error, c.error, `${c.name}: ${reply.text}`);
    assert.match(reply.json.error_description, c.description, c.name);
    const span = await spanOf(reply);
    assert.equal(span.attributes['sidegate.exchange.decision'], 'refused', c.name);
    assert.equal(span.attributes['sidegate.exchange.error'], c.error, c.name);
  }
  const typeless = await post('/v1/token', { grant_type: GRANT_TYPE, subject_token: await ciToken(), subject_token_type: JWT, audience: 'orders', actor_token: await podToken() });
  assert.equal(typeless.json.error, 'invalid_request');
  assert.match(typeless.json.error_description, /actor_token requires actor_token_type/);
  assert.deepEqual(await issuedRoles(), before);
});

test('the password reaches PostgreSQL only as its SCRAM verifier', async () => {
  const credential = credentialOf(await exchange(await ciToken()));
  const stored = await superuser(async (c) => (await c.query<{ p: string }>('SELECT rolpassword AS p FROM pg_authid WHERE rolname = $1', [credential.username])).rows[0]!.p);
  assert.match(stored, /^SCRAM-SHA-256\$4096:/);
  assert.ok(!stored.includes(credential.password));
});

test('revocation by the owner (the sidecar that acted) drops the role and ends its sessions; another identity is refused', async () => {
  const credential = credentialOf(await exchange(await ciToken()));
  const other = credentialOf(await exchange(await ciToken())); // a second credential of the same owner stays
  const session = await login(credential);
  const ended = new Promise<void>((resolve) => session.once('end', () => resolve()));

  const stranger = await post('/v1/revoke', { token: credentialTokenOf(credential), subject_token: await ciToken({ sub: 'repo:evil/app:ref:refs/heads/main' }), subject_token_type: JWT });
  assert.equal(stranger.status, 400);
  assert.equal(stranger.json.error, 'unauthorized_client');
  assert.ok((await issuedRoles()).includes(credential.username));

  const revoked = await post('/v1/revoke', { token: credentialTokenOf(credential), subject_token: await podToken() });
  assert.equal(revoked.status, 200, revoked.text);
  assert.deepEqual(revoked.json, {});
  await ended;
  assert.ok(!(await issuedRoles()).includes(credential.username));
  assert.equal(await loginFails(credential), '28P01');
  assert.ok((await issuedRoles()).includes(other.username), 'only the revoked credential is gone');

  const again = await post('/v1/revoke', { token: credentialTokenOf(credential), subject_token: await podToken() });
  assert.equal(again.status, 200, 'revoking what is gone is not an error (RFC 7009)');
  const noProof = await post('/v1/revoke', { token: credentialTokenOf(other) });
  assert.equal(noProof.status, 401);
  assert.equal(noProof.json.error, 'invalid_client');
});

test('objects a credential created survive its revocation, owned by the template role', async () => {
  const credential = credentialOf(await exchange(await ciToken()));
  const client = await login(credential);
  const table = `sgx_made_${run}`;
  await client.query(`CREATE TABLE ${table} (id int)`);
  await client.end();
  assert.equal((await post('/v1/revoke', { token: credentialTokenOf(credential), subject_token: await podToken() })).status, 200);
  const owner = await superuser(async (c) => (await c.query<{ o: string }>('SELECT tableowner AS o FROM pg_tables WHERE tablename = $1', [table])).rows[0]?.o);
  assert.equal(owner, reader);
  await superuser((c) => c.query(`DROP TABLE ${table}`));
});

test('a pod-bound ServiceAccount token is exchanged alone; one not bound to a pod is refused', async () => {
  const credential = credentialOf(await exchange(await podToken(), { actor_token: '' }));
  assert.equal((outcomes.at(-1) as ExchangeOutcome).subject?.claims['kubernetes.io.pod.name'], 'runner-7f9c');
  await (await login(credential)).end();
  const unbound = await exchange(await podToken(false), { actor_token: '' });
  assert.equal(unbound.status, 400);
  assert.equal(unbound.json.error, 'invalid_request');
  assert.match(unbound.json.error_description, /not bound to a pod/);
  assert.ok(cluster.authorizations.every((a) => a === 'Bearer the-exchange-own-sa-token'));
});

test('refusals answer the RFC error and create nothing in PostgreSQL', async (t) => {
  const evil = await startTestIssuer({ issuer: 'https://evil.example' });
  t.after(() => evil.close());
  const rolesBefore = await issuedRoles();
  const cases: { name: string; reply: () => Promise<HttpsReply>; status: number; error: string; description?: RegExp }[] = [
    { name: 'another audience', reply: async () => exchange(await ciToken({}, { audience: 'sidegate-broker' })), status: 400, error: 'invalid_request', description: /audience/ },
    { name: 'expired', reply: async () => exchange(await ciToken({}, { expiresIn: -120 })), status: 400, error: 'invalid_request', description: /expired/ },
    { name: 'no grant (another repository)', reply: async () => exchange(await ciToken({ repository: 'acme/other' })), status: 400, error: 'invalid_target' },
    { name: 'no grant (a branch the grant does not name)', reply: async () => exchange(await ciToken({ ref: 'refs/heads/feature' })), status: 400, error: 'invalid_target' },
    { name: 'unknown target', reply: async () => exchange(await ciToken(), { audience: 'payments' }), status: 400, error: 'invalid_target' },
    { name: 'a role the grant does not give', reply: async () => exchange(await ciToken(), { scope: 'postgres' }), status: 400, error: 'invalid_scope' },
    { name: 'untrusted issuer', reply: async () => exchange(await evil.sign({ sub: 'repo:acme/app:ref:refs/heads/main', repository: 'acme/app', ref: 'refs/heads/main' }, { audience: AUDIENCE })), status: 400, error: 'invalid_request', description: /not trusted/ },
    { name: 'another grant type', reply: async () => post('/v1/token', { grant_type: 'client_credentials' }), status: 400, error: 'unsupported_grant_type' },
    { name: 'no subject token', reply: () => post('/v1/token', { grant_type: GRANT_TYPE, subject_token_type: JWT, audience: 'orders' }), status: 400, error: 'invalid_request' },
    { name: 'not a JWT', reply: () => exchange('not-a-jwt'), status: 400, error: 'invalid_request' },
  ];
  for (const c of cases) {
    const reply = await c.reply();
    assert.equal(reply.status, c.status, `${c.name}: ${reply.text}`);
    assert.equal(reply.json.error, c.error, `${c.name}: ${reply.text}`);
    assert.equal(typeof reply.json.error_description, 'string');
    if (c.description) assert.match(reply.json.error_description, c.description, c.name);
  }
  // An unknown target and a target without a grant read alike: no probing for target names.
  const unknown = await exchange(await ciToken(), { audience: 'payments' });
  const ungranted = await exchange(await ciToken({ repository: 'acme/other' }));
  assert.equal(unknown.json.error_description.replace('payments', 'T'), ungranted.json.error_description.replace('orders', 'T'));
  assert.deepEqual(await issuedRoles(), rolesBefore);
});

test('a target that cannot be reached: temporarily_unavailable, quickly, and the sweep of the others goes on', async () => {
  const started = Date.now();
  const reply = await exchange(await ciToken(), { audience: 'down' });
  assert.equal(reply.status, 503, reply.text);
  assert.equal(reply.json.error, 'temporarily_unavailable');
  assert.match(reply.json.error_description, /could not be reached/);
  assert.ok(Date.now() - started < 6000);
  await service.sweeper.sweepNow();
  assert.ok(logs.some((l) => l.includes('sweep failed, will retry') && l.includes('"target":"down"')));
});

test("a target whose certificate does not name its serverName is never logged in to, even on a host the certificate names", async () => {
  const before = await issuedRoles();
  const reply = await exchange(await ciToken(), { audience: 'misnamed' });
  assert.equal(reply.status, 503, reply.text);
  assert.equal(reply.json.error, 'temporarily_unavailable');
  assert.deepEqual(await issuedRoles(), before);
});

test('HTTP bounds: a body too large, a wrong method, a wrong content type', async () => {
  const big = await httpsRequest(`${service.url}/v1/token`, { ca: cert.cert, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a='.padEnd(200_000, 'x') });
  assert.equal(big.status, 413);
  assert.equal(big.json.error, 'invalid_request');
  const get = await httpsRequest(`${service.url}/v1/token`, { ca: cert.cert });
  assert.equal(get.status, 405);
  const json = await httpsRequest(`${service.url}/v1/token`, { ca: cert.cert, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(json.status, 400);
  assert.equal(json.json.error, 'invalid_request');
  assert.equal(json.json.error_description, 'the body must be application/x-www-form-urlencoded');
});

test('an expired credential is swept, and a restarted exchange sweeps what it left behind', async () => {
  const firstReply = await exchange(await ciToken());
  const first = credentialOf(firstReply);
  await service.sweeper.sweepNow();
  assert.ok((await issuedRoles()).includes(first.username), 'not expired: kept');

  clockShiftMs = 16 * 60_000;
  await service.sweeper.sweepNow();
  assert.ok(!(await issuedRoles()).includes(first.username), 'expired: dropped');
  const swept = await receiver.waitForSpans((spans) => spans.find((s) => s.name === 'credential expired' && s.attributes['sidegate.exchange.login'] === first.username), 10_000);
  assert.deepEqual(swept.attributes['sidegate.target'], 'orders');
  assert.equal(swept.attributes['sidegate.exchange.decision'], 'expired');
  const issuedSpan = await spanOf(firstReply);
  assert.equal(swept.attributes['sidegate.exchange.issued_span'], firstReply.headers['traceparent']);
  assert.deepEqual(swept.links, [{ traceId: issuedSpan.traceId, spanId: issuedSpan.spanId }], 'linked to the exchange that issued it');
  assert.equal(swept.traceId, issuedSpan.traceId, "in the issuing exchange's trace");

  // A credential issued, then the exchange stops before it expires (a crash looks the same to the target).
  clockShiftMs = 0;
  const second = credentialOf(await exchange(await ciToken()));
  await service.close();
  assert.ok((await issuedRoles()).includes(second.username));
  clockShiftMs = 16 * 60_000;
  service = await start();
  // The interval is an hour: only the sweep at start can drop it.
  const deadline = Date.now() + 5000;
  while ((await issuedRoles()).includes(second.username) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(!(await issuedRoles()).includes(second.username), 'the restarted exchange swept it at start');
  assert.equal(await loginFails(second), '28P01');
  clockShiftMs = 0;
});

test('two replicas sweeping the same expired credentials at once drop each exactly once, without failures', async () => {
  const replica = await start('audit-b');
  try {
    const credentials = await Promise.all([1, 2, 3, 4, 5, 6].map(async () => credentialOf(await exchange(await ciToken()))));
    clockShiftMs = 16 * 60_000;
    const warningsBefore = logs.filter((l) => l.includes('could not be dropped')).length;
    await Promise.all([service.sweeper.sweepNow(), replica.sweeper.sweepNow()]);
    clockShiftMs = 0;
    const left = await issuedRoles();
    for (const c of credentials) assert.ok(!left.includes(c.username), c.username);
    assert.equal(logs.filter((l) => l.includes('could not be dropped')).length, warningsBefore);
  } finally {
    clockShiftMs = 0;
    await replica.close();
  }
});

test('roles of ours without our marker, and roles outside the prefix, are never swept', async () => {
  const foreign = `${prefix}foreign`;
  await superuser((c) => c.query(`CREATE ROLE ${foreign} NOLOGIN`));
  clockShiftMs = 48 * 3_600_000;
  await service.sweeper.sweepNow();
  clockShiftMs = 0;
  assert.ok((await issuedRoles()).includes(foreign));
  assert.equal(await superuser(async (c) => (await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [reader])).rowCount), 1);
  await superuser((c) => c.query(`DROP ROLE ${foreign}`));
});

test('each exchange and revocation is an audit span the answer names, with the subject, its CI run, the target, role, login and expiry', async () => {
  const reply = await exchange(await ciToken({ environment: 'production' }));
  const credential = credentialOf(reply);
  const issued = await spanOf(reply);
  assert.equal(issued.name, 'token exchange');
  assert.equal(issued.status?.code ?? 0, 0);
  assert.equal(issued.resource['service.name'], 'sidegate-exchange');
  const attrs = issued.attributes;
  assert.deepEqual(
    Object.fromEntries(Object.entries(attrs).filter(([k]) => !k.startsWith('sidegate.audit.'))),
    {
      'sidegate.exchange.decision': 'issued',
      'sidegate.identity.issuer': ci.issuer,
      'sidegate.identity.subject': 'repo:acme/app:ref:refs/heads/main',
      'sidegate.ci.system': 'github',
      'sidegate.ci.repository': 'acme/app',
      'sidegate.ci.ref': 'refs/heads/main',
      'sidegate.ci.run_id': '4242',
      'sidegate.ci.actor': 'octocat',
      'sidegate.ci.environment': 'production',
      'sidegate.exchange.actor.issuer': CLUSTER_ISSUER,
      'sidegate.exchange.actor.subject': 'system:serviceaccount:ci:runner',
      'sidegate.exchange.actor.namespace': 'ci',
      'sidegate.exchange.actor.serviceaccount': 'runner',
      'sidegate.exchange.actor.pod': 'runner-7f9c',
      'sidegate.exchange.actor.pod_uid': 'pod-uid-1',
      'sidegate.ci.k8s.namespace': 'ci',
      'sidegate.ci.k8s.serviceaccount': 'runner',
      'sidegate.ci.k8s.pod': 'runner-7f9c',
      'sidegate.ci.k8s.pod_uid': 'pod-uid-1',
      'sidegate.target': 'orders',
      'sidegate.exchange.grant': 'app-main',
      'sidegate.exchange.role': reader,
      'sidegate.exchange.login': credential.username,
      'sidegate.exchange.expires_at': credential.expiresAt,
    },
  );

  const pod = await exchange(await podToken(), { actor_token: '' });
  credentialOf(pod);
  const podSpan = (await spanOf(pod)).attributes;
  assert.equal(podSpan['sidegate.ci.k8s.namespace'], 'ci');
  assert.equal(podSpan['sidegate.ci.k8s.pod'], 'runner-7f9c');
  assert.equal(podSpan['sidegate.ci.k8s.serviceaccount'], 'runner');
  assert.equal(podSpan['sidegate.ci.job'], 'ci/runner-7f9c');

  const refused = await exchange(await ciToken({ repository: 'acme/other' }));
  assert.equal(refused.status, 400);
  const refusal = await spanOf(refused);
  assert.equal(refusal.status?.code, 2);
  assert.equal(refusal.attributes['sidegate.exchange.decision'], 'refused');
  assert.equal(refusal.attributes['sidegate.exchange.error'], 'invalid_target');
  assert.equal(refusal.attributes['sidegate.ci.repository'], 'acme/other');
  assert.equal(refusal.attributes['sidegate.exchange.login'], undefined);
  const unverified = await exchange(await ciToken({}, { audience: 'sidegate-broker' }));
  const anonymous = await spanOf(unverified);
  assert.equal(anonymous.attributes['sidegate.exchange.error'], 'invalid_request');
  assert.equal(anonymous.attributes['sidegate.identity.subject'], undefined, 'an unverified token names nobody');

  const revoked = await post('/v1/revoke', { token: credentialTokenOf(credential), subject_token: await podToken() });
  assert.equal(revoked.status, 200);
  const revocation = await spanOf(revoked);
  assert.equal(revocation.name, 'token revocation');
  assert.equal(revocation.attributes['sidegate.exchange.decision'], 'revoked');
  assert.equal(revocation.attributes['sidegate.exchange.login'], credential.username);
  assert.equal(revocation.attributes['sidegate.exchange.issued_span'], reply.headers['traceparent'], 'names the exchange that issued it');
  const stranger = await post('/v1/revoke', { token: credentialTokenOf(credential), subject_token: await ciToken({ sub: 'repo:evil/app:ref:refs/heads/main' }) });
  assert.equal((await spanOf(stranger)).attributes['sidegate.exchange.decision'], 'unknown', 'already gone: nothing to refuse');

  const chain = verifyChain(receiver.spans());
  assert.equal(chain.ok, true, JSON.stringify(chain));
});

test('a trail that cannot record: the exchange answers 503 and no role is left; once it can, the trail says what happened', async () => {
  // Without a collector the trail is a file; a directory in its place makes every append fail, even as root.
  const file = join(dir, 'audit-broken', 'audit.otlp.jsonl');
  await mkdir(file, { recursive: true });
  const broken = await start('audit-broken', {});
  let closed = false;
  try {
    const rolesBefore = await issuedRoles();
    const first = await exchange(await ciToken(), {}, broken);
    assert.equal(first.status, 503, first.text);
    assert.equal(first.json.error, 'temporarily_unavailable');
    assert.match(first.json.error_description, /audit trail cannot record this now; nothing was issued/);
    assert.deepEqual(await issuedRoles(), rolesBefore, 'the role created before the write failed is dropped again');
    const asked = Date.now();
    const second = await exchange(await ciToken(), {}, broken);
    assert.equal(second.status, 503, 'an unhealthy trail refuses before anything is created');
    assert.ok(Date.now() - asked < 2000, 'at once, not after the persist timeout');
    assert.deepEqual(await issuedRoles(), rolesBefore);
    assert.ok(logs.some((l) => l.includes('its evidence could not be made durable') && l.includes('dropped sgx_')));

    await rm(file, { recursive: true });
    let reply: HttpsReply | undefined;
    for (let i = 0; i < 100; i++) {
      reply = await exchange(await ciToken(), {}, broken);
      if (reply.status !== 503) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const credential = credentialOf(reply!);
    closed = true;
    await broken.close();
    const spans = readOtlpJsonFile(file);
    const firstIssued = spans.find((s) => s.name === 'token exchange' && s.attributes['sidegate.exchange.decision'] === 'issued');
    const rolledBack = spans.find((s) => s.name === 'token exchange rolled back');
    assert.ok(firstIssued && rolledBack, spans.map((s) => s.name).join(', '));
    assert.deepEqual(rolledBack.links, [{ traceId: firstIssued.traceId, spanId: firstIssued.spanId }]);
    assert.equal(rolledBack.attributes['sidegate.exchange.login'], firstIssued.attributes['sidegate.exchange.login']);
    assert.match(String(rolledBack.attributes['sidegate.exchange.undone']), /^dropped sgx_/);
    assert.ok(spans.some((s) => s.attributes['sidegate.exchange.login'] === credential.username && s.attributes['sidegate.exchange.decision'] === 'issued'));
    assert.equal(verifyChain(spans).ok, true);
    await post('/v1/revoke', { token: credentialTokenOf(credential), subject_token: await podToken() });
  } finally {
    if (!closed) await broken.close();
  }
});

test('no token, password or admin secret appears in any audit span', () => {
  const recorded = [...receiver.spans(), ...readOtlpJsonFile(join(dir, 'audit-broken', 'audit.otlp.jsonl'))].map((s) => JSON.stringify(s));
  assert.ok(recorded.length > 20, `${recorded.length} spans`);
  for (const span of recorded) {
    for (const canary of canaries) assert.ok(!span.includes(canary), `a secret in: ${span.slice(0, 200)}`);
    assert.doesNotMatch(span, /eyJ[A-Za-z0-9_-]{10,}/);
  }
});

test('no token, password or admin secret appears in any log line', () => {
  assert.ok(logs.length > 10, `${logs.length} log lines`);
  assert.ok(canaries.length > 10);
  for (const line of logs) {
    for (const canary of canaries) assert.ok(!line.includes(canary), `a secret in: ${line.slice(0, 200)}`);
    // Not even a part of a JWT (its signature) or of a credential token.
    assert.doesNotMatch(line, /eyJ[A-Za-z0-9_-]{10,}/);
  }
  assert.ok(logs.some((l) => l.includes('"msg":"token exchange: exchange issued"')));
  assert.ok(logs.some((l) => l.includes('"msg":"token exchange: exchange refused"') && l.includes('"error":"invalid_target"')));
});
