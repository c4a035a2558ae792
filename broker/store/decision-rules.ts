// Who may vote on a request and what a vote does to it: a pure function, so every replica and
// every front end (CLI, web page) applies the same rules, and the store applies them inside the
// transaction that records the vote. Names from tokens are compared case-insensitively where a
// match refuses (requester, CI actor): a near-miss in case must not let a requester approve.
import type { ApprovalRequirement, VerifiedApprover } from '../api/parties.js';

export type Verdict = 'approved' | 'denied';

/** A vote already cast on the request. */
export interface CastVote {
  verdict: Verdict;
  approver: { issuer: string; subject: string };
}

/** The request as the rules see it. */
export interface VotedRequest {
  rule: string;
  requirement: ApprovalRequirement;
  requester: { issuer: string; subject: string; identities: readonly string[]; ci?: { actor?: string } };
  votes: readonly CastVote[];
}

export type VoteOutcome =
  /** The vote counts; `final` is set when it decides the request. */
  | { accepted: true; final?: Verdict }
  | { accepted: false; status: 403 | 409; message: string };

/**
 * Who may decide any request: an identity (issuer and subject, which no approver can choose), or a
 * name — the configured username claim, trusted only where approvers come from one issuer (the
 * broker's configuration refuses names with several: each could issue the same name).
 */
export type SuperApprover = string | { issuer: string; subject: string };

export interface SuperApprovers {
  includes(approver: VerifiedApprover): boolean;
}

export function superApprovers(list: readonly SuperApprover[] = []): SuperApprovers {
  const names = new Set(list.filter((s): s is string => typeof s === 'string'));
  const identities = list.filter((s): s is { issuer: string; subject: string } => typeof s !== 'string');
  return { includes: (approver) => names.has(approver.name) || identities.some((id) => sameParty(id, approver)) };
}

/**
 * Per issuer, the prefix put before its approvers' names (broker.yaml `usernamePrefix`,
 * approver-prefixes.ts). Votes and policies see prefixed names; the refusal of the requester's
 * own names compares the bare claim as well, so a prefix never turns the CI actor into a stranger.
 */
export type UsernamePrefixes = Readonly<Record<string, string>>;

export function judgeVote(request: VotedRequest, approver: VerifiedApprover, verdict: Verdict, superApprovers: SuperApprovers, usernamePrefixes: UsernamePrefixes = {}): VoteOutcome {
  const own = ownRequestReason(request, approver, usernamePrefixes);
  if (own) return { accepted: false, status: 403, message: `"${approver.name}" cannot decide this request: ${own}` };
  if (!mayDecide(request.requirement, approver, superApprovers)) {
    return { accepted: false, status: 403, message: `"${approver.name}" is not an approver for rule "${request.rule}" (${describeRequirement(request.requirement)})` };
  }
  if (request.votes.some((v) => sameParty(v.approver, approver))) {
    return { accepted: false, status: 409, message: `"${approver.name}" has already voted on this request` };
  }
  if (verdict === 'denied') return { accepted: true, final: 'denied' };
  const approvals = request.votes.filter((v) => v.verdict === 'approved').length + 1;
  return approvals >= request.requirement.threshold ? { accepted: true, final: 'approved' } : { accepted: true };
}

/** Listed by name, in a listed group, or a super-approver; nobody listed → any approver. */
export function mayDecide(requirement: ApprovalRequirement, approver: VerifiedApprover, superApprovers: SuperApprovers): boolean {
  if (superApprovers.includes(approver)) return true;
  if (requirement.approvers.length === 0 && requirement.groups.length === 0) return true;
  return requirement.approvers.includes(approver.name) || approver.groups.some((g) => requirement.groups.includes(g));
}

/**
 * Who may read a request — its statement, parameters, rule and votes: those who may decide it by
 * the rule (named, in a named group, a super-approver, or any approver when it names nobody).
 * Statements and their parameters can be sensitive, and signing in at the provider is not a reason
 * to read them. The requester's CI actor is not let in for being the actor: that match is a name
 * compared across two identity systems (GitHub's `actor`, the provider's username), good enough to
 * refuse a vote, never to grant a read; the held client already tells the actor what waits. An
 * actor the rule names sees the request (as any eligible approver does) and still cannot decide it.
 */
export function maySee(requirement: ApprovalRequirement, viewer: VerifiedApprover, superApprovers: SuperApprovers): boolean {
  return mayDecide(requirement, viewer, superApprovers);
}

/** Why `approver` is the requester in another guise, or undefined. */
function ownRequestReason(request: VotedRequest, approver: VerifiedApprover, usernamePrefixes: UsernamePrefixes): string | undefined {
  if (sameParty(request.requester, approver)) return 'it is the requester';
  const names = claimedNames(approver, usernamePrefixes);
  const actor = request.requester.ci?.actor?.toLowerCase();
  if (actor !== undefined && names.includes(actor)) return 'it is the CI actor who started the run';
  if (request.requester.identities.some((i) => names.includes(i.toLowerCase()))) return "it is one of the requester's identities";
  return undefined;
}

/** The approver's name as voted (prefixed) and as its issuer claimed it (bare), lower-cased. */
function claimedNames(approver: VerifiedApprover, usernamePrefixes: UsernamePrefixes): string[] {
  const prefix = Object.hasOwn(usernamePrefixes, approver.issuer) ? usernamePrefixes[approver.issuer]! : '';
  const bare = prefix !== '' && approver.name.startsWith(prefix) ? approver.name.slice(prefix.length) : approver.name;
  return [approver.name.toLowerCase(), bare.toLowerCase()];
}

function sameParty(a: { issuer: string; subject: string }, b: { issuer: string; subject: string }): boolean {
  return a.issuer === b.issuer && a.subject === b.subject;
}

function describeRequirement(r: ApprovalRequirement): string {
  const parts = [];
  if (r.approvers.length) parts.push(`approvers: ${r.approvers.join(', ')}`);
  if (r.groups.length) parts.push(`groups: ${r.groups.join(', ')}`);
  return parts.join('; ');
}
