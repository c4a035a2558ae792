// What every attack on the token exchange sets up alike: a real exchange over HTTPS in front of the
// test PostgreSQL 15 (target `orders`, template role `reader`) and, when asked, the test MariaDB
// 10.11 (target `shop`, template role `myReader`), a CI-style issuer and a cluster issuer whose
// pods act for CI jobs (RFC 8693 delegation: a CI grant names its actor, a CI exchange carries the
// pod's token as actor_token, and the pod owns and revokes the login); the answers, log lines and audit spans the attacker and the trail received, and the
// check that no canary secret reached any of them.
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
import { httpsRequest, type HttpsReply } from '../../support/https-json-client.js';
import { IT_DATABASE, rootSql } from '../../support/mariadb-side-by-side.js';
import { exchangeTargetSql, issuedUsersSql } from '../../support/mariadb-exchange-setup.js';
import { asSuperuser } from '../../support/scratch-postgres-database.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../../support/self-signed-certificate.js';
import { mariaInfo, pgInfo, type MariaInfo, type PgInfo } from '../../support/sidegate-harness.js';
import { startTestIssuer, type TestIssuer } from '../../support/token-issuer.js';

export const AUDIENCE = 'sidegate-exchange';
export const CLUSTER_ISSUER = 'https://kubernetes.default.svc.cluster.local';
/** Every CI grant's actor: a pod of the ServiceAccount ci/runner (what `podToken` signs). */
export const RUNNER_ACTOR = { issuer: CLUSTER_ISSUER, subject: 'system:serviceaccount:ci:runner' };

/** The names of one test file's objects, unique per run. */
export interface AttackNames {
  prefix: string;
  pgAdmin: string;
  reader: string;
  myAdmin: string;
  myReader: string;
  table: string;
  /** `<tag>_<what>_<run>`, for a file's own extra roles. */
  named(what: string): string;
}

export interface AttackSetup {
  /** A short tag the file's names start with (`sgxo`). */
  tag: string;
  /** Run as the PostgreSQL superuser once the admin and `reader` exist: the file's own roles. */
  postgresSql?: (n: AttackNames) => string[];
  /** The file's own roles, dropped at the end in this order (members before the roles they are in). */
  postgresRoles?: (n: AttackNames) => string[];
  mariadb?: boolean;
  /** Targets beside `orders` on the same PostgreSQL, by name. */
  morePostgresTargets?: string[];
  /** Grants; `ci` and `cluster` are the issuers' names. A CI grant's actor: `RUNNER_ACTOR`. */
  grants: (n: AttackNames, issuers: { ci: string; cluster: string }) => unknown[];
}

export interface TargetClient {
  /**
   * The exchange's raw answer; its text (less the access token) is kept as what the attacker saw.
   * `actorToken`: the pod acting for a CI subject (sent as actor_token); absent: the subject alone.
   */
  exchange(subjectToken: string, actorToken?: string, extra?: Record<string, string>): Promise<HttpsReply>;
  issue(subjectToken: string, actorToken?: string): Promise<TargetCredential>;
  /** `ownerToken`: a token of the login's owner, the actor of a delegated login. */
  revoke(credential: TargetCredential, ownerToken: string): Promise<HttpsReply>;
}

export class AttackedExchange {
  readonly logs: string[] = [];
  readonly canaries: string[] = [];
  readonly replies: string[] = [];
  clockShiftMs = 0;
  service!: ExchangeService;
  ci!: TestIssuer;
  cluster!: TestIssuer;
  pg!: PgInfo;
  maria!: MariaInfo;
  private dir!: string;
  private cert!: TestCertificate;

  constructor(
    readonly names: AttackNames,
    private readonly setup: AttackSetup,
  ) {}

