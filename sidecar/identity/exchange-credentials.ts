// The token-exchange credential source: a short-lived login on the target for the session's
// identity (RFC 8693, docs/TOKEN-EXCHANGE.md). A session identified by the pod's own token gets the
// pod's login (its projected token, of the exchange's audience, is the subject), and so does one
// whose client presented a ServiceAccount token. A session whose client presented a CI job's token
// gets that job's login: the job's token is the subject and the
// pod's token the actor (RFC 8693 §1.1 delegation), so the job's grant decides and the login stays
// with the sidecar. Logins are cached in memory only, per target and verified identity, until
// shortly before they expire, and one exchange at a time per key serves every session that needs
// it. Refusals and an unreachable exchange fail the login closed (CredentialError: `refused` or
// `unavailable`); a static credential never stands in. At shutdown every login still alive is
// revoked with the pod's token (the actor owns a delegated login).
import type { Principal, TargetSpec } from '../../core/vocabulary.js';
import type { Logger } from '../../core/logging/logger.js';
import { SecurityEvent } from '../../core/logging/security-events.js';
import { revocationForm, tokenExchangeForm } from '../../exchange/protocol/client-forms.js';
import { readTokenAnswer } from '../../exchange/protocol/token-answer.js';
import { CredentialError, SecretCredential, type CredentialSource } from './credential-source.js';
import { delegatedIdentityKey, jobTokenOf } from './delegated-identity.js';
import { ExchangeUnreachable, postExchangeForm } from './exchange-request.js';
import { parseTraceparentHeader } from '../../core/audit/index.js';

export interface ExchangeCredentialsOptions {
  /** The exchange's base URL (`https://sidegate-exchange.sidegate-system.svc:8443`). */
  url: string;
  /** The pod's current token for the exchange's audience (re-read: kubelet rotates it). */
  token: () => Promise<string>;
  /** PEM bundle the exchange's certificate is verified with; system CAs when absent. */
  ca?: Buffer;
  log: Logger;
  requestTimeoutMs?: number;
  now?: () => number;
  /**
   * false: every session gets the pod's login, whatever its client presented (local mode, whose
   * embedded exchange grants the sidecar alone). Default true: a presented token is exchanged.
   */
  delegate?: boolean;
}

/** Distinct identities with a cached login at most; the oldest goes first beyond it. */
const MAX_CACHED_LOGINS = 256;

interface Obtained {
  credential: SecretCredential;
  refreshAtMs: number;
}

/** An issued credential token kept for revocation (a bearer secret: memory only). */
interface Issued {
  target: string;
  login: string;
  accessToken: string;
  expiresAtMs: number;
}

/**
 * When a login obtained at `obtainedAtMs` is exchanged again: a fifth of its lifetime before it
 * expires, at least 10 s and at most 5 min ahead, so a session never starts on a dying login.
 */
export function refreshAtMs(obtainedAtMs: number, expiresAtMs: number): number {
  const ahead = Math.min(5 * 60_000, Math.max(10_000, (expiresAtMs - obtainedAtMs) / 5));
  return Math.max(obtainedAtMs, expiresAtMs - ahead);
}

export class ExchangeCredentials implements CredentialSource {
  private readonly base: URL;
  private readonly cache = new Map<string, Obtained>();
  private readonly inFlight = new Map<string, Promise<Obtained>>();
  private issued: Issued[] = [];
  private stopped = false;
  private readonly now: () => number;
  private readonly timeoutMs: number;

  constructor(private readonly opts: ExchangeCredentialsOptions) {
    this.base = new URL(opts.url);
    this.now = opts.now ?? Date.now;
    this.timeoutMs = opts.requestTimeoutMs ?? 10_000;
  }

  /** The exchange's address, for messages (no credentials in it: the flag is a plain URL). */
  get url(): string {
    return this.base.origin;
  }

  async credentialsFor(target: TargetSpec, principal: Principal): Promise<SecretCredential> {
    if (target.credentials.source !== 'exchange') throw new CredentialError('unsupported-source', `target ${target.name} does not take its credential from the token exchange`);
    if (this.stopped) throw new CredentialError('unavailable', 'the sidecar is stopping: no new logins');
    const scope = target.credentials.scope;
    // The job's token, when its client presented one: the key is its verified identity, never the
    // raw token, so a later token of the same job shares the login and no other identity does.
    const job = this.opts.delegate === false ? undefined : jobTokenOf(principal);
    const key = `${target.name}\n${scope ?? ''}\n${job !== undefined ? `job:${delegatedIdentityKey(principal)}` : 'pod'}`;
    const cached = this.cache.get(key);
    if (cached && this.now() < cached.refreshAtMs) return cached.credential;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.obtain(target.name, target.protocol, scope, job).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    const obtained = await pending;
    this.remember(key, obtained);
    return obtained.credential;
  }

  /** Caches a login, dropping those due for refresh and, beyond the bound, the oldest. */
  private remember(key: string, obtained: Obtained): void {
    const now = this.now();
    for (const [k, v] of this.cache) if (v.refreshAtMs <= now) this.cache.delete(k);
    this.cache.delete(key);
    this.cache.set(key, obtained);
    while (this.cache.size > MAX_CACHED_LOGINS) this.cache.delete(this.cache.keys().next().value!);
  }

