// The exchange itself, between the thin HTTP server and the targets: parse, verify the subject
// token, find the grant, create the credential; revoke for its owner. Each call answers with the
// HTTP answer to send and the outcome to record, so refusals at any step are recorded alike.
//
// Order matters: the subject token is verified before the target is looked at, so an
// unauthenticated caller learns nothing about which targets exist.
import type { Logger } from '../../core/logging/logger.js';
import { IdentityError } from '../../core/tokens/index.js';
import type { GrantConfig } from '../config/exchange-config.js';
import { decideGrant, type SubjectIdentity } from '../grants/grant-decision.js';
import { subjectContext } from '../identity/subject-context.js';
import { decodeCredentialToken } from '../protocol/credential-token.js';
import { OAuthError, oauthErrorAnswer } from '../protocol/oauth-error.js';
import { parseRevocationRequest } from '../protocol/revocation-request.js';
import { parseTokenExchangeRequest } from '../protocol/token-exchange-request.js';
import { tokenExchangeResponse } from '../protocol/token-response.js';
import { ownerHash } from '../identity/owner-hash.js';
import { CredentialIssueError, type CredentialIssuer } from './credential-issuer.js';
import { outcomeFields, type ExchangeOutcome, type RevocationOutcome } from './exchange-outcome.js';

export interface HttpAnswer {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

export interface SubjectVerifier {
  verify(token: string): Promise<SubjectIdentity>;
}

export interface TokenExchangeDeps {
  subjects: SubjectVerifier;
  grants: readonly GrantConfig[];
  issuers: ReadonlyMap<string, CredentialIssuer>;
  log: Logger;
  now?: () => number;
  /** Told of every outcome (the audit span, later). */
  onOutcome?: (outcome: ExchangeOutcome | RevocationOutcome) => void;
}

/** A subject token that did not verify: RFC 8693 §2.2.2 says invalid_request; unreachable keys are ours to fix. */
function subjectTokenError(err: unknown, invalid: 'invalid_request' | 'invalid_client'): OAuthError {
  if (err instanceof IdentityError) {
    if (err.code === 'jwks-unavailable') return new OAuthError('temporarily_unavailable', `the subject token could not be verified now: ${err.message}`);
    return new OAuthError(invalid, `subject_token rejected: ${err.message}`);
  }
  throw err;
}

function issueFailure(err: unknown): OAuthError {
  if (err instanceof CredentialIssueError) return new OAuthError(err.unavailable ? 'temporarily_unavailable' : 'server_error', err.message);
  throw err;
}

export class TokenExchange {
  private readonly now: () => number;

  constructor(private readonly deps: TokenExchangeDeps) {
    this.now = deps.now ?? Date.now;
  }

  async exchange(contentType: string | undefined, body: Buffer): Promise<HttpAnswer> {
    const startMs = this.now();
    const outcome: ExchangeOutcome = { kind: 'exchange', decision: 'refused', startedAt: new Date(startMs).toISOString(), durationMs: 0 };
    try {
      const request = parseTokenExchangeRequest(contentType, body);
      const identity = await this.deps.subjects.verify(request.subjectToken).catch((err: unknown) => {
        throw subjectTokenError(err, 'invalid_request');
      });
      outcome.subject = subjectContext(identity);
      outcome.target = request.target;
      const granted = decideGrant(this.deps.grants, identity, request.target, request.scope);
      const issuer = this.deps.issuers.get(granted.target);
      if (issuer === undefined) throw new OAuthError('server_error', 'the granted target has no credential issuer');
      Object.assign(outcome, { grant: granted.grant, role: granted.role });
      const nowMs = this.now();
      const credential = await issuer
        .issue({ role: granted.role, ttlMs: granted.ttlMs, grant: granted.grant, owner: ownerHash(identity.issuer, identity.subject), nowMs })
        .catch((err: unknown) => {
          throw issueFailure(err);
        });
      Object.assign(outcome, { decision: 'issued', username: credential.username, expiresAt: credential.expiresAt });
      const response = tokenExchangeResponse({ target: granted.target, protocol: issuer.protocol, ...credential }, granted.role, this.now());
      return { status: 200, body: response, headers: {} };
    } catch (err) {
      return this.refused(outcome, err);
    } finally {
      this.record(outcome, startMs);
    }
  }

  async revoke(contentType: string | undefined, body: Buffer): Promise<HttpAnswer> {
    const startMs = this.now();
    const outcome: RevocationOutcome = { kind: 'revocation', decision: 'refused', startedAt: new Date(startMs).toISOString(), durationMs: 0 };
    try {
      const request = parseRevocationRequest(contentType, body);
      const identity = await this.deps.subjects.verify(request.subjectToken).catch((err: unknown) => {
        throw subjectTokenError(err, 'invalid_client');
      });
      outcome.subject = subjectContext(identity);
      const credential = decodeCredentialToken(request.token);
      const issuer = credential && this.deps.issuers.get(credential.target);
      if (credential === undefined || issuer === undefined) {
        outcome.decision = 'unknown';
        return { status: 200, body: {}, headers: {} };
      }
      Object.assign(outcome, { target: credential.target, username: credential.username });
      const result = await issuer.revoke(credential.username, ownerHash(identity.issuer, identity.subject)).catch((err: unknown) => {
        throw issueFailure(err);
      });
      if (result === 'not-owner') throw new OAuthError('unauthorized_client', 'this credential was issued to another identity');
      outcome.decision = result;
      return { status: 200, body: {}, headers: {} };
    } catch (err) {
      return this.refused(outcome, err);
    } finally {
      this.record(outcome, startMs);
    }
  }

  private refused(outcome: ExchangeOutcome | RevocationOutcome, err: unknown): HttpAnswer {
    const error = err instanceof OAuthError ? err : new OAuthError('server_error', 'the exchange failed');
    if (!(err instanceof OAuthError)) this.deps.log.error('token exchange: unexpected failure', { kind: outcome.kind, error: (err as Error).name });
    outcome.decision = 'refused';
    const answer = oauthErrorAnswer(error);
    outcome.refusal = { code: answer.body.error, description: answer.body.error_description };
    return answer;
  }

  private record(outcome: ExchangeOutcome | RevocationOutcome, startMs: number): void {
    outcome.durationMs = this.now() - startMs;
    const fields = outcomeFields(outcome);
    const message = `token exchange: ${outcome.kind} ${outcome.decision}`;
    if (outcome.decision === 'refused') this.deps.log.warn(message, fields);
    else this.deps.log.info(message, fields);
    this.deps.onOutcome?.(outcome);
  }
}