  async start(): Promise<void> {
    const n = this.names;
    this.pg = await pgInfo();
    this.dir = await mkdtemp(join(tmpdir(), `sidegate-${this.setup.tag}-`));
    this.cert = makeSelfSignedCertificate(this.dir);
    const tlsKey = await readFile(this.cert.keyFile, 'utf8');
    const adminPassword = randomBytes(18).toString('base64url');
    this.canaries.push(adminPassword);
    const adminFile = join(this.dir, 'admin-password');
    await writeFile(adminFile, `${adminPassword}\n`, { mode: 0o600 });
    await writeFile(join(this.dir, 'cluster-bearer'), 'the-exchange-own-sa-token');
    await this.superuser(async (c) => {
      await c.query(`CREATE ROLE ${n.pgAdmin} LOGIN CREATEROLE PASSWORD ${pg.escapeLiteral(adminPassword)}`);
      await c.query(`CREATE ROLE ${n.reader} NOLOGIN`);
      await c.query(`GRANT SELECT ON customers TO ${n.reader}`);
      for (const sql of this.setup.postgresSql?.(n) ?? []) await c.query(sql);
    });
    const targets: unknown[] = ['orders', ...(this.setup.morePostgresTargets ?? [])].map((name) => ({
      name, protocol: 'postgres', host: this.pg.host, port: this.pg.port, database: this.pg.database, tls: { caFile: this.pg.caFile, serverName: 'localhost' }, admin: { username: n.pgAdmin, passwordFile: adminFile }, rolePrefix: n.prefix,
    }));
    if (this.setup.mariadb) {
      this.maria = await mariaInfo();
      await rootSql(this.maria, exchangeTargetSql({ admin: n.myAdmin, adminPassword, role: n.myReader, database: IT_DATABASE, table: n.table }));
      targets.push({ name: 'shop', protocol: 'mysql', host: '127.0.0.1', port: this.maria.port, tls: { caFile: this.maria.caFile, serverName: 'localhost' }, admin: { username: n.myAdmin, passwordFile: adminFile }, userPrefix: n.prefix, maxUserConnections: 5 });
    }
    this.ci = await startTestIssuer({ tls: { cert: this.cert.cert, key: tlsKey } });
    this.cluster = await startTestIssuer({ issuer: CLUSTER_ISSUER, tls: { cert: this.cert.cert, key: tlsKey }, requireBearer: 'the-exchange-own-sa-token' });
    const config = parseExchangeConfig({
      issuers: [
        { issuer: this.ci.issuer, audience: AUDIENCE, jwksUrl: this.ci.jwksUrl, caFile: this.cert.certFile },
        { issuer: CLUSTER_ISSUER, audience: AUDIENCE, kubernetes: true, discoveryUrl: this.cluster.discoveryUrl, caFile: this.cert.certFile, bearerTokenFile: join(this.dir, 'cluster-bearer') },
      ],
      targets,
      grants: this.setup.grants(n, { ci: this.ci.issuer, cluster: CLUSTER_ISSUER }),
      sweepInterval: '1h',
    });
    const log = createLogger({ level: 'debug', sink: (line) => this.logs.push(line) });
    this.service = await startExchangeService({ ...config, audit: { stateDir: join(this.dir, 'audit') } }, { host: '127.0.0.1', port: 0, tls: { cert: this.cert.cert, key: tlsKey }, env: {}, now: () => Date.now() + this.clockShiftMs }, log);
  }

