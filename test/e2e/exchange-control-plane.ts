// What every token-exchange pod test sets up the same way, whatever the database: the cluster's
// ServiceAccount issuer (its JWKS served over HTTPS on the cluster network) and the pod tokens it
// signs, a real `sidegate exchange` on its Service address in the db namespace, and the webhook
// configured with the exchange's URL and CA, which admits the runner pod; then the pods run from
// the patched spec, the refusals asked of the exchange directly, and what a pod left on disk.
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { mustRun, run, spawnInNamespace, type NamespacePair } from '../netns/network-namespaces.js';
import { watchJsonLines, type JsonLinesProcess } from '../netns/json-lines-process.js';
import { startTestIssuer, writeStaticJwks } from '../support/token-issuer.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../support/self-signed-certificate.js';
import { startWebhookServer, type WebhookServer } from '../../webhook/admission/webhook-server.js';
import { createStaticNamespaceLookup } from '../../webhook/admission/namespace-lookup.js';
import { parseInjectionConfig } from '../../webhook/config/injection-config.js';
import { flattenOtlpJson } from '../../core/audit/index.js';
import type { PodSpec, VolumeContents } from './pod-simulator.js';
import { admitPod, CLI, runPatchedPod, type InjectedSidecar } from './injected-pod-harness.js';

export const CLUSTER_ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const EXCHANGE_AUDIENCE = 'sidegate-exchange';
const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const EGRESS_SERVERS = fileURLToPath(new URL('./fixtures/egress-servers.js', import.meta.url));

/** The pod's identity token, its exchange token, and the ones the exchange must refuse. */
export type PodTokens = Record<'identity' | 'exchange' | 'otherAudience' | 'expired' | 'noGrant', string>;

export interface ExchangeControlPlane {
  url: string;
  tls: TestCertificate;
  tokens: PodTokens;
  /** The cluster issuer's keys as a file a policy's identity can name. */
  clusterJwks: string;
  /** The runner pod as the webhook patched it. */
  patched: PodSpec;
  /** The exchange's own audit trail (no collector here). */
  auditFile: string;
  log(): string;
  /** The pod's policy: the cluster's pods as identity `ci-runners`, `target` (a YAML flow mapping), reads allowed. */
  podPolicy(target: string): string;
  /** Runs the patched pod again (a new pod on the same node) with this exchange token and policy; killed at stop. */
  startPod(exchangeToken: string, policy: string): Promise<InjectedSidecar>;
  /** POST /v1/token from inside the pod's namespace with curl: the HTTP status and the JSON answer. */
  exchangeFromPod(subjectToken: string, audience: string): Promise<{ status: string; body: { error?: string; error_description?: string } }>;
  /**
   * Asserts, asking from the pod for `audience`, that a token for another audience, an expired
   * one and one without a grant get RFC 8693's error, and that the refusals are spans in the
   * exchange's audit trail.
   */
  expectRfcRefusals(audience: string): Promise<void>;
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  ns: NamespacePair;
  dir: string;
  /** exchange.yaml's `targets` (admin password files under `dir`). */
  targets: unknown[];
  /** The grant the pod's ServiceAccount matches. */
  grant: { target: string; roles: string[]; ttl: string };
  /** The runner container a CI system would create. */
  runner: { image: string; command: string[] };
}

export async function waitUntil<T>(probe: () => Promise<T | undefined>, timeoutMs: number, why: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(why());
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Stops a pod's sidecar with `signal` and waits until it has exited. */
export async function stopped(pod: InjectedSidecar, signal: NodeJS.Signals): Promise<void> {
  const exited = new Promise((r) => pod.sidecar.once('exit', r));
  pod.sidecar.kill(signal);
  await exited;
}

/** Every regular file under `root`, read as text. */
export async function filesUnder(root: string): Promise<string[]> {
  const texts: string[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) texts.push(await readFile(join(entry.parentPath, entry.name), 'utf8').catch(() => ''));
  }
  return texts;
}

