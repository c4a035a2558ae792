// The broker as an attacker meets it: two replicas of `sidegate broker` (startBrokerService, as
// the chart runs it) over one real PostgreSQL, HTTPS, sidecars proven by ServiceAccount tokens of
// a (test) cluster issuer, approvers by a real OpenID provider behind a private CA (the page's
// login) and by a second configured issuer whose tokens a test can mint with any claims (as a
// GitLab a company also trusts would), a third issuer nobody configured, and Slack and signed
// webhook receivers. Every secret the broker holds, and every token presented, is a canary: no
// answer, page or notification may contain one.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { request } from 'node:https';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../core/logging/logger.js';
import { parseBrokerConfig } from '../../../broker/config/broker-config.js';
import { startBrokerService } from '../../../broker/cli/broker-command.js';
import type { ApprovalBroker } from '../../../broker/server/broker-server.js';
import type { ApprovalRecord } from '../../../broker/api/broker-api-schema.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../../support/self-signed-certificate.js';
import { startTestIssuer, type TestIssuer } from '../../support/token-issuer.js';
import { startOidcProvider, type TestOidcProvider } from '../../support/oidc-provider.js';
import { createScratchDatabase, type ScratchDatabase } from '../../support/scratch-postgres-database.js';
import { BrokerPageBrowser } from '../../support/broker-page-browser.js';

export const CLUSTER_ISSUER = 'https://kubernetes.default.svc.cluster.local';
/** Names and groups of the company's provider (the page's) and of the second issuer, as policies write them. */
export const CORP = 'corp:';
export const GITLAB = 'gitlab:';
/** The second configured approver issuer's client id (its tokens' `aud`). */
export const SECOND_CLIENT = 'sidegate-gitlab';
const SESSION_SECRET = 'canary-session-secret-7c1e0f5a9b2d4e6f8a0b1c2d3e4f';
const WEBHOOK_SECRET = 'canary-webhook-secret-3f9a1b7c5d2e8f0a4b6c1d3e5f7a';
const SLACK_PATH = '/services/T0CANARY/B0CANARY/canarySlackPathSecret';

export interface Received {
  kind: 'slack' | 'webhook';
  event: string;
  body: string;
}

export interface ApiAnswer {
  status: number;
  text: string;
  json: Record<string, unknown>;
}

