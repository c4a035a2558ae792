// The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802/7677, as pg's
// scram_build_secret writes it). Sending the verifier in CREATE ROLE instead of the password means
// the password never reaches the server: not its statement log, not pg_stat_statements, not a
// replica's WAL. Pure apart from the salt.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/** PostgreSQL's default (scram_iterations); what a client's login then costs. */
export const SCRAM_ITERATIONS = 4096;

/**
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, base64. The password must be ASCII
 * without control characters, for which SASLprep is the identity (ours are base64url).
 */
export function scramSha256Verifier(password: string, salt: Buffer = randomBytes(16), iterations = SCRAM_ITERATIONS): string {
  if (!/^[\x21-\x7e]+$/.test(password)) throw new TypeError('the password must be printable ASCII (SASLprep is not implemented)');
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
