// The page's cookie keys, derived from the operator's session secrets. Every replica given the same
// secrets derives the same keys, so a cookie sealed by one is opened by any other (no sticky
// sessions needed). Each use has its own key (HKDF info = purpose): a login-state cookie cannot
// pass for a session, nor a session key forge a CSRF token. Several secrets allow rotation: the
// first seals, every one opens.
import { hkdfSync } from 'node:crypto';

export const MIN_SECRET_BYTES = 32;
const KEY_BYTES = 32;
const SALT = 'sidegate web cookies v1';

/** The secrets, checked: at least one, each at least 32 bytes. The first is the one that seals. */
export function checkedSecrets(secrets: readonly Buffer[]): Buffer[] {
  if (secrets.length === 0) throw new Error('at least one session secret is required');
  for (const secret of secrets) {
    if (secret.length < MIN_SECRET_BYTES) throw new Error(`a session secret must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  return [...secrets];
}

/** A 256-bit key for one purpose, from one secret. */
export function purposeKey(secret: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, SALT, purpose, KEY_BYTES));
}
