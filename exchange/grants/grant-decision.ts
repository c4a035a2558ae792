// Which grant, if any, lets a verified identity obtain a role on a target: the first grant in the
// configuration's order for the token's issuer and the target whose subject and claim matchers all
// match, and whose actor matcher, when it has one, matches the verified actor (the sidecar acting
// for a CI job, RFC 8693 §1.1). Pure; a refusal is the OAuthError the client gets.
//
// An unknown target and a target this identity has no grant for are the same answer, so a caller
// learns nothing about targets it may not use.
import { claimAt } from '../../core/tokens/claim-path.js';
import { quoteUntrusted } from '../../core/tokens/identity-error.js';
import type { GrantConfig } from '../config/exchange-config.js';
import { OAuthError } from '../protocol/oauth-error.js';
import { claimMatches } from './claim-matcher.js';

/** A verified subject token's identity: what grants match against. */
export interface SubjectIdentity {
  issuer: string;
  subject: string;
  claims: Readonly<Record<string, unknown>>;
}

export interface Granted {
  grant: string;
  target: string;
  role: string;
  ttlMs: number;
}

interface IdentityMatcher {
  issuer?: string;
  subject?: readonly string[];
  claims: Readonly<Record<string, readonly string[]>>;
}

function identityMatches(matcher: IdentityMatcher, identity: SubjectIdentity): boolean {
  if (matcher.issuer !== undefined && matcher.issuer !== identity.issuer) return false;
  if (matcher.subject !== undefined && !claimMatches(matcher.subject, identity.subject)) return false;
  return Object.entries(matcher.claims).every(([path, patterns]) => claimMatches(patterns, claimAt(identity.claims as Record<string, unknown>, path)));
}

/**
 * A grant with an actor matcher matches only with a verified actor it matches; a grant without
 * one does not look at the actor. An actor's issuer is a Kubernetes issuer (SubjectTokens checks).
 */
export function grantMatches(grant: GrantConfig, identity: SubjectIdentity, actor?: SubjectIdentity): boolean {
  if (grant.issuer !== identity.issuer || !identityMatches(grant, identity)) return false;
  if (grant.actor === undefined) return true;
  return actor !== undefined && identityMatches(grant.actor, actor);
}

/** Throws OAuthError invalid_target (no grant) or invalid_scope (a role no matching grant gives). */
export function decideGrant(grants: readonly GrantConfig[], identity: SubjectIdentity, target: string, scope: readonly string[], actor?: SubjectIdentity): Granted {
  const matching = grants.filter((g) => g.target === target && grantMatches(g, identity, actor));
  if (matching.length === 0) throw new OAuthError('invalid_target', `no grant lets this identity obtain a credential for target ${quoteUntrusted(target)}`);
  const wanted = scope[0];
  if (wanted === undefined) {
    const grant = matching[0]!;
    return { grant: grant.name, target, role: grant.roles[0]!, ttlMs: grant.ttl };
  }
  const grant = matching.find((g) => g.roles.includes(wanted));
  if (grant === undefined) throw new OAuthError('invalid_scope', `no grant gives this identity role ${quoteUntrusted(wanted)} on target ${quoteUntrusted(target)}`);
  return { grant: grant.name, target, role: wanted, ttlMs: grant.ttl };
}
