// RFC 7009 §2.1 revocation request, with the owner's proof in the body: the credential's owner
// presents a subject token of the identity the credential was issued to (the actor's when one
// acted). A pod's token is rotated by kubelet, so "the same" is the same issuer, subject and pod
// or run (exchange/identity/owner-hash.ts), not the same bytes. Pure.
import { MAX_TOKEN_BYTES } from '../../core/tokens/index.js';
import { OAuthError } from './oauth-error.js';
import { parseForm, required, single } from './form-parameters.js';
import { SUBJECT_TOKEN_TYPES } from './token-types.js';

export interface RevocationRequest {
  /** The issued credential token to revoke. */
  token: string;
  subjectToken: string;
}

export const MAX_REVOCATION_BODY_BYTES = 2 * MAX_TOKEN_BYTES + 8 * 1024;

export function parseRevocationRequest(contentType: string | undefined, body: Buffer): RevocationRequest {
  const form = parseForm(contentType, body, { maxChars: { subject_token: MAX_TOKEN_BYTES, token: MAX_TOKEN_BYTES }, defaultMaxChars: 512 });
  const token = required(form, 'token');
  // token_type_hint is only a hint (RFC 7009 §2.1): any value is accepted and none is needed.
  const subjectToken = single(form, 'subject_token');
  if (subjectToken === undefined) throw new OAuthError('invalid_client', 'present your subject_token: only the credential owner may revoke it');
  const subjectTokenType = single(form, 'subject_token_type');
  if (subjectTokenType !== undefined && !SUBJECT_TOKEN_TYPES.includes(subjectTokenType)) {
    throw new OAuthError('invalid_request', `subject_token_type must be one of ${SUBJECT_TOKEN_TYPES.join(', ')}`);
  }
  return { token, subjectToken };
}
