// Who owns an issued credential, as its ledger keeps it: a hash of the identity's issuer, subject
// and the one run or pod it speaks for, so only that run or pod may revoke it, without naming it
// in the target's catalog (role comments are readable by every user of a PostgreSQL cluster).
//
// The subject alone is not enough: every pod of a ServiceAccount has the same `sub`, and so has
// every GitHub run of one repository and ref (or environment, or pull_request). With the subject
// alone any of them could revoke the others' logins (their names are in pg_roles for every
// database user to read). The instance is what stays the same across a pod's rotated tokens and
// a job's re-requested tokens: the pod's uid, GitLab's job_id, GitHub's run_id and run_attempt.
// Pure.
import { createHash } from 'node:crypto';
import { claimAt } from '../../core/tokens/claim-path.js';
import type { SubjectIdentity } from '../grants/grant-decision.js';

export function ownerHash(issuer: string, subject: string, instance?: string): string {
  const hash = createHash('sha256').update(issuer).update('\n').update(subject);
  // A JSON tail after a second separator: no issuer/subject pair without an instance hashes alike.
  if (instance !== undefined) hash.update('\n').update(JSON.stringify(['instance', instance]));
  return hash.digest('hex');
}

function scalar(claims: Readonly<Record<string, unknown>>, path: string): string | undefined {
  const value = claimAt(claims as Record<string, unknown>, path);
  return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value)) ? String(value) : undefined;
}

/** The pod or CI run a verified identity speaks for, when its token says (the issuer vouches for every claim it signs). */
export function ownerInstance(claims: Readonly<Record<string, unknown>>): string | undefined {
  const pod = scalar(claims, 'kubernetes.io.pod.uid');
  if (pod !== undefined) return `pod:${pod}`;
  const job = scalar(claims, 'job_id');
  if (job !== undefined) return `job:${job}`;
  const run = scalar(claims, 'run_id');
  if (run !== undefined) return `run:${run}:${scalar(claims, 'run_attempt') ?? ''}`;
  return undefined;
}

/** The owner of what `identity` obtains, and who may revoke it. */
export function ownerOf(identity: SubjectIdentity): string {
  return ownerHash(identity.issuer, identity.subject, ownerInstance(identity.claims));
}
