// Verifies an approver's bearer token — an OIDC ID token from one of the configured issuers, issued
// to one of the broker's clients (the web page's, the CLI's) — and says who the approver is. The
// signature, issuer, audience and lifetime are checked by core/tokens, as the sidecar checks CI
// tokens; this adds what an approver is: a name and groups from the configured claims.
//
// An approver's name is what policies list; a token without a usable name is refused rather than
// falling back to something the policy author did not mean.
import type { IssuerSpec } from '../../core/vocabulary.js';
import { IdentityError, TokenVerifier, discoveryUrlOf, type TokenVerifierOptions, type VerifiedToken } from '../../core/tokens/index.js';
import type { VerifiedApprover } from '../api/parties.js';
import { claimAt } from '../../core/tokens/claim-path.js';
import { scopedApprover } from './approver-prefixes.js';

export interface ApproverIssuer {
  /** The issuer URL (`iss`); keys are found through its discovery document unless jwksUrl is set. */
  issuer: string;
  /** Client ids whose ID tokens are accepted (`aud`): the web page's and the CLI's. */
  clientIds: readonly string[];
  /** Claim holding the groups (a dotted path for nested claims). Default `groups`. */
  groupsClaim?: string;
  /** Claim naming the approver. Default: `preferred_username`, else `email`, else `sub`. */
  usernameClaim?: string;
  jwksUrl?: string;
  discoveryUrl?: string;
  /** PEM CA bundle for the provider's HTTPS (a private CA). */
  caFile?: string;
  clockSkewSeconds?: number;
  /** Put before the name and each group this issuer's tokens claim (approver-prefixes.ts). */
  usernamePrefix?: string;
  groupsPrefix?: string;
}

const DEFAULT_NAME_CLAIMS = ['preferred_username', 'email', 'sub'];
const MAX_NAME_CHARS = 256;
const MAX_GROUPS = 256;

function issuerSpec(config: ApproverIssuer): IssuerSpec {
  return {
    issuer: config.issuer,
    audiences: [...config.clientIds],
    ...(config.jwksUrl !== undefined ? { jwksUrl: config.jwksUrl } : { discoveryUrl: config.discoveryUrl ?? discoveryUrlOf(config.issuer) }),
    ...(config.caFile !== undefined ? { caFile: config.caFile } : {}),
    clockSkewSeconds: config.clockSkewSeconds ?? 30,
  };
}

function nameOf(token: VerifiedToken, claim: string | undefined): string {
  for (const candidate of claim !== undefined ? [claim] : DEFAULT_NAME_CLAIMS) {
    const value = claimAt(token.claims, candidate);
    if (typeof value === 'string' && value !== '' && value.length <= MAX_NAME_CHARS) return value;
  }
  throw new IdentityError('malformed', `token names no approver (no usable ${claim ?? DEFAULT_NAME_CLAIMS.join(' / ')} claim)`);
}

/** Groups as providers send them: an array of strings, or one string. Absent: none. */
function groupsOf(token: VerifiedToken, claim: string): string[] {
  const value = claimAt(token.claims, claim);
  if (value === undefined) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length > MAX_GROUPS || !list.every((g) => typeof g === 'string' && g.length <= MAX_NAME_CHARS)) {
    throw new IdentityError('malformed', `token ${claim} claim is not a list of group names`);
  }
  return [...new Set(list as string[])];
}

export class ApproverTokens {
  private readonly verifier: TokenVerifier;
  private readonly issuers: Map<string, ApproverIssuer>;

  constructor(issuers: readonly ApproverIssuer[], opts: TokenVerifierOptions = {}) {
    for (const config of issuers) {
      if (config.clientIds.length === 0) throw new TypeError(`approver issuer ${config.issuer} accepts no client id`);
    }
    this.verifier = new TokenVerifier(issuers.map(issuerSpec), opts);
    this.issuers = new Map(issuers.map((config) => [config.issuer, config]));
  }

  /** Throws IdentityError (message safe to show the caller, never the token) when not acceptable. */
  async verify(token: string): Promise<VerifiedApprover> {
    const verified = await this.verifier.verify(token);
    const config = this.issuers.get(verified.issuer) as ApproverIssuer;
    const claimed = {
      issuer: verified.issuer,
      subject: verified.subject,
      name: nameOf(verified, config.usernameClaim),
      groups: groupsOf(verified, config.groupsClaim ?? 'groups'),
    };
    return scopedApprover(claimed, config);
  }
}
