// Turns whatever jose threw into an IdentityError with a message a client may read. Pure: the
// context (issuer, audiences, header) comes from configuration and the already-decoded token.
import * as errors from 'jose/errors';
import { IdentityError, formatNumericDate, quoteUntrusted } from './identity-error.js';

export interface FailureContext {
  issuer: string;
  audiences: readonly string[];
  kid: unknown;
  alg: unknown;
}

function claimFailure(err: errors.JWTClaimValidationFailed | errors.JWTExpired, ctx: FailureContext): IdentityError {
  const payload = err.payload as Record<string, unknown>;
  const value = payload[err.claim];
  if (err.reason === 'missing') {
    const code = err.claim === 'aud' ? 'wrong-audience' : 'malformed';
    return new IdentityError(code, `token has no ${err.claim} claim`);
  }
  switch (err.claim) {
    case 'exp':
      return typeof value === 'number'
        ? new IdentityError('expired', `token expired at ${formatNumericDate(value)}`)
        : new IdentityError('malformed', 'token exp claim is not a number');
    case 'nbf':
      return typeof value === 'number'
        ? new IdentityError('not-yet-valid', `token is not valid before ${formatNumericDate(value)}`)
        : new IdentityError('malformed', 'token nbf claim is not a number');
    case 'aud':
      return new IdentityError(
        'wrong-audience',
        `token audience ${quoteUntrusted(value)} is not accepted by issuer ${ctx.issuer} (expected one of: ${ctx.audiences.join(', ')})`,
      );
    case 'iss':
      return new IdentityError('unknown-issuer', `issuer ${quoteUntrusted(value)} is not trusted`);
    default:
      return new IdentityError('malformed', `token ${err.claim} claim is invalid`);
  }
}

export function describeVerificationFailure(err: unknown, ctx: FailureContext): IdentityError {
  if (err instanceof IdentityError) return err;
  if (err instanceof errors.JWTExpired || err instanceof errors.JWTClaimValidationFailed) return claimFailure(err, ctx);
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return new IdentityError('bad-signature', `token signature does not verify with the keys of issuer ${ctx.issuer}`);
  }
  if (err instanceof errors.JWKSNoMatchingKey) {
    const kid = ctx.kid === undefined ? 'no kid' : `kid ${quoteUntrusted(ctx.kid)}`;
    return new IdentityError('bad-signature', `no signing key of issuer ${ctx.issuer} matches the token (${kid}, alg ${quoteUntrusted(ctx.alg)})`);
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return new IdentityError('bad-signature', `token algorithm ${quoteUntrusted(ctx.alg)} is not accepted`);
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) {
    return new IdentityError('malformed', 'token is not a well-formed JWT');
  }
  // Anything else is unexpected; fail closed without echoing an internal message.
  return new IdentityError('malformed', 'token could not be verified');
}
