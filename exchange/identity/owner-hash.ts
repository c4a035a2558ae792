// Who owns an issued credential, as its ledger keeps it: a hash of the identity's issuer and
// subject, so only the same identity may revoke it, without naming it in the target's catalog
// (role comments are readable by every user of a PostgreSQL cluster). Pure.
import { createHash } from 'node:crypto';

export function ownerHash(issuer: string, subject: string): string {
  return createHash('sha256').update(issuer).update('\n').update(subject).digest('hex');
}
