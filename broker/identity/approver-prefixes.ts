// An approver's name and groups as policies see them: scoped to the issuer that vouched for them
// (Kubernetes' OIDC usernamePrefix / groupsPrefix model). Policies name approvers and groups as
// bare strings; with two issuers either could mint `alice` or `dba`, so each issuer's claims carry
// its own prefix (`corp:alice`, `corp:dba`) everywhere the broker shows or records them — votes,
// pages, the CLI, spans — and a policy naming `corp:dba` admits only corp's dba. The one place
// the bare claim still matters is refusing the requester's CI actor (decision-rules.ts).
import type { VerifiedApprover } from '../api/parties.js';

export interface ClaimPrefixes {
  /** Put before the username claim; absent or empty: none. */
  usernamePrefix?: string | undefined;
  /** Put before each group; absent or empty: none. */
  groupsPrefix?: string | undefined;
}

export function scopedApprover(approver: VerifiedApprover, prefixes: ClaimPrefixes): VerifiedApprover {
  const user = prefixes.usernamePrefix ?? '';
  const group = prefixes.groupsPrefix ?? '';
  return { ...approver, name: user + approver.name, groups: approver.groups.map((g) => group + g) };
}
