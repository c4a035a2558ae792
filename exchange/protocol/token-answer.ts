// The client side of the wire contract: what an exchange's answer to POST /v1/token means, read
// from its status and JSON body. Either the credential it issued, or the OAuth error it gave (RFC
// 6749 §5.2), or a reply that is neither (a proxy's page, a server that is not ours). Pure.
import { z } from 'zod';
import { decodeCredentialToken, type TargetCredential } from './credential-token.js';
import { CREDENTIAL_TOKEN_TYPE } from './token-types.js';
import { descriptionText, type OAuthErrorCode } from './oauth-error.js';

export type TokenAnswer =
  | { kind: 'issued'; credential: TargetCredential; accessToken: string }
  | { kind: 'refused'; status: number; error: OAuthErrorCode | 'unknown_error'; description: string }
  | { kind: 'unreadable'; status: number };

const issuedSchema = z.object({ access_token: z.string().min(1), issued_token_type: z.literal(CREDENTIAL_TOKEN_TYPE) });
const errorSchema = z.object({ error: z.string().min(1).max(64), error_description: z.string().optional() });
const KNOWN_CODES: readonly string[] = [
  'invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type',
  'invalid_scope', 'invalid_target', 'unsupported_token_type', 'server_error', 'temporarily_unavailable',
];

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The answer for `target`. An issued token must hold a credential of ours for that very target:
 * anything else is unreadable, never a login attempt with whatever came back.
 */
export function readTokenAnswer(status: number, body: Buffer, target: string): TokenAnswer {
  const json = parseJson(body);
  if (status === 200) {
    const issued = issuedSchema.safeParse(json);
    const credential = issued.success ? decodeCredentialToken(issued.data.access_token) : undefined;
    if (!issued.success || !credential || credential.target !== target) return { kind: 'unreadable', status };
    return { kind: 'issued', credential, accessToken: issued.data.access_token };
  }
  const refused = errorSchema.safeParse(json);
  if (!refused.success) return { kind: 'unreadable', status };
  const error = KNOWN_CODES.includes(refused.data.error) ? (refused.data.error as OAuthErrorCode) : 'unknown_error';
  // Printable and bounded: it ends up in a client's error message and our log.
  return { kind: 'refused', status, error, description: descriptionText(refused.data.error_description ?? '') };
}
