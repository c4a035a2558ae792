// The parties to an approval, as the broker knows them once their tokens are verified: the
// requester (a sidecar's workload identity with its CI claims), the approvers who decide, and the
// requirement a policy rule sets on who and how many must agree. Shared by the store, the server,
// the identity verifiers, the web page and the CLI; the zod schemas bound what crosses the wire.
import { z } from 'zod';
import type { CiContext } from '../../core/tokens/ci-context.js';

const claim = z.string().max(1024);

/** CI claims of the requester's token (GitHub / GitLab OIDC, Kubernetes); every field optional. */
export const CiContextSchema = z.object({
  /** 'github' | 'gitlab' | 'kubernetes' | another system's name. */
  system: z.string().max(64).optional(),
  repository: claim.optional(),
  ref: claim.optional(),
  workflow: claim.optional(),
  pipeline: claim.optional(),
  job: claim.optional(),
  runId: claim.optional(),
  runUrl: claim.optional(),
  commit: claim.optional(),
  /** The human who triggered the run (GitHub `actor`, GitLab `user_login`): never an approver of it. */
  actor: claim.optional(),
  environment: claim.optional(),
});

/** Defined in core/ (the token exchange records the same fields); the schema above bounds it on the wire. */
export type { CiContext } from '../../core/tokens/ci-context.js';

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
  ci: CiContext;
}

/** Most approvers or groups a requirement names. */
export const MAX_REQUIREMENT_NAMES = 64;
/** Largest threshold: more distinct approvers than this is a misconfiguration, not a policy. */
export const MAX_THRESHOLD = 16;

/** Who may decide a request and how many distinct approvals it needs (from the policy rule). */
export const ApprovalRequirementSchema = z.object({
  /** Approvers allowed by name. */
  approvers: z.array(z.string().min(1).max(256)).max(MAX_REQUIREMENT_NAMES).default([]),
  /** Approvers allowed by group membership. */
  groups: z.array(z.string().min(1).max(256)).max(MAX_REQUIREMENT_NAMES).default([]),
  /** Distinct approvals needed (≥ 1). */
  threshold: z.number().int().min(1).max(MAX_THRESHOLD).default(1),
});

export interface ApprovalRequirement {
  approvers: string[];
  groups: string[];
  threshold: number;
}

