// What the exchange's evidence of one outcome says: the span of an exchange, a revocation, or a
// credential the sweeper dropped, with the `sidegate.*` attributes the broker's and the sidecar's
// spans use for the same things (identity, CI run, target). Pure: the audit trail (core/audit/)
// hashes, spools and exports them. Built from the outcome records alone, which hold no token and
// no password; the created login's name is not a secret, its password is.
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { AttributeValue } from '../../core/audit/index.js';
import { ciAttributes, kubernetesAttributes } from '../../core/tokens/ci-attributes.js';
import type { SubjectContext } from '../identity/subject-context.js';
import type { DroppedCredential } from '../service/credential-issuer.js';
import type { ExchangeOutcome, RevocationOutcome } from '../service/exchange-outcome.js';

export type SpanAttributes = Record<string, AttributeValue>;

export const EXCHANGE_SPAN = 'token exchange';
export const REVOCATION_SPAN = 'token revocation';
export const EXPIRY_SPAN = 'credential expired';

function defined(attrs: Record<string, AttributeValue | undefined>): SpanAttributes {
  return Object.fromEntries(Object.entries(attrs).filter(([, v]) => v !== undefined)) as SpanAttributes;
}

/** Who asked: the verified subject and its CI run; nothing when the token did not verify. */
export function subjectAttributes(subject: SubjectContext | undefined): SpanAttributes {
  if (!subject) return {};
  return {
    'sidegate.identity.issuer': subject.issuer,
    'sidegate.identity.subject': subject.subject,
    ...kubernetesAttributes(subject.claims),
    ...ciAttributes(subject.ci),
  };
}

/**
 * The sidecar that acted for a CI subject (RFC 8693 §4.1 `act`): its pod under
 * `sidegate.exchange.actor.*`, and under the pod names the sidecar's spans use
 * (`sidegate.ci.k8s.*`) when the subject, a CI token, names no pod itself.
 */
export function actorAttributes(actor: SubjectContext | undefined, subject: SubjectContext | undefined): SpanAttributes {
  if (!actor) return {};
  const pod = kubernetesAttributes(actor.claims);
  const named = Object.fromEntries(Object.entries(pod).map(([k, v]) => [k.replace('sidegate.ci.k8s.', 'sidegate.exchange.actor.'), v]));
  const subjectPod = subject ? kubernetesAttributes(subject.claims) : {};
  return { 'sidegate.exchange.actor.issuer': actor.issuer, 'sidegate.exchange.actor.subject': actor.subject, ...named, ...(Object.keys(subjectPod).length === 0 ? pod : {}) };
}

/** One exchange: who, which target, the grant and the template role, the login created and its expiry, or the refusal. */
export function exchangeAttributes(o: ExchangeOutcome): SpanAttributes {
  return defined({
    'sidegate.exchange.decision': o.decision,
    ...subjectAttributes(o.subject),
    ...actorAttributes(o.actor, o.subject),
    'sidegate.target': o.target,
    'sidegate.exchange.grant': o.grant,
    'sidegate.exchange.role': o.role,
    'sidegate.exchange.login': o.username,
    'sidegate.exchange.expires_at': o.expiresAt,
    'sidegate.exchange.error': o.refusal?.code,
    // The semantic conventions' name for why an operation failed: the same OAuth error code.
    [ATTR_ERROR_TYPE]: o.refusal?.code,
    'sidegate.exchange.reason': o.refusal?.description,
  });
}

/** One revocation: who asked, which login, what came of it. */
export function revocationAttributes(o: RevocationOutcome): SpanAttributes {
  return defined({
    'sidegate.exchange.decision': o.decision,
    ...subjectAttributes(o.subject),
    'sidegate.target': o.target,
    'sidegate.exchange.login': o.username,
    'sidegate.exchange.issued_span': o.issuedBy,
    'sidegate.exchange.error': o.refusal?.code,
    // The semantic conventions' name for why an operation failed: the same OAuth error code.
    [ATTR_ERROR_TYPE]: o.refusal?.code,
    'sidegate.exchange.reason': o.refusal?.description,
  });
}

/** A credential the sweeper dropped because its expiry passed. */
export function expiryAttributes(target: string, dropped: DroppedCredential): SpanAttributes {
  return defined({ 'sidegate.exchange.decision': 'expired', 'sidegate.target': target, 'sidegate.exchange.login': dropped.username, 'sidegate.exchange.issued_span': dropped.issuedBy });
}

export { spanContextOf, traceparentOf } from '../../core/audit/index.js';
