// The client side of the wire contract: the form bodies a sidecar sends to obtain a credential
// (RFC 8693 §2.1) and to revoke it (RFC 7009 §2.1), as the server's parsers read them. Pure.
import { CREDENTIAL_TOKEN_TYPE, JWT_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from './token-types.js';

export const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

/**
 * A subject token (a JWT) for a credential on the named target; `scope` asks for one template
 * role. `actorToken`: the pod's own token when the subject is a CI job's token the sidecar acts for
 * (RFC 8693 §1.1 delegation).
 */
export function tokenExchangeForm(subjectToken: string, target: string, scope?: string, actorToken?: string): string {
  const form = new URLSearchParams({
    grant_type: TOKEN_EXCHANGE_GRANT,
    subject_token: subjectToken,
    subject_token_type: JWT_TOKEN_TYPE,
    audience: target,
    requested_token_type: CREDENTIAL_TOKEN_TYPE,
  });
  if (scope !== undefined) form.set('scope', scope);
  if (actorToken !== undefined) {
    form.set('actor_token', actorToken);
    form.set('actor_token_type', JWT_TOKEN_TYPE);
  }
  return form.toString();
}

/** Revocation of an issued credential token by its owner, who proves it with a current subject token. */
export function revocationForm(token: string, subjectToken: string): string {
  return new URLSearchParams({ token, token_type_hint: 'access_token', subject_token: subjectToken, subject_token_type: JWT_TOKEN_TYPE }).toString();
}
