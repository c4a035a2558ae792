// CSRF tokens for the approval page's forms: an HMAC of the session id (which only the sealed
// session cookie carries) under a key derived from the session secret. The token is bound to the
// session (a token from another session, or from before a new login, is refused), needs no
// storage, is the same on every replica, and is compared in constant time.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The token every form of `sessionId`'s pages carries. */
export function csrfTokenFor(key: Buffer, sessionId: string): string {
  return createHmac('sha256', key).update('csrf\0').update(sessionId).digest('base64url');
}

/** Whether a submitted token is the session's; a missing or malformed one is simply false. */
export function csrfTokenMatches(expected: string, submitted: string | undefined): boolean {
  if (submitted === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(submitted);
  // The length of a well-formed token is public; only its content must not leak through timing.
  return a.length === b.length && timingSafeEqual(a, b);
}
