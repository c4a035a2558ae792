// Who the broker's parties are once their tokens are verified. The same shapes as
// broker/api/parties.ts (owned by the store's change, not yet on main when this was written):
// the two are to be merged into one, with these imports pointing there.

/** An approver whose OIDC token was verified. `name` is preferred_username, email or sub. */
export interface VerifiedApprover {
  issuer: string;
  subject: string;
  name: string;
  groups: string[];
}

/** The caller that asked for approval, from its verified token, never self-declared. */
export interface VerifiedRequester {
  issuer: string;
  subject: string;
  /** Names the requester is also known by (e.g. a ServiceAccount's namespace/name): never approvers. */
  identities: string[];
  ci: { system?: string } & Record<string, string | undefined>;
}
