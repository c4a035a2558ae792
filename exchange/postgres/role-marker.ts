// The ledger of issued roles is the target itself: each role is created with a COMMENT ON ROLE
// holding this marker, in the same transaction, so a role exists with its marker or not at all.
// Any exchange replica, or the same one after a crash, finds every role it must drop by listing
// roles with the prefix and reading their markers. Pure.
import { z } from 'zod';

export const MARKER_KIND = 'sidegate-exchange/v1';

export interface RoleMarker {
  /** When the role's VALID UNTIL ends; the sweeper drops it after. */
  expiresAt: string;
  /** The template role it is a member of (objects it created are reassigned to it when dropped). */
  template: string;
  /** The grant that issued it. */
  grant: string;
  /** ownerHash of the identity it was issued to (identity/owner-hash.ts): who may revoke it. */
  owner: string;
  /** W3C traceparent of the exchange's audit span: what the revocation's or expiry's span links to. */
  issuedBy?: string;
}

const markerSchema = z.strictObject({
  kind: z.literal(MARKER_KIND),
  expiresAt: z.iso.datetime(),
  template: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/),
  grant: z.string().min(1).max(256),
  owner: z.string().regex(/^[0-9a-f]{64}$/),
  // Optional: roles issued before exchanges were audited carry none.
  issuedBy: z.string().regex(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/).optional(),
});

export function encodeRoleMarker(marker: RoleMarker): string {
  return JSON.stringify({ kind: MARKER_KIND, ...marker });
}

/** The marker a comment holds, or undefined when the role is not one of ours. */
export function parseRoleMarker(comment: string | null | undefined): RoleMarker | undefined {
  if (typeof comment !== 'string' || comment.length > 4096) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(comment);
  } catch {
    return undefined;
  }
  const parsed = markerSchema.safeParse(value);
  if (!parsed.success) return undefined;
  const { kind: _kind, ...marker } = parsed.data;
  return marker;
}
