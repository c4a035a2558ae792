// RFC 8693 §2.2.1's successful answer for an issued credential. Pure.
import { encodeCredentialToken, type TargetCredential } from './credential-token.js';
import { CREDENTIAL_TOKEN_TYPE } from './token-types.js';

export interface TokenExchangeResponse {
  access_token: string;
  issued_token_type: typeof CREDENTIAL_TOKEN_TYPE;
  /** Not an OAuth access token a resource server takes with a scheme: RFC 8693 says N_A. */
  token_type: 'N_A';
  expires_in: number;
  /** The role granted. */
  scope: string;
}

export function tokenExchangeResponse(credential: TargetCredential, role: string, nowMs: number): TokenExchangeResponse {
  return {
    access_token: encodeCredentialToken(credential),
    issued_token_type: CREDENTIAL_TOKEN_TYPE,
    token_type: 'N_A',
    expires_in: Math.max(0, Math.floor((Date.parse(credential.expiresAt) - nowMs) / 1000)),
    scope: role,
  };
}
