// What the approval page needs from the broker, and nothing more: the store's three operations,
// who is signed in, and the login routes. The broker's server provides these when it mounts the
// page; tests provide a store of their own. Kept narrow so the page cannot reach anything else.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApprovalRecord, ApprovalStatus } from '../api/broker-api-schema.js';

import type { VerifiedApprover } from '../api/parties.js';

export type { VerifiedApprover };

/** One vote on a request as the page shows it; tolerant of how the store spells the approver. */
export interface ShownVote {
  approver: string | { name?: string; subject?: string; issuer?: string };
  verdict?: string;
  reason?: string;
  at?: string;
}

/** A record as the page reads it: the API record plus the fields a threshold store adds, if present. */
export type ShownApproval = Omit<ApprovalRecord, 'votes' | 'groups' | 'threshold' | 'requester'> & {
  /** CI claims of the requester (also accepted under `requester.ci`). */
  ci?: Record<string, string | undefined>;
  requester: Omit<ApprovalRecord['requester'], 'ci'> & { ci?: Record<string, string | undefined> };
  groups?: string[];
  threshold?: number;
  votes?: ShownVote[];
};

export interface ApprovalListFilter {
  /** 'pending': longest waiting first. 'decided': every final status, most recently decided first. */
  status: Extract<ApprovalStatus, 'pending'> | 'decided';
  limit: number;
}

/**
 * The store as the page uses it. Every method may reject with an error carrying an HTTP `status`
 * (400–599) whose message is safe to show an approver (e.g. 403 "the requester cannot approve its
 * own request"); any other error is shown as "internal error".
 */
export interface WebStore {
  /** What `viewer` may see: the requests they may decide (broker/server/visible-approvals.ts). */
  list(filter: ApprovalListFilter, viewer: VerifiedApprover): Promise<ShownApproval[]>;
  /** Rejects with 404, as for an unknown id, when `viewer` may not see it. */
  get(id: string, viewer: VerifiedApprover): Promise<ShownApproval>;
  decide(id: string, verdict: 'approved' | 'denied', approver: VerifiedApprover, reason: string): Promise<ShownApproval>;
}

/** A signed-in approver and the CSRF token bound to their session. */
export interface WebSession {
  approver: VerifiedApprover;
  csrfToken: string;
}

/** The login routes (oidc-login.ts): `/login`, `/auth/callback`, and `/logout` after its CSRF check. */
export interface WebLogin {
  start(req: IncomingMessage, res: ServerResponse): Promise<void>;
  callback(req: IncomingMessage, res: ServerResponse): Promise<void>;
  logout(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

export interface WebDeps {
  store: WebStore;
  /** The request's session; rejects (HttpError 503) when it cannot be checked. */
  authenticate(req: IncomingMessage): Promise<WebSession | undefined>;
  login: WebLogin;
  /** The page's external origin and base, e.g. https://approvals.example (forms must come from it). */
  publicUrl: string;
}
