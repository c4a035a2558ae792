// What one exchange or revocation came to: the record a log line is written from now and an
// audit span later (subject, CI claims, target, role, expiry, decision). Never holds a token or a
// password.
import type { OAuthErrorCode } from '../protocol/oauth-error.js';
import type { SubjectContext } from '../identity/subject-context.js';

export interface ExchangeRefusal {
  code: OAuthErrorCode;
  description: string;
}

export interface ExchangeOutcome {
  kind: 'exchange';
  decision: 'issued' | 'refused';
  startedAt: string;
  durationMs: number;
  /** Absent when the subject token did not verify (or was never read). */
  subject?: SubjectContext;
  /** The sidecar acting for a CI subject (RFC 8693 §4.1 `act`), once its token verified. */
  actor?: SubjectContext;
  target?: string;
  grant?: string;
  role?: string;
  /** The created login's name (not a secret; the password is). */
  username?: string;
  expiresAt?: string;
  refusal?: ExchangeRefusal;
}

export interface RevocationOutcome {
  kind: 'revocation';
  /** `unknown`: not a credential of ours, or already gone (RFC 7009 answers 200 either way). */
  decision: 'revoked' | 'unknown' | 'refused';
  startedAt: string;
  durationMs: number;
  subject?: SubjectContext;
  target?: string;
  username?: string;
  /** The traceparent of the exchange that issued the credential, when it was found. */
  issuedBy?: string;
  refusal?: ExchangeRefusal;
}

function actorFields(actor: SubjectContext): Record<string, string> {
  return { 'actor.issuer': actor.issuer, 'actor.subject': actor.subject, ...Object.fromEntries(Object.entries(actor.claims).map(([k, v]) => [`actor.claim.${k}`, v])) };
}

/** The flat fields of a log line (and, later, span attributes). Pure. */
export function outcomeFields(outcome: ExchangeOutcome | RevocationOutcome): Record<string, string | number | undefined> {
  const claims = Object.fromEntries(Object.entries(outcome.subject?.claims ?? {}).map(([k, v]) => [`claim.${k}`, v]));
  return {
    decision: outcome.decision,
    issuer: outcome.subject?.issuer,
    subject: outcome.subject?.subject,
    ...claims,
    ...(outcome.kind === 'exchange' && outcome.actor ? actorFields(outcome.actor) : {}),
    target: outcome.target,
    ...(outcome.kind === 'exchange' ? { grant: outcome.grant, role: outcome.role, expiresAt: outcome.expiresAt } : {}),
    username: outcome.username,
    error: outcome.refusal?.code,
    reason: outcome.refusal?.description,
    durationMs: outcome.durationMs,
  };
}
