// Who is calling the broker, from the Authorization header alone: a requester (a sidecar) or an
// approver. Static tokens (local mode, the embedded broker) name a role only — an approver with
// the static admin token says who it acts as in each request. Tokens verified against an issuer
// name the caller themselves: a sidecar's projected ServiceAccount token its pod, an approver's
// OIDC ID token the approver and their groups. Nothing a caller writes in a body can change that.
import { IdentityError } from '../../core/tokens/index.js';
import type { VerifiedApprover } from '../api/parties.js';
import type { ApproverTokens } from '../identity/approver-tokens.js';
import type { RequesterTokens, VerifiedWorkload } from '../identity/requester-tokens.js';
import { roleOf, type BrokerTokens } from './bearer-auth.js';

export type BrokerCaller =
  /** `workload`: the pod whose ServiceAccount token it presented; absent for the static token. */
  | { role: 'requester'; workload?: VerifiedWorkload }
  /** `approver`: verified from an OIDC token; absent for the static admin token (named per request). */
  | { role: 'approver'; approver?: VerifiedApprover };

export interface BrokerCallerSources {
  /** Static bearer tokens (local mode). */
  tokens?: BrokerTokens;
  /** Sidecars' ServiceAccount tokens, verified against the cluster's issuer. */
  requesters?: RequesterTokens;
  /** Approvers' OIDC ID tokens, verified against the configured providers. */
  approvers?: ApproverTokens;
}

/** Why a bearer token was not accepted, safe to answer with (never the token). */
export class CallerRefused extends Error {}

/**
 * The caller a request's Authorization header proves, or undefined when it carries no bearer token.
 * A JWT is tried as a sidecar's token first, then as an approver's; both failing is CallerRefused.
 */
export async function callerOf(authorization: string | undefined, sources: BrokerCallerSources): Promise<BrokerCaller | undefined> {
  const match = /^Bearer ([^\s]+)\s*$/i.exec(authorization ?? '');
  if (!match) return undefined;
  if (sources.tokens) {
    const role = roleOf(authorization, sources.tokens);
    if (role === 'requester') return { role: 'requester' };
    if (role === 'admin') return { role: 'approver' };
  }
  const token = match[1]!;
  const reasons: string[] = [];
  if (sources.requesters) {
    try {
      return { role: 'requester', workload: await sources.requesters.verify(token) };
    } catch (err) {
      if (!(err instanceof IdentityError)) throw err;
      reasons.push(`not a sidecar's token: ${err.message}`);
    }
  }
  if (sources.approvers) {
    try {
      return { role: 'approver', approver: await sources.approvers.verify(token) };
    } catch (err) {
      if (!(err instanceof IdentityError)) throw err;
      reasons.push(`not an approver's token: ${err.message}`);
    }
  }
  throw new CallerRefused(reasons.length > 0 ? `bearer token refused (${reasons.join('; ')})` : 'missing or invalid bearer token');
}