export async function startExchangeControlPlane(opts: ControlPlaneOptions): Promise<ExchangeControlPlane> {
  const { ns, dir } = opts;
  const cluster = await startTestIssuer({ issuer: CLUSTER_ISSUER });
  const jwksRoot = join(dir, 'jwks-root');
  await mustRun(['mkdir', '-p', jwksRoot]);
  await writeStaticJwks(join(jwksRoot, 'jwks.json'), cluster.jwks);
  const jwksTls = makeSelfSignedCertificate(dir, 'jwks', [`IP:${ns.v4.dbOther}`]);
  const jwksServer: JsonLinesProcess = watchJsonLines(spawnInNamespace(ns.db, [process.execPath, EGRESS_SERVERS, jwksRoot, jwksTls.certFile, jwksTls.keyFile, `${ns.v4.dbOther}:443`, `${ns.v4.dbOther}:80`]), 'jwks server');
  let exchange: ChildProcess | undefined;
  let webhook: WebhookServer | undefined;
  let exchangeLog = '';
  const pods: InjectedSidecar[] = [];
  const stop = async () => {
    for (const p of pods) p.sidecar.kill('SIGKILL');
    exchange?.kill('SIGTERM');
    await jwksServer.stop();
    await new Promise((r) => setTimeout(r, 300));
    await webhook?.close();
  };
  try {
    await jwksServer.waitFor((e) => e['event'] === 'ready', 10_000);
    const pod = (name: string, sa = 'runner') => ({ sub: `system:serviceaccount:ci:${sa}`, 'kubernetes.io': { namespace: 'ci', pod: { name, uid: `uid-${name}` }, serviceaccount: { name: sa, uid: `sa-${sa}` } } });
    const identity = await cluster.sign(pod('migrate'), { audience: 'sidegate', expiresIn: '1h' });
    const tokens: PodTokens = {
      identity,
      exchange: await cluster.sign(pod('migrate'), { audience: EXCHANGE_AUDIENCE, expiresIn: '1h' }),
      otherAudience: identity,
      expired: await cluster.sign(pod('migrate'), { audience: EXCHANGE_AUDIENCE, expiresIn: -120 }),
      noGrant: await cluster.sign(pod('migrate', 'intruder'), { audience: EXCHANGE_AUDIENCE, expiresIn: '1h' }),
    };
    await cluster.close();
    const clusterJwks = join(dir, 'cluster-jwks.json');
    await writeStaticJwks(clusterJwks, JSON.parse(await readFile(join(jwksRoot, 'jwks.json'), 'utf8')) as { keys: unknown[] });
    await chmod(clusterJwks, 0o644);

    // The exchange on its Service address, as `sidegate exchange` runs in the control plane.
    const exchangeAddress = ns.v4.dbAlt;
    const url = `https://${exchangeAddress}:8443`;
    const tls = makeSelfSignedCertificate(dir, 'exchange', [`IP:${exchangeAddress}`]);
    const config = join(dir, 'exchange.yaml');
    const auditDir = join(dir, 'exchange-audit');
    await writeFile(
      config,
      JSON.stringify({
        issuers: [{ issuer: CLUSTER_ISSUER, audience: EXCHANGE_AUDIENCE, kubernetes: true, jwksUrl: `https://${ns.v4.dbOther}/jwks.json`, caFile: jwksTls.certFile }],
        targets: opts.targets,
        grants: [{ name: 'ci-runners', issuer: CLUSTER_ISSUER, subject: 'system:serviceaccount:ci:runner', claims: { 'kubernetes.io.namespace': 'ci' }, ...opts.grant }],
        sweepInterval: '2s',
        audit: { stateDir: auditDir },
      }),
    );
    exchange = spawnInNamespace(ns.db, [process.execPath, CLI, 'exchange', '--config', config, '--tls-cert', tls.certFile, '--tls-key', tls.keyFile, '--host', exchangeAddress, '--port', '8443']);
    exchange.stdout!.on('data', (d: Buffer) => (exchangeLog += d.toString()));
    exchange.stderr!.on('data', (d: Buffer) => (exchangeLog += d.toString()));
    await waitUntil(async () => (/sidegate exchange: listening on/.test(exchangeLog) ? true : undefined), 30_000, () => `exchange did not start:\n${exchangeLog}`);

    // The webhook as the chart configures it with the exchange deployed beside it.
    const webhookTls = makeSelfSignedCertificate(dir, 'webhook');
    webhook = await startWebhookServer({
      host: '127.0.0.1',
      port: 0,
      tls: { certFile: webhookTls.certFile, keyFile: webhookTls.keyFile },
      config: parseInjectionConfig({ exchangeUrl: url, exchangeCaConfigMap: 'sidegate-exchange-ca' }),
      namespaceLookup: createStaticNamespaceLookup({ ci: { 'sidegate.dev/inject': 'enabled' } }),
    });
    const patched = await admitPod({ url: webhook.url, ca: webhookTls.cert }, { metadata: { name: 'migrate', namespace: 'ci' }, spec: { containers: [{ name: 'runner', ...opts.runner }] } });
    let podRun = 0;
    const plane: ExchangeControlPlane = {
      url,
      tls,
      tokens,
      clusterJwks,
      patched,
      auditFile: join(auditDir, 'audit.otlp.jsonl'),
      log: () => exchangeLog,
      podPolicy: (target) => `version: 1
identities:
  - name: ci-runners
    issuer: ${CLUSTER_ISSUER}
    audiences: [sidegate]
    jwksFile: ${clusterJwks}
    claims: { sub: "system:serviceaccount:ci:*" }
targets:
  - ${target}
rules:
  - { name: runner-reads, identities: [ci-runners], when: { statements: [read, session, transaction] }, action: allow }
`,
      startPod: async (exchangeToken, policy) => {
        const volumes: VolumeContents = {
          'sidegate-policy': { 'policy.yaml': { content: policy, mode: 0o644, owner: 'root' } },
          'sidegate-token': { token: tokens.identity, 'exchange-token': exchangeToken },
          'sidegate-exchange-ca': { 'ca.crt': { content: tls.cert, mode: 0o644, owner: 'root' } },
        };
        const pod = await runPatchedPod(ns.pod, patched, volumes, join(dir, `pod-${++podRun}`));
        pods.push(pod);
        return pod;
      },
      exchangeFromPod: async (subjectToken, audience) => {
        const r = await run([
          'ip', 'netns', 'exec', ns.pod, 'curl', '-sS', '--max-time', '10', '--cacert', tls.certFile, `${url}/v1/token`,
          '-d', `grant_type=${GRANT_TYPE}`, '-d', 'subject_token_type=urn:ietf:params:oauth:token-type:jwt', '-d', `audience=${audience}`,
          '--data-urlencode', `subject_token=${subjectToken}`, '-w', '\n%{http_code}',
        ]);
        const [body, status] = r.stdout.trim().split('\n');
        assert.ok(body !== undefined && status !== undefined, r.stdout + r.stderr);
        return { status, body: JSON.parse(body) as { error?: string; error_description?: string } };
      },
      expectRfcRefusals: async (audience) => {
        for (const [name, token, error, description] of [
          ['another audience', tokens.otherAudience, 'invalid_request', /aud/],
          ['expired', tokens.expired, 'invalid_request', /exp/],
          ['no grant', tokens.noGrant, 'invalid_target', /grant/],
        ] as const) {
          const { status, body } = await plane.exchangeFromPod(token, audience);
          assert.equal(status, '400', `${name}: ${JSON.stringify(body)}`);
          assert.equal(body.error, error, name);
          assert.match(body.error_description ?? '', description, name);
        }
        assert.match(exchangeLog, /exchange refused/);
        const refusals = flattenOtlpJson(await readFile(join(auditDir, 'audit.otlp.jsonl'), 'utf8')).map((x) => x.attributes['sidegate.exchange.error']);
        for (const error of ['invalid_request', 'invalid_target']) assert.ok(refusals.includes(error), `a refusal span with ${error}: ${JSON.stringify(refusals)}`);
      },
      stop,
    };
    return plane;
  } catch (err) {
    await stop();
    throw err;
  }
}
