// Verifies the token a sidecar presents to the broker: its pod's projected ServiceAccount token,
// minted for the broker's own audience, verified against the cluster's issuer keys. The result is
// the pod's identity from the token's `kubernetes.io` claim — never from the request. How a
// cluster's tokens are read is core's (core/tokens/service-account-tokens.ts), shared with the
// token exchange.
import { TokenVerifier, type TokenVerifierOptions } from '../../core/tokens/index.js';
import { clusterIssuerSpec, workloadOf, type ClusterIssuer, type VerifiedWorkload } from '../../core/tokens/service-account-tokens.js';
import type { VerifiedRequester } from '../api/parties.js';

export { IN_CLUSTER, workloadOf, type ClusterIssuer, type VerifiedWorkload } from '../../core/tokens/service-account-tokens.js';

export const DEFAULT_BROKER_AUDIENCE = 'sidegate-broker';

/** The requester a workload is: known by its subject and `namespace/serviceaccount`. */
export function workloadRequester(workload: VerifiedWorkload): VerifiedRequester {
  return {
    issuer: workload.issuer,
    subject: workload.subject,
    identities: [workload.subject, `${workload.namespace}/${workload.serviceAccount}`],
    ci: { system: 'kubernetes' },
  };
}

export class RequesterTokens {
  private readonly verifier: TokenVerifier;

  constructor(cluster: ClusterIssuer, opts: TokenVerifierOptions = {}) {
    this.verifier = new TokenVerifier([clusterIssuerSpec(cluster, DEFAULT_BROKER_AUDIENCE)], opts);
  }

  /** Throws IdentityError (message safe to show the caller, never the token) when not acceptable. */
  async verify(token: string): Promise<VerifiedWorkload> {
    return workloadOf(await this.verifier.verify(token));
  }
}
