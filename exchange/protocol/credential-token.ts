// The issued token: a target credential the sidecar logs in with. `access_token` is the
// base64url of a JSON object, so it is one opaque printable word as RFC 6749 asks of a token
// while a sidecar reads it without another round trip:
//
//   { "v": 1, "target": "orders", "protocol": "postgres" | "mysql",
//     "username": "sidegate_x_…", "password": "…", "expiresAt": "2026-12-04T19:00:00.000Z" }
//
// It is a bearer secret (it holds the password): never logged, never written to disk. Pure.
import { z } from 'zod';

/** The protocols the exchange issues logins for (a policy target's `protocol`). */
export type CredentialProtocol = 'postgres' | 'mysql';

export interface TargetCredential {
  target: string;
  protocol: CredentialProtocol;
  username: string;
  password: string;
  /** When the target stops accepting it (ISO 8601). */
  expiresAt: string;
}

const credentialSchema = z.strictObject({
  v: z.literal(1),
  target: z.string().min(1).max(256),
  protocol: z.enum(['postgres', 'mysql']),
  // PostgreSQL's names are at most 63 bytes, MariaDB's 128 characters.
  username: z.string().min(1).max(128),
  password: z.string().min(1).max(256),
  expiresAt: z.iso.datetime(),
});

export function encodeCredentialToken(credential: TargetCredential): string {
  return Buffer.from(JSON.stringify({ v: 1, ...credential }), 'utf8').toString('base64url');
}

const MAX_CREDENTIAL_TOKEN_CHARS = 2048;

/** The credential a token holds, or undefined when it is not one of ours (RFC 7009: not an error). */
export function decodeCredentialToken(token: string): TargetCredential | undefined {
  if (token.length > MAX_CREDENTIAL_TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = credentialSchema.safeParse(value);
  if (!parsed.success) return undefined;
  const { v: _v, ...credential } = parsed.data;
  return credential;
}
