// What the token-exchange integration tests do alike, whatever the target's protocol: ask an
// exchange for a credential and revoke one over HTTPS as a form (remembering every token and
// password they saw, none of which may be logged), and run a sidecar whose targets take their
// login from an exchange, as a pod's does.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '../../core/logging/logger.js';
import { decodeCredentialToken, type TargetCredential } from '../../exchange/protocol/credential-token.js';
import { startSidecar, type RunningSidecar } from '../../sidecar/runtime/sidecar-runtime.js';
import { httpsRequest, type HttpsReply } from './https-json-client.js';

export const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT = 'urn:ietf:params:oauth:token-type:jwt';

export interface ExchangeClient {
  post(path: string, form: Record<string, string>, url?: string): Promise<HttpsReply>;
  /** POST /v1/token for the client's audience (a target), or what `extra` says. */
  exchange(subjectToken: string, extra?: Record<string, string>, url?: string): Promise<HttpsReply>;
  /** The credential an answer holds (asserted 200). */
  credentialOf(reply: HttpsReply): TargetCredential;
}

/** `url()`, `ca()`: the exchange's base URL and CA now (tests start and restart it); `canaries` collects every secret seen. */
export function exchangeClient(opts: { url: () => string; ca: () => string; audience: string; canaries: string[] }): ExchangeClient {
  const post = (path: string, form: Record<string, string>, url = opts.url()) => {
    for (const [k, v] of Object.entries(form)) if (k === 'subject_token' || k === 'token' || k === 'actor_token') opts.canaries.push(v);
    return httpsRequest(`${url}${path}`, { ca: opts.ca(), method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
  };
  return {
    post,
    exchange: (subjectToken, extra = {}, url) => post('/v1/token', { grant_type: GRANT_TYPE, subject_token: subjectToken, subject_token_type: JWT, audience: opts.audience, ...extra }, url),
    credentialOf: (reply) => {
      assert.equal(reply.status, 200, reply.text);
      const credential = decodeCredentialToken(reply.json.access_token);
      assert.ok(credential, 'access_token holds a credential');
      opts.canaries.push(credential.password, reply.json.access_token);
      return credential;
    },
  };
}

/** The claims of a pod-bound ServiceAccount token as the kubelet projects it: a sidecar's actor token. */
export function podTokenClaims(namespace = 'ci', account = 'runner', pod = 'runner-0'): Record<string, unknown> {
  return { sub: `system:serviceaccount:${namespace}:${account}`, 'kubernetes.io': { namespace, serviceaccount: { name: account, uid: `${account}-uid` }, pod: { name: pod, uid: `${pod}-uid` } } };
}

/**
 * A client whose exchanges go as a sidecar makes them for a CI job: the pod's token (`actor()`)
 * as actor_token, unless `extra.actor_token` names another or is '' (the subject alone).
 */
export function delegatingExchange(client: ExchangeClient, actor: () => Promise<string>): ExchangeClient['exchange'] {
  return async (subjectToken, extra = {}, url) => {
    const { actor_token: named, ...rest } = extra;
    const token = named ?? (await actor());
    return client.exchange(subjectToken, { ...(token === '' ? {} : { actor_token: token, actor_token_type: JWT }), ...rest }, url);
  };
}

/** A credential as a revocation's `token`: what the exchange issued, or a forgery of it. */
export function credentialTokenOf(credential: TargetCredential): string {
  return Buffer.from(JSON.stringify({ v: 1, ...credential })).toString('base64url');
}

/**
 * A sidecar with the policy text given, its exchange at `url` and the pod's token; its logs into
 * `logs`. `tokenFile`: the pod's identity token, for sessions whose client presents none.
 */
export async function startExchangeSidecar(opts: { dir: string; name: string; policy: string; url: string; podToken: string; tokenFile?: string; ca: string; logs: string[] }): Promise<{ sidecar: RunningSidecar; stateDir: string }> {
  const policyFile = join(opts.dir, `${opts.name}.yaml`);
  await writeFile(policyFile, opts.policy);
  const stateDir = join(opts.dir, `${opts.name}-state`);
  const sidecar = await startSidecar({
    policyFile,
    stateDir,
    ...(opts.tokenFile !== undefined ? { tokenFile: opts.tokenFile } : {}),
    broker: 'embedded',
    exchange: { url: opts.url, token: async () => opts.podToken, ca: Buffer.from(opts.ca) },
    env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: '' },
    log: createLogger({ level: 'debug', sink: (line) => opts.logs.push(line) }),
  });
  return { sidecar, stateDir };
}
