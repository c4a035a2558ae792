// Verifies a JWT against the issuers the policy trusts.
//
// The issuer is chosen from the token's *unverified* `iss` — only to pick which keys to try; the
// signature is then verified with that issuer's keys and jose checks `iss` again, so a forged `iss`
// can only ever select keys that will not verify it. Only asymmetric algorithms are accepted.
import { decodeJwt } from 'jose/jwt/decode';
import { decodeProtectedHeader } from 'jose/decode/protected_header';
import { jwtVerify } from 'jose/jwt/verify';
import * as errors from 'jose/errors';
import type { JWTPayload, JWTVerifyOptions, JWTVerifyResult } from 'jose';
import type { IssuerSpec } from '../vocabulary.js';
import { IdentityError, formatNumericDate, quoteUntrusted } from './identity-error.js';
import { issuerKeys, type KeyGetter, type RemoteJwksOptions } from './issuer-keys.js';
import { ACCEPTED_ALGORITHMS, isAcceptedAlgorithm } from './signing-algorithms.js';
import { MAX_TOKEN_BYTES } from './token-size.js';
import { describeVerificationFailure } from './verification-failure.js';

/** A token whose signature, issuer, audience and lifetime were checked. Carries no raw token. */
export interface VerifiedToken {
  issuer: string;
  subject: string;
  claims: Record<string, unknown>;
}

export interface TokenVerifierOptions {
  /** Current time in milliseconds since the epoch (default `Date.now`); tests shift it. */
  now?: () => number;
  /** Tuning of JWKS URL caching; see RemoteJwksOptions. */
  jwks?: RemoteJwksOptions;
}

interface TrustedIssuer {
  spec: IssuerSpec;
  keys: KeyGetter;
}

const DEFAULT_CLOCK_SKEW_SECONDS = 30;

function decodeUnverified(token: string): { header: Record<string, unknown>; payload: JWTPayload } {
  try {
    return { header: decodeProtectedHeader(token) as Record<string, unknown>, payload: decodeJwt(token) };
  } catch {
    throw new IdentityError('malformed', 'token is not a well-formed JWT');
  }
}

function rejectAlgorithm(alg: unknown): never {
  if (alg === 'none') throw new IdentityError('bad-signature', 'token is unsigned (alg none), which is never accepted');
  throw new IdentityError('bad-signature', `token algorithm ${quoteUntrusted(alg)} is not accepted (only asymmetric signatures are)`);
}

/**
 * Verify with a key getter; when the JWK set holds several keys that fit (no `kid` in the token or
 * in the keys), try each — jose leaves that iteration to the caller.
 */
async function verifyWithKeys(token: string, keys: KeyGetter, options: JWTVerifyOptions): Promise<JWTVerifyResult> {
  try {
    return await jwtVerify(token, keys, options);
  } catch (err) {
    if (!(err instanceof errors.JWKSMultipleMatchingKeys)) throw err;
    for await (const key of err) {
      try {
        return await jwtVerify(token, key, options);
      } catch (inner) {
        if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }
}

export class TokenVerifier {
  private readonly issuers = new Map<string, TrustedIssuer>();
  private readonly now: () => number;

  constructor(issuers: readonly IssuerSpec[], opts: TokenVerifierOptions = {}) {
    this.now = opts.now ?? Date.now;
    for (const spec of issuers) {
      if (this.issuers.has(spec.issuer)) throw new TypeError(`issuer ${spec.issuer} is configured twice`);
      if (spec.audiences.length === 0) throw new TypeError(`issuer ${spec.issuer} has no audiences`);
      this.issuers.set(spec.issuer, { spec, keys: issuerKeys(spec, opts.jwks) });
    }
  }

  /** Throws IdentityError (message safe for the client) when the token is not acceptable. */
  async verify(token: string): Promise<VerifiedToken> {
    if (typeof token !== 'string' || token === '') throw new IdentityError('malformed', 'token is empty');
    if (Buffer.byteLength(token, 'utf8') > MAX_TOKEN_BYTES) {
      throw new IdentityError('malformed', `token is larger than ${MAX_TOKEN_BYTES} bytes`);
    }
    const { header, payload } = decodeUnverified(token);
    if (!isAcceptedAlgorithm(header['alg'])) rejectAlgorithm(header['alg']);
    if (typeof payload.iss !== 'string' || payload.iss === '') throw new IdentityError('malformed', 'token has no iss claim');
    const trusted = this.issuers.get(payload.iss);
    if (!trusted) throw new IdentityError('unknown-issuer', `issuer ${quoteUntrusted(payload.iss)} is not trusted`);

    const { spec } = trusted;
    const skew = spec.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
    const nowMs = this.now();
    let verified: JWTVerifyResult;
    try {
      verified = await verifyWithKeys(token, trusted.keys, {
        issuer: spec.issuer,
        audience: [...spec.audiences],
        algorithms: [...ACCEPTED_ALGORITHMS],
        clockTolerance: skew,
        currentDate: new Date(nowMs),
        // A token without an expiry is valid forever once leaked; one without a subject names no one.
        requiredClaims: ['exp', 'sub'],
      });
    } catch (err) {
      throw describeVerificationFailure(err, { issuer: spec.issuer, audiences: spec.audiences, kid: header['kid'], alg: header['alg'] });
    }

    const claims = verified.payload as Record<string, unknown>;
    // jose checks iat only together with maxTokenAge; a token issued in the future is as suspect
    // as one not yet valid, so the same skew applies.
    if (typeof claims['iat'] === 'number' && claims['iat'] > nowMs / 1000 + skew) {
      throw new IdentityError('not-yet-valid', `token was issued in the future (iat ${formatNumericDate(claims['iat'])})`);
    }
    if (typeof claims['sub'] !== 'string' || claims['sub'] === '') throw new IdentityError('malformed', 'token sub claim is not a string');
    return { issuer: spec.issuer, subject: claims['sub'], claims };
  }
}
