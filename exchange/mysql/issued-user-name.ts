// The ledger of issued MariaDB users is their names. MariaDB 10.11 has no user COMMENT and no
// time-based account expiry, and CREATE USER is not transactional, so a separate record could
// disagree with the server after a crash. Instead each name carries what the sweeper and a
// revocation need, and the server's user list is the ledger: a user exists with its facts or
// not at all.
//
//   <prefix><expiry: unix seconds, 10 digits>_<owner: 24 hex>_<t<trace id><span id> | r<48 hex>>
//
// The owner part is the first 96 bits of ownerHash (identity/owner-hash.ts): who may revoke.
// The last part is the issuing exchange's span (what a revocation's or expiry's span links to),
// or random when the exchange named none; either way 192 random bits, so names do not repeat.
// At most 21 + 10 + 1 + 24 + 1 + 49 = 106 characters: MariaDB 10.4+ takes 128 (MySQL takes
// 32, so MySQL servers cannot hold these names). Pure.
import { randomBytes } from 'node:crypto';

/** MariaDB's limit on a user name (USERNAME_CHAR_LENGTH, 10.4 and later). */
export const MARIADB_MAX_USER_NAME = 128;
const OWNER_HEX = 24;

export interface IssuedUserName {
  /** When the sweeper drops it (whole seconds). */
  expiresAtMs: number;
  /** The first 24 hex digits of the owner's ownerHash. */
  ownerFragment: string;
  /** W3C traceparent of the issuing exchange's span, when it named one. */
  issuedBy?: string;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

export function ownerFragment(owner: string): string {
  return owner.slice(0, OWNER_HEX);
}

/** The name for a user expiring at `expiresAtMs` (rounded up to a second), or a throw when the name would not fit. */
export function issuedUserName(prefix: string, expiresAtMs: number, owner: string, issuedBy?: string): string {
  if (!/^[0-9a-f]{64}$/.test(owner)) throw new Error('owner must be an ownerHash');
  const seconds = String(Math.ceil(expiresAtMs / 1000));
  if (seconds.length !== 10) throw new Error('expiry out of range');
  const span = issuedBy !== undefined ? TRACEPARENT.exec(issuedBy) : null;
  const unique = span ? `t${span[1]}${span[2]}` : `r${randomBytes(24).toString('hex')}`;
  const name = `${prefix}${seconds}_${ownerFragment(owner)}_${unique}`;
  if (name.length > MARIADB_MAX_USER_NAME) throw new Error(`a user name longer than ${MARIADB_MAX_USER_NAME} characters`);
  return name;
}

/** What a name says, or undefined when it is not one of ours under `prefix`: such users are never touched. */
export function parseIssuedUserName(name: string, prefix: string): IssuedUserName | undefined {
  if (name.length > MARIADB_MAX_USER_NAME || !name.startsWith(prefix)) return undefined;
  const m = /^([0-9]{10})_([0-9a-f]{24})_(?:t([0-9a-f]{32})([0-9a-f]{16})|r[0-9a-f]{48})$/.exec(name.slice(prefix.length));
  if (!m) return undefined;
  return { expiresAtMs: Number(m[1]) * 1000, ownerFragment: m[2]!, ...(m[3] ? { issuedBy: `00-${m[3]}-${m[4]}-01` } : {}) };
}