  /** `jobToken`: the subject, with the pod's token as actor; absent: the pod's token is the subject. */
  private async obtain(target: string, protocol: TargetSpec['protocol'], scope: string | undefined, jobToken: string | undefined): Promise<Obtained> {
    let token: string;
    try {
      token = await this.opts.token();
    } catch (err) {
      throw new CredentialError('unavailable', `the pod's token for the token exchange cannot be read (${(err as Error).message})`);
    }
    const obtainedAtMs = this.now();
    const form = jobToken === undefined ? tokenExchangeForm(token, target, scope) : tokenExchangeForm(jobToken, target, scope, token);
    const reply = await this.post('/v1/token', form);
    const answer = readTokenAnswer(reply.status, reply.body, target);
    if (answer.kind === 'refused') {
      this.opts.log.warn('security: token exchange refused a credential', { event: SecurityEvent.exchangeRefused, target, exchange: this.url, status: answer.status, error: answer.error, description: answer.description });
      // The exchange's own trouble is an outage, not a verdict on this pod.
      const outage = answer.status >= 500 || answer.error === 'temporarily_unavailable' || answer.error === 'server_error';
      throw new CredentialError(
        outage ? 'unavailable' : 'refused',
        `the token exchange ${outage ? 'could not issue' : 'refused'} a credential for target "${target}": ${answer.error}${answer.description ? ` (${answer.description})` : ''}`,
      );
    }
    const expiresAtMs = answer.kind === 'issued' ? Date.parse(answer.credential.expiresAt) : NaN;
    // A login for another protocol would be sent to this target in the wrong terms: never tried.
    if (answer.kind !== 'issued' || !(expiresAtMs > this.now()) || answer.credential.protocol !== protocol) {
      throw new CredentialError('unavailable', `the token exchange at ${this.url} answered HTTP ${reply.status} without a usable ${protocol} credential for target "${target}"`);
    }
    const { username, password, expiresAt } = answer.credential;
    const span = parseTraceparentHeader(reply.traceparent);
    this.issued = this.issued.filter((i) => i.expiresAtMs > this.now());
    this.issued.push({ target, login: username, accessToken: answer.accessToken, expiresAtMs });
    this.opts.log.info('credential obtained by token exchange', { event: SecurityEvent.exchangeIssued, target, login: username, expiresAt, for: jobToken === undefined ? 'pod' : 'presented token', ...(span ? { exchangeTraceId: span.traceId } : {}) });
    return { credential: new SecretCredential(username, password, { expiresAt, ...(span ? { span } : {}) }), refreshAtMs: refreshAtMs(obtainedAtMs, expiresAtMs) };
  }

  private async post(path: string, form: string) {
    try {
      return await postExchangeForm(new URL(path, this.base), form, { ...(this.opts.ca ? { ca: this.opts.ca } : {}), timeoutMs: this.timeoutMs });
    } catch (err) {
      const why = err instanceof ExchangeUnreachable ? err.message : 'request failed';
      this.opts.log.warn('token exchange unreachable', { event: SecurityEvent.exchangeUnavailable, exchange: this.url, error: why });
      throw new CredentialError('unavailable', `the token exchange at ${this.url} cannot be reached (${why})`);
    }
  }

  /**
   * Stops issuing and revokes every login obtained that has not expired (POST /v1/revoke, the
   * pod's current token as the owner's proof). Call after sessions have drained: revocation ends
   * the login's sessions on the target. Failures are logged; the exchange's sweeper is the backstop.
   */
  async revokeAll(): Promise<void> {
    this.stopped = true;
    this.cache.clear();
    await Promise.allSettled([...this.inFlight.values()]);
    const alive = this.issued.filter((i) => i.expiresAtMs > this.now());
    this.issued = [];
    if (alive.length === 0) return;
    let token: string;
    try {
      token = await this.opts.token();
    } catch (err) {
      this.opts.log.warn('token exchange: cannot revoke, the pod token is unreadable; the sweeper removes the logins at expiry', { event: SecurityEvent.exchangeUnavailable, error: (err as Error).message, logins: alive.map((i) => i.login).join(',') });
      return;
    }
    await Promise.all(
      alive.map(async (i) => {
        try {
          const reply = await postExchangeForm(new URL('/v1/revoke', this.base), revocationForm(i.accessToken, token), { ...(this.opts.ca ? { ca: this.opts.ca } : {}), timeoutMs: this.timeoutMs });
          if (reply.status === 200) this.opts.log.info('credential revoked', { event: SecurityEvent.exchangeRevoked, target: i.target, login: i.login });
          else this.opts.log.warn('token exchange refused a revocation; the sweeper removes the login at expiry', { event: SecurityEvent.exchangeUnavailable, target: i.target, login: i.login, status: reply.status });
        } catch (err) {
          this.opts.log.warn('token exchange unreachable for a revocation; the sweeper removes the login at expiry', { event: SecurityEvent.exchangeUnavailable, target: i.target, login: i.login, error: (err as Error).message });
        }
      }),
    );
  }
}
