// The exchange itself, between the thin HTTP server and the targets: parse, verify the subject
// token, find the grant, create the credential; revoke for its owner. Each call's outcome is
// recorded as an audit span, durably, before its answer goes out, so refusals at any step are
// recorded alike and no credential exists without its evidence.
//
// Order matters: the subject token (and the actor's) is verified before the target is looked at,
// so an unauthenticated caller learns nothing about which targets exist.
//
// Delegation (RFC 8693 §1.1): a CI job holds its own OIDC token, so a CI subject is exchanged only
// with an actor token, the sidecar's pod token; the login then goes to the sidecar, never to the
// job. The actor owns the credential (it revokes it at stop with its own current token).
import type { Logger } from '../../core/logging/logger.js';
import { SecurityEvent, type SecurityEventName } from '../../core/logging/security-events.js';
import { parseTraceparentHeader } from '../../core/audit/index.js';
import { IdentityError } from '../../core/tokens/index.js';
import type { GrantConfig } from '../config/exchange-config.js';
import { decideGrant, type SubjectIdentity } from '../grants/grant-decision.js';
import { subjectContext } from '../identity/subject-context.js';
import { decodeCredentialToken } from '../protocol/credential-token.js';
import { OAuthError, oauthErrorAnswer } from '../protocol/oauth-error.js';
import { parseRevocationRequest } from '../protocol/revocation-request.js';
import { parseTokenExchangeRequest } from '../protocol/token-exchange-request.js';
import { tokenExchangeResponse } from '../protocol/token-response.js';
import { ownerOf } from '../identity/owner-hash.js';
import { CredentialIssueError, type CredentialIssuer } from './credential-issuer.js';
import { outcomeFields, type ExchangeOutcome, type RevocationOutcome } from './exchange-outcome.js';
import type { EvidenceSpan, OutcomeEvidence } from './outcome-evidence.js';

export interface HttpAnswer {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

export interface SubjectVerifier {
  verify(token: string): Promise<SubjectIdentity>;
  /** A sidecar's pod-bound token of a Kubernetes issuer; anything else throws IdentityError. */
  verifyActor(token: string): Promise<SubjectIdentity>;
  /** Whether this issuer's tokens are exchanged without an actor (a pod's: only its sidecar holds it). */
  standsAlone(issuer: string): boolean;
}

/** A CI token without a sidecar acting for it: the job would get the login and skip sidegate. */
const ACTOR_REQUIRED = "a CI token is exchanged only by the sidecar acting for the job: actor_token (the sidecar's pod token) is required; a CI token alone would hand the login to the job itself";

export interface TokenExchangeDeps {
  subjects: SubjectVerifier;
  grants: readonly GrantConfig[];
  issuers: ReadonlyMap<string, CredentialIssuer>;
  log: Logger;
  now?: () => number;
  /** Where each outcome's span goes before its answer (exchange/evidence/audited-outcomes.ts). */
  evidence: OutcomeEvidence;
  /** Told of every outcome, once recorded (tests). */
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

/** An actor token that did not verify or is not a pod's: invalid_request too (RFC 8693 §2.2.2). */
function actorTokenError(err: unknown): OAuthError {
  if (err instanceof IdentityError) {
    if (err.code === 'jwks-unavailable') return new OAuthError('temporarily_unavailable', `the actor token could not be verified now: ${err.message}`);
    return new OAuthError('invalid_request', `actor_token rejected: ${err.message}`);
  }
  throw err;
}

function issueFailure(err: unknown): OAuthError {
  if (err instanceof CredentialIssueError) return new OAuthError(err.unavailable ? 'temporarily_unavailable' : 'server_error', err.message);
  throw err;
}

/** Said to a client whose request could not be recorded: nothing was created (or it was undone). */
const UNRECORDABLE = "the token exchange's audit trail cannot record this now; nothing was issued, try again later";

export class TokenExchange {
  private readonly now: () => number;

  constructor(private readonly deps: TokenExchangeDeps) {
    this.now = deps.now ?? Date.now;
  }

  async exchange(contentType: string | undefined, body: Buffer): Promise<HttpAnswer> {
    const startMs = this.now();
    const span = this.deps.evidence.open('exchange');
    const outcome: ExchangeOutcome = { kind: 'exchange', decision: 'refused', startedAt: new Date(startMs).toISOString(), durationMs: 0 };
    let answer: HttpAnswer;
    let undo: (() => Promise<unknown>) | undefined;
    try {
      const request = parseTokenExchangeRequest(contentType, body);
      const identity = await this.deps.subjects.verify(request.subjectToken).catch((err: unknown) => {
        throw subjectTokenError(err, 'invalid_request');
      });
      outcome.subject = subjectContext(identity);
      const actor = request.actorToken === undefined ? undefined : await this.deps.subjects.verifyActor(request.actorToken).catch((err: unknown) => {
        throw actorTokenError(err);
      });
      if (actor) outcome.actor = subjectContext(actor);
      outcome.target = request.target;
      if (actor === undefined && !this.deps.subjects.standsAlone(identity.issuer)) throw new OAuthError('invalid_request', ACTOR_REQUIRED);
      const granted = decideGrant(this.deps.grants, identity, request.target, request.scope, actor);
      const issuer = this.deps.issuers.get(granted.target);
      if (issuer === undefined) throw new OAuthError('server_error', 'the granted target has no credential issuer');
      Object.assign(outcome, { grant: granted.grant, role: granted.role });
      // Checked before anything exists on the target: a credential nobody could account for is
      // never created.
      if (!this.deps.evidence.healthy) throw new OAuthError('temporarily_unavailable', UNRECORDABLE);
      const owner = ownerOf(actor ?? identity);
      const nowMs = this.now();
      const credential = await issuer.issue({ role: granted.role, ttlMs: granted.ttlMs, grant: granted.grant, owner, nowMs, issuedBy: span.traceparent }).catch((err: unknown) => {
        throw issueFailure(err);
      });
      undo = () => issuer.revoke(credential.username, owner);
      Object.assign(outcome, { decision: 'issued', username: credential.username, expiresAt: credential.expiresAt });
      const response = tokenExchangeResponse({ target: granted.target, protocol: issuer.protocol, ...credential }, granted.role, this.now());
      answer = { status: 200, body: response, headers: {} };
    } catch (err) {
      answer = this.refused(outcome, err);
    }
    return this.recorded(span, outcome, answer, startMs, undo);
  }