export interface BrokerUnderAttack {
  /** Replicas A and B, one PostgreSQL; the page's public URL is A's. */
  a: ApprovalBroker;
  b: ApprovalBroker;
  idp: TestOidcProvider;
  /** A second configured approver issuer (mint any claims with `second.sign`). */
  second: TestIssuer;
  /** An issuer the broker was never told of. */
  stranger: TestIssuer;
  cluster: TestIssuer;
  /** The PostgreSQL both replicas share (take it away with `db.setReachable(false)`). */
  db: ScratchDatabase;
  received: Received[];
  api(method: string, path: string, token: string | undefined, body?: unknown, opts?: { replica?: ApprovalBroker; rawBody?: string | Buffer; headers?: Record<string, string> }): Promise<ApiAnswer>;
  podToken(opts?: { pod?: string; audience?: string; expiresIn?: number; serviceAccount?: string }): Promise<string>;
  /** An ID token of the second issuer for `name` (sub `sub-<name>` unless given). */
  secondToken(claims: Record<string, unknown> & { preferred_username: string }, opts?: { audience?: string; expiresIn?: number }): Promise<string>;
  /** A request held by the pod `pod` (default job-42) for corp's dba group, with the given overrides; its id. */
  hold(over?: Record<string, unknown>, pod?: string): Promise<string>;
  record(id: string): Promise<ApprovalRecord>;
  /** A fresh browser, aimed at replica A (the public URL) unless told otherwise. */
  browser(replica?: ApprovalBroker): BrokerPageBrowser;
  /** Fails if any canary (a secret of the broker, or a token a test presented) is in `text`. */
  assertNoCanary(text: string, label?: string): void;
  /** Tokens presented so far are canaries too. */
  rememberToken(token: string): string;
  /** Waits until `predicate` holds for what the receivers got (or fails after `ms`). */
  waitForNotifications(predicate: (r: Received[]) => boolean, ms?: number): Promise<void>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export async function startBrokerUnderAttack(): Promise<BrokerUnderAttack> {
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-broker-attack-'));
  const tls: TestCertificate = makeSelfSignedCertificate(dir, 'broker');
  const clusterTls = makeSelfSignedCertificate(dir, 'cluster');
  const secondTls = makeSelfSignedCertificate(dir, 'second');
  const cluster = await startTestIssuer({ issuer: CLUSTER_ISSUER, tls: { cert: clusterTls.cert, key: await readFile(clusterTls.keyFile, 'utf8') } });
  const second = await startTestIssuer({ tls: { cert: secondTls.cert, key: await readFile(secondTls.keyFile, 'utf8') } });
  const stranger = await startTestIssuer({ tls: { cert: secondTls.cert, key: await readFile(secondTls.keyFile, 'utf8') } });
  const idp = await startOidcProvider({
    https: true,
    accounts: [
      { username: 'alice', groups: ['dba'] },
      { username: 'bob', groups: ['dba'] },
      { username: 'carol', groups: ['dev'] },
      { username: 'OctoCat', groups: ['dba'] },
      { username: 'ci/runner', groups: ['dba'] },
      { username: 'boss', groups: [] },
    ],
  });
  const idpCa = await readFile(idp.caFile!, 'utf8');
  const db: ScratchDatabase = await createScratchDatabase('sidegate_broker_attack');

  const received: Received[] = [];
  const receiver = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ kind: req.url?.startsWith('/services/') ? 'slack' : 'webhook', event: String(req.headers['x-sidegate-event'] ?? 'slack'), body });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const receiverBase = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  const file = async (name: string, content: string) => {
    const path = join(dir, name);
    await writeFile(path, content, { mode: 0o600 });
    return path;
  };
  const c = db.connection;
  const connectionString = `postgres://${encodeURIComponent(String(c.user))}:${encodeURIComponent(String(c.password))}@${c.host}:${c.port}/${c.database}`;
  const pgCa = (c.ssl as { ca: string }).ca;
  const portA = await freePort();
  const publicUrl = `https://127.0.0.1:${portA}`;
  idp.allowRedirectUri(`${publicUrl}/auth/callback`);
  const secondCa = secondTls.certFile;
  const config = parseBrokerConfig({
    publicUrl,
    store: { kind: 'postgres', connectionFile: await file('pg-connection', connectionString), caFile: await file('pg-ca.crt', pgCa), maxConnections: 5 },
    requesters: { kubernetes: { issuer: CLUSTER_ISSUER, discovery: false, jwksUrl: cluster.jwksUrl, caFile: clusterTls.certFile } },
    approvers: {
      oidc: [
        {
          issuer: idp.issuer,
          clientId: idp.webClient.clientId,
          cliClientId: idp.cliClientId,
          clientSecretFile: await file('oidc-client-secret', idp.webClient.clientSecret!),
          caFile: idp.caFile!,
          usernamePrefix: CORP,
          groupsPrefix: CORP,
        },
        { issuer: second.issuer, clientId: SECOND_CLIENT, caFile: secondCa, usernamePrefix: GITLAB, groupsPrefix: GITLAB },
      ],
      superApprovers: [{ issuer: idp.issuer, subject: idp.subjectOf('boss') }],
    },
    notifications: {
      slack: { webhookUrlFile: await file('slack-url', `${receiverBase}${SLACK_PATH}`) },
      webhooks: [{ url: `${receiverBase}/hook`, secretFile: await file('webhook-secret', WEBHOOK_SECRET) }],
    },
    session: { secretFile: await file('session-secret', SESSION_SECRET) },
    audit: { stateDir: join(dir, 'audit') },
  });
  const log = createLogger({ level: 'error', sink: () => undefined });
  // Each replica keeps its own evidence spool, as each pod does.
  const listen = async (port: number, replica: string) =>
    startBrokerService({ ...config, audit: { stateDir: join(dir, `audit-${replica}`) } }, { host: '127.0.0.1', port, tls: { cert: Buffer.from(tls.cert), key: await readFile(tls.keyFile) } }, log);
  // A broker that fails to start must not leave the servers above running (the test would hang).
  const [a, b] = await Promise.all([listen(portA, 'a'), listen(0, 'b')]).catch(async (err: unknown) => {
    await Promise.allSettled([idp.close(), cluster.close(), second.close(), stranger.close(), db.drop()]);
    await new Promise<void>((r) => receiver.close(() => r()));
    throw err;
  });

  const canaries = new Set([SESSION_SECRET, WEBHOOK_SECRET, SLACK_PATH, 'canarySlackPathSecret', idp.webClient.clientSecret!, String(c.password)]);
  const rememberToken = (token: string) => {
    // A token's signature is the part that must never come back.
    canaries.add(token.split('.').at(-1) ?? token);
    return token;
  };

  const api: BrokerUnderAttack['api'] = (method, path, token, body, opts = {}) =>
    new Promise((resolve, reject) => {
      const base = (opts.replica ?? a).url;
      const payload = opts.rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
      const req = request(base + path, { method, ca: tls.cert, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...opts.headers } }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => {
          let json: Record<string, unknown> = {};
          try {
            json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
          } catch {
            // not JSON: text is kept
          }
          resolve({ status: res.statusCode ?? 0, text, json });
        });
      });
      req.on('error', reject);
      req.end(payload);
    });

  const podToken: BrokerUnderAttack['podToken'] = async (opts = {}) =>
    rememberToken(
      await cluster.sign(
        {
          sub: `system:serviceaccount:ci:${opts.serviceAccount ?? 'runner'}`,
          'kubernetes.io': { namespace: 'ci', serviceaccount: { name: opts.serviceAccount ?? 'runner', uid: 'sa-1' }, pod: { name: opts.pod ?? 'job-42', uid: `uid-${opts.pod ?? 'job-42'}` } },
        },
        { audience: opts.audience ?? 'sidegate-broker', ...(opts.expiresIn !== undefined ? { expiresIn: opts.expiresIn } : {}) },
      ),
    );

  const hold: BrokerUnderAttack['hold'] = async (over = {}, pod) => {
    const created = await api('POST', '/v1/approvals', await podToken({ pod }), {
      requester: { subject: 'repo:acme/shop:ref:refs/heads/main', issuer: 'https://token.actions.githubusercontent.com', identities: [], ci: { system: 'github', repository: 'acme/shop', actor: 'octocat' } },
      target: 'orders-db',
      protocol: 'postgres',
      command: 'DELETE FROM orders WHERE id = $1',
      hash: `sha256:${'a'.repeat(64)}`,
      rule: 'deletes-need-approval',
      approvers: [],
      groups: [`${CORP}dba`],
      threshold: 1,
      sessionId: 's-1',
      timeoutMs: 600_000,
      ...over,
    });
    assert.equal(created.status, 201, created.text);
    return String(created.json['id']);
  };

  return {
    a,
    b,
    idp,
    second,
    stranger,
    cluster,
    db,
    received,
    api,
    podToken,
    secondToken: async (claims, opts = {}) =>
      rememberToken(await second.sign({ sub: `sub-${claims.preferred_username}`, ...claims }, { audience: opts.audience ?? SECOND_CLIENT, ...(opts.expiresIn !== undefined ? { expiresIn: opts.expiresIn } : {}) })),
    hold,
    record: async (id) => (await api('GET', `/v1/approvals/${id}`, await podToken())).json as unknown as ApprovalRecord,
    browser: (replica = a) => new BrokerPageBrowser(replica.url, [tls.cert, idpCa]),
    assertNoCanary(text, label = 'answer') {
      for (const canary of canaries) assert.ok(!text.includes(canary), `${label} leaks a secret or a token (${canary.slice(0, 6)}…)`);
    },
    rememberToken,
    async waitForNotifications(predicate, ms = 5000) {
      for (let waited = 0; !predicate(received); waited += 25) {
        if (waited > ms) assert.fail(`notifications not as expected after ${ms} ms: ${received.map((r) => `${r.kind}:${r.event}`).join(', ')}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async close() {
      await Promise.allSettled([a.close(), b.close()]);
      await Promise.allSettled([idp.close(), cluster.close(), second.close(), stranger.close()]);
      await new Promise<void>((r) => receiver.close(() => r()));
      await db.drop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
