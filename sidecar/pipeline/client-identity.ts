// identify: turn what the client presented (or the pod's own token) into a verified Principal.
//
// Precedence, from the design: a CI OIDC token the client presents as its password (or bearer
// token) is verified and preferred; otherwise the sidecar's own token file (the projected
// ServiceAccount token in a pod) identifies the caller. A presented token that fails verification
// is an error — it never silently falls back to the pod identity, or a bad token would be masked.
import type { Principal } from '../../core/vocabulary.js';
import { PresentedToken } from '../../core/tokens/presented-token.js';

export interface VerifiedTokenLike {
  issuer: string;
  subject: string;
  claims: Record<string, unknown>;
}

export interface TokenVerifierLike {
  verify(token: string): Promise<VerifiedTokenLike>;
}

export interface TokenFileLike {
  read(): Promise<string>;
}

export interface IdentityMatcher {
  matchIdentities(claims: Record<string, unknown>): string[];
}

/** Raised for every identity failure; `message` is safe to show the client. */
export class IdentityRejected extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'IdentityRejected';
  }
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export class ClientIdentity {
  constructor(
    private readonly verifier: TokenVerifierLike,
    private readonly matcher: IdentityMatcher,
    private readonly tokenFile?: TokenFileLike,
  ) {}

  /**
   * Only an absent or empty password falls back to the pod's token. Anything presented is the
   * client's claim to an identity and is verified as such: a `Bearer …` string, a malformed or
   * expired token is rejected, never replaced by the pod's identity (which would hide the error
   * and run the job as someone else).
   */
  async resolve(presented: string | undefined): Promise<Principal> {
    let token: string;
    let fromClient = false;
    if (presented !== undefined && presented !== '') {
      // A trailing newline from a token file read into an environment variable is not a claim.
      const trimmed = presented.trim();
      if (!JWT_SHAPE.test(trimmed)) {
        const pod = this.tokenFile ? "; leave it empty to use the pod's identity" : '';
        throw new IdentityRejected(`sidegate: identity rejected: the password is not a token (expected a CI OIDC token, a JWT, as the password${pod})`, 'not-a-token');
      }
      token = trimmed;
      fromClient = true;
    } else if (this.tokenFile) {
      try {
        token = await this.tokenFile.read();
      } catch (err) {
        throw new IdentityRejected(`sidegate: the sidecar's identity token is unavailable: ${(err as Error).message}`, 'token-file');
      }
    } else {
      throw new IdentityRejected(
        'sidegate: no identity token: present a CI OIDC token (JWT) as the password',
        'missing',
      );
    }
    let verified: VerifiedTokenLike;
    try {
      verified = await this.verifier.verify(token);
    } catch (err) {
      const e = err as { message?: string; code?: string };
      throw new IdentityRejected(`sidegate: identity rejected: ${e.message ?? 'invalid token'}`, e.code ?? 'invalid');
    }
    const identities = this.matcher.matchIdentities(verified.claims);
    // A client's token goes with its principal: the token exchange issues the job's login for it.
    return { issuer: verified.issuer, subject: verified.subject, claims: verified.claims, identities, ...(fromClient ? { presented: new PresentedToken(token) } : {}) };
  }
}