  async revoke(contentType: string | undefined, body: Buffer): Promise<HttpAnswer> {
    const startMs = this.now();
    const span = this.deps.evidence.open('revocation');
    const outcome: RevocationOutcome = { kind: 'revocation', decision: 'refused', startedAt: new Date(startMs).toISOString(), durationMs: 0 };
    let answer: HttpAnswer;
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
        answer = { status: 200, body: {}, headers: {} };
      } else {
        Object.assign(outcome, { target: credential.target, username: credential.username });
        // Taking access away never waits on the trail: a revocation proceeds while it is unhealthy
        // and its answer says whether its record is durable.
        const { result, issuedBy } = await issuer.revoke(credential.username, ownerOf(identity)).catch((err: unknown) => {
          throw issueFailure(err);
        });
        if (issuedBy !== undefined) outcome.issuedBy = issuedBy;
        if (result === 'not-owner') throw new OAuthError('unauthorized_client', 'this credential was issued to another identity');
        outcome.decision = result;
        answer = { status: 200, body: {}, headers: {} };
      }
    } catch (err) {
      answer = this.refused(outcome, err);
    }
    return this.recorded(span, outcome, answer, startMs);
  }

  private refused(outcome: ExchangeOutcome | RevocationOutcome, err: unknown): HttpAnswer {
    const error = err instanceof OAuthError ? err : new OAuthError('server_error', 'the exchange failed');
    if (!(err instanceof OAuthError)) this.deps.log.error('token exchange: unexpected failure', { kind: outcome.kind, error: (err as Error).name });
    outcome.decision = 'refused';
    const answer = oauthErrorAnswer(error);
    outcome.refusal = { code: answer.body.error, description: answer.body.error_description };
    return answer;
  }

  /**
   * Records the outcome durably, then answers (with the span's traceparent). When the record
   * cannot be made durable the answer is temporarily_unavailable and a created credential is
   * dropped again before anyone saw it; a span behind the first says so.
   */
  private async recorded(span: EvidenceSpan, outcome: ExchangeOutcome | RevocationOutcome, answer: HttpAnswer, startMs: number, undo?: () => Promise<unknown>): Promise<HttpAnswer> {
    outcome.durationMs = this.now() - startMs;
    try {
      await this.deps.evidence.record(span, outcome);
    } catch {
      let undone = 'nothing';
      if (undo) {
        undone = await undo().then(
          () => `dropped ${outcome.kind === 'exchange' ? outcome.username : ''}`,
          (err: unknown) => `could not drop ${outcome.kind === 'exchange' ? outcome.username : ''} now (${(err as Error).message}); it never left the exchange and the sweeper drops it at its expiry`,
        );
      } else if (outcome.decision === 'revoked') {
        undone = 'nothing: the credential was dropped';
      }
      this.deps.evidence.rolledBack(span, outcome, undone);
      const unrecorded = outcome.decision === 'revoked' ? "the credential was dropped, but the audit trail cannot record it now; try again later" : UNRECORDABLE;
      answer = this.refused(outcome, new OAuthError('temporarily_unavailable', unrecorded));
      outcome.durationMs = this.now() - startMs;
    }
    this.logOutcome(outcome, span);
    return { ...answer, headers: { ...answer.headers, traceparent: span.traceparent } };
  }

  private logOutcome(outcome: ExchangeOutcome | RevocationOutcome, span: EvidenceSpan): void {
    const fields = { event: outcomeEvent(outcome), kind: outcome.kind, ...outcomeFields(outcome), traceId: parseTraceparentHeader(span.traceparent)?.traceId };
    const message = `token exchange: ${outcome.kind} ${outcome.decision}`;
    if (outcome.decision === 'refused') this.deps.log.warn(message, fields);
    else this.deps.log.info(message, fields);
    this.deps.onOutcome?.(outcome);
  }
}

/** The log event of an outcome: a revocation of a credential already gone is still a revocation. */
function outcomeEvent(outcome: ExchangeOutcome | RevocationOutcome): SecurityEventName {
  if (outcome.decision === 'refused') return SecurityEvent.exchangeRefused;
  return outcome.kind === 'exchange' ? SecurityEvent.exchangeIssued : SecurityEvent.exchangeRevoked;
}
