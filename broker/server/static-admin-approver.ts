// The approver behind the static admin token: until approvers log in with OIDC, whoever holds the
// admin token names itself (`sidegate approvals approve --as NAME`). Its issuer says so on every
// vote it casts, so a record never passes a self-declared name off as a verified identity.
import type { VerifiedApprover } from '../api/parties.js';

export const STATIC_ADMIN_ISSUER = 'urn:sidegate:static-admin';

export function staticAdminApprover(name: string): VerifiedApprover {
  return { issuer: STATIC_ADMIN_ISSUER, subject: name, name, groups: [] };
}
