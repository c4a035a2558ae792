// What the exchange asks of a target: create a credential for a template role that expires, drop
// one at its owner's request, and drop every expired one. One implementation per protocol
// (exchange/postgres/, exchange/mysql/).
import type { CredentialProtocol } from '../protocol/credential-token.js';

export interface IssueRequest {
  /** The template role the credential is a member of. */
  role: string;
  ttlMs: number;
  grant: string;
  /** ownerOf(identity) of the identity it is issued to (identity/owner-hash.ts): its run or pod. */
  owner: string;
  nowMs: number;
  /** W3C traceparent of the exchange's audit span, kept with the credential. */
  issuedBy?: string;
}

export interface IssuedCredential {
  username: string;
  /** Secret: goes into the answer and nowhere else. */
  password: string;
  expiresAt: string;
}

export interface RevokeResult {
  result: 'revoked' | 'unknown' | 'not-owner';
  /** The issuing exchange's span, when the credential was found and its record names one. */
  issuedBy?: string;
}

export interface DroppedCredential {
  username: string;
  issuedBy?: string;
}

export interface SweepResult {
  dropped: DroppedCredential[];
  failed: number;
}

/** A target said no or could not be reached; `message` is safe to log and to show (no secret, no SQL). */
export class CredentialIssueError extends Error {
  override readonly name = 'CredentialIssueError';

  constructor(
    message: string,
    /** The target could not be reached (retrying later may work), rather than refusing. */
    readonly unavailable: boolean,
  ) {
    super(message);
  }
}

export interface CredentialIssuer {
  readonly target: string;
  readonly protocol: CredentialProtocol;
  issue(request: IssueRequest): Promise<IssuedCredential>;
  /** Drops the credential named `username` when `owner` is its owner. */
  revoke(username: string, owner: string): Promise<RevokeResult>;
  /** Drops every credential whose expiry is at or before `nowMs`. */
  sweep(nowMs: number): Promise<SweepResult>;
  close(): Promise<void>;
}