  async stop(): Promise<void> {
    const n = this.names;
    await this.service?.close();
    await this.ci?.close();
    await this.cluster?.close();
    await this.superuser(async (c) => {
      for (const role of await this.pgRoles()) await c.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`).catch(() => undefined);
      for (const role of [...(this.setup.postgresRoles?.(n) ?? []), n.reader, n.pgAdmin]) await c.query(`DROP OWNED BY ${role}; DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    }).catch(() => undefined);
    if (this.setup.mariadb) {
      const users = await this.myUsers().catch(() => []);
      await rootSql(this.maria, [...users.map((u) => `DROP USER IF EXISTS '${u}'@'%'`), `DROP USER IF EXISTS '${n.myAdmin}'@'%'`, `DROP ROLE IF EXISTS ${n.myReader}`, `DROP TABLE IF EXISTS ${IT_DATABASE}.${n.table}`].join(';\n')).catch(() => undefined);
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  superuser<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
    return asSuperuser(this.pg, fn);
  }

  /** The issued PostgreSQL roles (under the prefix), as the superuser sees them. */
  pgRoles(): Promise<string[]> {
    return this.superuser(async (c) => (await c.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1) ORDER BY 1', [this.names.prefix])).rows.map((r) => r.rolname));
  }

  async myUsers(): Promise<string[]> {
    return (await rootSql(this.maria, issuedUsersSql(this.names.prefix))).split('\n').filter((l) => l !== '');
  }

  client(audience: string): TargetClient {
    const c = exchangeClient({ url: () => this.service.url, ca: () => this.cert.cert, audience, canaries: this.canaries });
    const seen = async (reply: Promise<HttpsReply>) => {
      const r = await reply;
      this.replies.push(r.text.replace(/"access_token":"[^"]*"/, ''));
      return r;
    };
    const actor = (token?: string): Record<string, string> => (token === undefined ? {} : { actor_token: token, actor_token_type: JWT });
    return {
      exchange: (token, actorToken, extra = {}) => seen(c.exchange(token, { ...actor(actorToken), ...extra })),
      issue: async (token, actorToken) => c.credentialOf(await seen(c.exchange(token, actor(actorToken)))),
      revoke: (credential, ownerToken) => seen(c.post('/v1/revoke', { token: credentialTokenOf(credential), subject_token: ownerToken, subject_token_type: JWT })),
    };
  }

  /** POST /v1/token with a body and content type of the attacker's making. */
  async postRaw(body: string | Buffer, contentType = 'application/x-www-form-urlencoded'): Promise<HttpsReply> {
    const reply = await httpsRequest(`${this.service.url}/v1/token`, { ca: this.cert.cert, method: 'POST', headers: { 'content-type': contentType }, body });
    this.replies.push(reply.text.replace(/"access_token":"[^"]*"/, ''));
    return reply;
  }

  async pgLogin(credential: Pick<TargetCredential, 'username' | 'password'>, database = this.pg.database): Promise<pg.Client> {
    const c = new pg.Client({ host: this.pg.host, port: this.pg.port, database, user: credential.username, password: credential.password, ssl: { ca: await readFile(this.pg.caFile, 'utf8'), servername: 'localhost' }, connectionTimeoutMillis: 5000 });
    c.on('error', () => undefined);
    await c.connect();
    return c;
  }

  async myLogin(credential: TargetCredential): Promise<mysql.Connection> {
    const c = await mysql.createConnection({ host: 'localhost', port: this.maria.port, user: credential.username, password: credential.password, database: IT_DATABASE, ssl: { ca: await readFile(this.maria.caFile), rejectUnauthorized: true }, connectTimeout: 5000 });
    c.on('error', () => undefined);
    return c;
  }

  /** A CI token alone (no pod acting for it) is refused, and nothing is created. */
  async refusesAlone(client: TargetClient, ciToken: string): Promise<void> {
    const before = await this.pgRoles();
    const myBefore = this.setup.mariadb ? await this.myUsers() : [];
    const reply = await client.exchange(ciToken);
    assert.equal(reply.status, 400, reply.text);
    assert.equal(reply.json.error, 'invalid_request');
    assert.match(reply.json.error_description, /actor_token .* is required/);
    assert.deepEqual(await this.pgRoles(), before, 'no role created');
    if (this.setup.mariadb) assert.deepEqual(await this.myUsers(), myBefore, 'no user created');
  }

  /** No secret the test saw in any answer, log line or audit span. */
  async noCanaryAnywhere(): Promise<void> {
    await new Promise((r) => setTimeout(r, 300));
    const spans = JSON.stringify(flattenOtlpJson(await readFile(join(this.dir, 'audit', 'audit.otlp.jsonl'), 'utf8')));
    const text = [...this.logs, ...this.replies, spans].join('\n');
    for (const secret of this.canaries) assert.ok(!text.includes(secret), 'a secret reached an answer, a log line or a span');
  }
}

export function attackNames(tag: string): AttackNames {
  const run = randomBytes(4).toString('hex');
  const named = (what: string) => `${tag}_${what}_${run}`;
  return { prefix: `${tag}_${run}_`, pgAdmin: named('admin'), reader: named('reader'), myAdmin: named('madmin'), myReader: named('mreader'), table: `exchange_${tag}_${run}`, named };
}

/** A GitHub run of acme/app on main: every run of it has the same `sub`. */
export function runToken(ci: TestIssuer, runId: string): Promise<string> {
  return ci.sign({ sub: 'repo:acme/app:ref:refs/heads/main', repository: 'acme/app', ref: 'refs/heads/main', run_id: runId, run_attempt: '1' }, { audience: AUDIENCE });
}

/** A pod of the ServiceAccount ci/runner: every pod of it has the same `sub`. */
export function podToken(cluster: TestIssuer, uid: string): Promise<string> {
  return cluster.sign({ sub: 'system:serviceaccount:ci:runner', 'kubernetes.io': { namespace: 'ci', serviceaccount: { name: 'runner', uid: 'sa-uid' }, pod: { name: `runner-${uid}`, uid } } }, { audience: AUDIENCE });
}
