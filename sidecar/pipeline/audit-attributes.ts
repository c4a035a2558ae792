// Span attributes every protocol shares: who, where, what was decided. Protocol adapters add their
// own semantic-convention attributes (db.*, http.*) next to these.
import type { Decision, Principal, TargetSpec } from '../../core/vocabulary.js';
import type { GateOutcome } from './command-gate.js';
import type { AttributeValue } from '../../core/audit/index.js';
import { ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from '@opentelemetry/semantic-conventions';
import { tokenCiAttributes } from '../../core/tokens/ci-attributes.js';

/** Attribute maps these builders fill in; the value types are the audit trail's own. */
export type Attributes = Record<string, AttributeValue>;

/** Who: the verified identity, its policy names, and the CI run its token names (core/tokens/). */
export function principalAttributes(principal: Principal): Attributes {
  return {
    'sidegate.identity.subject': principal.subject,
    'sidegate.identity.issuer': principal.issuer,
    'sidegate.identity.names': [...principal.identities],
    ...tokenCiAttributes(principal.issuer, principal.claims),
  };
}

export function targetAttributes(target: TargetSpec): Attributes {
  return {
    'sidegate.target': target.name,
    [ATTR_SERVER_ADDRESS]: target.host,
    [ATTR_SERVER_PORT]: target.port,
  };
}

export function decisionAttributes(decision: Decision, outcome?: GateOutcome): Attributes {
  const attrs: Attributes = {
    'sidegate.decision': outcome ? (outcome.verdict === 'allow' ? (decision.action === 'approve' ? 'approved' : 'allow') : 'deny') : decision.action,
    // The gate's outcome may name another rule than the policy's decision (audit-unavailable after a hold).
    'sidegate.rule': (outcome?.decision ?? decision).rule,
    'sidegate.policy.action': decision.action,
  };
  const approval = outcome?.approval;
  if (approval) {
    attrs['sidegate.approval.id'] = approval.id;
    attrs['sidegate.approval.status'] = approval.status;
    if (approval.approver) attrs['sidegate.approval.approver'] = approval.approver;
  }
  return attrs;
}
