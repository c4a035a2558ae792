// Which exchanged login a session may share: one per verified identity. A login obtained for a CI
// job's token is the grant's answer to that token's claims, so it serves a later session only when
// every claim a grant could match on is the same; only the claims that differ between two tokens
// of one job (when minted, expiry, token id) are left out. Pure.
import { createHash } from 'node:crypto';
import type { Principal } from '../../core/vocabulary.js';

/** Claims that name the token, not who holds it. */
const PER_TOKEN_CLAIMS = new Set(['iat', 'nbf', 'exp', 'jti']);

/** JSON with object keys sorted at every depth: equal claims, equal text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The token a session's login is exchanged for on the job's behalf: the one its client presented,
 * unless that is a ServiceAccount token (a `system:serviceaccount:` subject with its `kubernetes.io`
 * claim: the pod's kind of identity, as a runner presents its own because libpq wants a password),
 * which the pod's exchange token stands for.
 */
export function jobTokenOf(principal: Pick<Principal, 'subject' | 'claims' | 'presented'>): string | undefined {
  if (principal.presented === undefined) return undefined;
  const serviceAccount = principal.subject.startsWith('system:serviceaccount:') && principal.claims['kubernetes.io'] !== undefined;
  return serviceAccount ? undefined : principal.presented.reveal();
}

/** A hash of the verified issuer, subject and identity claims: the cache key of the job's login. */
export function delegatedIdentityKey(principal: Pick<Principal, 'issuer' | 'subject' | 'claims'>): string {
  const claims = Object.fromEntries(Object.entries(principal.claims).filter(([k]) => !PER_TOKEN_CLAIMS.has(k)));
  return createHash('sha256').update(canonical([principal.issuer, principal.subject, claims])).digest('hex');
}
