// The token-exchange credential source: the pod's projected token (of the exchange's audience) is
// exchanged for a short-lived login on the target (RFC 8693, docs/TOKEN-EXCHANGE.md). The login is
// the pod's, shared by its sessions; it is kept in memory only, until shortly before it expires,
// and one exchange at a time per target serves every session that needs it. Refusals and an
// unreachable exchange fail the login closed (CredentialError: `refused` or `unavailable`); a
// static credential never stands in. At shutdown every login still alive is revoked.
import type { Principal, TargetSpec } from '../../core/vocabulary.js';
import type { Logger } from '../../core/logging/logger.js';
import { SecurityEvent } from '../../core/logging/security-events.js';
import { revocationForm, tokenExchangeForm } from '../../exchange/protocol/client-forms.js';
import { readTokenAnswer } from '../../exchange/protocol/token-answer.js';
import { CredentialError, SecretCredential, type CredentialSource } from './credential-source.js';
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
}

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

  async credentialsFor(target: TargetSpec, _principal: Principal): Promise<SecretCredential> {
    if (target.credentials.source !== 'exchange') throw new CredentialError('unsupported-source', `target ${target.name} does not take its credential from the token exchange`);
    if (this.stopped) throw new CredentialError('unavailable', 'the sidecar is stopping: no new logins');
    const scope = target.credentials.scope;
    const key = `${target.name}\n${scope ?? ''}`;
    const cached = this.cache.get(key);
    if (cached && this.now() < cached.refreshAtMs) return cached.credential;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.obtain(target.name, scope).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    const obtained = await pending;
    this.cache.set(key, obtained);
    return obtained.credential;
  }

  private async obtain(target: string, scope: string | undefined): Promise<Obtained> {
    let token: string;
    try {
      token = await this.opts.token();
    } catch (err) {
      throw new CredentialError('unavailable', `the pod's token for the token exchange cannot be read (${(err as Error).message})`);
    }
    const obtainedAtMs = this.now();
    const reply = await this.post('/v1/token', tokenExchangeForm(token, target, scope));
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
    if (answer.kind !== 'issued' || !(expiresAtMs > this.now())) {
      throw new CredentialError('unavailable', `the token exchange at ${this.url} answered HTTP ${reply.status} without a usable credential for target "${target}"`);
    }
    const { username, password, expiresAt } = answer.credential;
    const span = parseTraceparentHeader(reply.traceparent);
    this.issued = this.issued.filter((i) => i.expiresAtMs > this.now());
    this.issued.push({ target, login: username, accessToken: answer.accessToken, expiresAtMs });
    this.opts.log.info('credential obtained by token exchange', { event: SecurityEvent.exchangeIssued, target, login: username, expiresAt, ...(span ? { exchangeTraceId: span.traceId } : {}) });
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
