// From a verified ID token's claims to the approver the broker records. The name shown and
// matched against policy is the configured username claim — the same one the CLI's tokens are
// named by (approver-tokens.ts), so a page sign-in cannot pick a name from a claim the operator
// did not choose (a user-editable preferred_username, say) — or, with none configured,
// preferred_username, else email, else sub; groups come from a
// configurable claim (a dotted path reaches nested ones, e.g. Keycloak's `realm_access.roles`).
// Bounded, strings only: claims come from a provider an operator configured, but end up on pages
// and in every vote.
import { claimAt } from '../../core/tokens/claim-path.js';
import type { VerifiedApprover } from './web-deps.js';

const MAX_NAME_CHARS = 256;
const MAX_GROUPS = 256;

export function approverFromClaims(claims: Record<string, unknown>, groupsClaim: string, usernameClaim?: string): VerifiedApprover | undefined {
  const issuer = claims.iss;
  const subject = claims.sub;
  if (!isName(issuer, 2048) || !isName(subject, MAX_NAME_CHARS)) return undefined;
  const candidates = usernameClaim !== undefined ? [claimAt(claims, usernameClaim)] : [claims.preferred_username, claims.email, subject];
  const name = candidates.find((c): c is string => isName(c, MAX_NAME_CHARS));
  if (name === undefined) return undefined;
  return { issuer, subject, name, groups: groupsAt(claims, groupsClaim) };
}

function groupsAt(claims: Record<string, unknown>, path: string): string[] {
  const value = claimAt(claims, path);
  const list = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
  const groups = list.filter((g): g is string => isName(g, MAX_NAME_CHARS));
  return [...new Set(groups)].slice(0, MAX_GROUPS);
}

function isName(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.trim() !== '' && value.length <= max;
}
