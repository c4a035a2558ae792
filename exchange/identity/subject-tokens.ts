// Verifies subject tokens against the configured issuers with the one verifier sidegate has
// (core/tokens: jose, asymmetric algorithms, issuer keys by discovery or JWKS with a CA), each
// issuer with the exchange's own audience. A Kubernetes issuer's tokens must also be pod-bound
// ServiceAccount tokens, read as the broker reads them. Only those stand alone as a subject: a CI
// job holds its own token, so a CI subject is exchanged only with an actor, the sidecar's pod token
// (RFC 8693 §1.1 delegation), which must be a Kubernetes issuer's pod-bound token.
import { IdentityError, TokenVerifier, type TokenVerifierOptions } from '../../core/tokens/index.js';
import { discoveryUrlOf } from '../../core/tokens/issuer-discovery.js';
import { clusterIssuerSpec, workloadOf } from '../../core/tokens/service-account-tokens.js';
import type { IssuerSpec } from '../../core/vocabulary.js';
import type { ExchangeIssuerConfig } from '../config/exchange-config.js';
import type { SubjectIdentity } from '../grants/grant-decision.js';

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/** The verifier's issuer spec for one configured issuer. Pure. */
export function subjectIssuerSpec(config: ExchangeIssuerConfig): IssuerSpec {
  if (config.kubernetes) {
    return clusterIssuerSpec(
      {
        issuer: config.issuer,
        audience: config.audience,
        clockSkewSeconds: config.clockSkewSeconds,
        ...optional('discoveryUrl', config.discoveryUrl),
        ...optional('jwksUrl', config.jwksUrl),
        ...optional('caFile', config.caFile),
        ...optional('bearerTokenFile', config.bearerTokenFile),
      },
      config.audience,
    );
  }
  return {
    issuer: config.issuer,
    audiences: [config.audience],
    ...(config.jwksUrl !== undefined ? { jwksUrl: config.jwksUrl } : { discoveryUrl: config.discoveryUrl ?? discoveryUrlOf(config.issuer) }),
    ...optional('caFile', config.caFile),
    ...optional('bearerTokenFile', config.bearerTokenFile),
    clockSkewSeconds: config.clockSkewSeconds,
  };
}

export class SubjectTokens {
  private readonly verifier: TokenVerifier;
  private readonly kubernetes: ReadonlySet<string>;

  constructor(issuers: readonly ExchangeIssuerConfig[], opts: TokenVerifierOptions = {}) {
    this.verifier = new TokenVerifier(issuers.map(subjectIssuerSpec), opts);
    this.kubernetes = new Set(issuers.filter((i) => i.kubernetes).map((i) => i.issuer));
  }

  /** Throws IdentityError (message safe to show the caller, never the token). */
  async verify(token: string): Promise<SubjectIdentity> {
    const verified = await this.verifier.verify(token);
    if (this.kubernetes.has(verified.issuer)) workloadOf(verified);
    return { issuer: verified.issuer, subject: verified.subject, claims: verified.claims };
  }

  /** An actor: a pod-bound token of a Kubernetes issuer, nothing else. Throws IdentityError. */
  async verifyActor(token: string): Promise<SubjectIdentity> {
    const verified = await this.verifier.verify(token);
    if (!this.kubernetes.has(verified.issuer)) throw new IdentityError('unknown-issuer', "an actor is a sidecar's pod token, of a kubernetes issuer");
    workloadOf(verified);
    return { issuer: verified.issuer, subject: verified.subject, claims: verified.claims };
  }

  /** A pod's token is held by its sidecar alone (admission checks); a CI job holds its own token. */
  standsAlone(issuer: string): boolean {
    return this.kubernetes.has(issuer);
  }
}
