// Verifies the token a sidecar presents to the broker: its pod's projected ServiceAccount token,
// minted for the broker's own audience, verified against the cluster's issuer keys (found through
// service-account issuer discovery, over the cluster CA, as an authenticated service account). The
// result is the pod's identity from the token's `kubernetes.io` claim — never from the request.
//
// Only pod-bound tokens are accepted (what kubelet projects): a token not bound to a pod names no
// workload a held statement could have come from.
import type { IssuerSpec } from '../../core/vocabulary.js';
import { IdentityError, TokenVerifier, type TokenVerifierOptions, type VerifiedToken } from '../../core/tokens/index.js';
import type { VerifiedRequester } from '../api/parties.js';

export interface ClusterIssuer {
  /** The cluster's service-account issuer (`--service-account-issuer`). */
  issuer: string;
  /** The audience sidecars request their token for. Default `sidegate-broker`. */
  audience?: string;
  /** Neither discoveryUrl nor jwksUrl: the in-cluster API server, its CA and the pod's token (IN_CLUSTER). */
  discoveryUrl?: string;
  jwksUrl?: string;
  /** PEM CA for the HTTPS fetches (the API server's). */
  caFile?: string;
  /** Token presented on those fetches (the API server serves discovery to authenticated service accounts by default). */
  bearerTokenFile?: string;
  clockSkewSeconds?: number;
}

/** Where a pod finds the API server, its CA and its own token. */
export const IN_CLUSTER = {
  discoveryUrl: 'https://kubernetes.default.svc/.well-known/openid-configuration',
  caFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
  bearerTokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
} as const;

export const DEFAULT_BROKER_AUDIENCE = 'sidegate-broker';

/** The pod a sidecar runs in, as its verified ServiceAccount token says. */
export interface VerifiedWorkload {
  issuer: string;
  /** `system:serviceaccount:<namespace>:<name>`. */
  subject: string;
  namespace: string;
  serviceAccount: string;
  podName: string;
  podUid: string;
}

/** Without a keys URL the in-cluster API server is asked, with the pod's CA and token; otherwise only what is given. */
function issuerSpec(config: ClusterIssuer): IssuerSpec {
  const inCluster = config.jwksUrl === undefined && config.discoveryUrl === undefined;
  const fetch = inCluster ? { ...IN_CLUSTER, ...pick(config) } : { ...(config.jwksUrl !== undefined ? { jwksUrl: config.jwksUrl } : { discoveryUrl: config.discoveryUrl }), ...pick(config) };
  return {
    issuer: config.issuer,
    audiences: [config.audience ?? DEFAULT_BROKER_AUDIENCE],
    ...fetch,
    clockSkewSeconds: config.clockSkewSeconds ?? 30,
  };
}

function pick(config: ClusterIssuer): Pick<IssuerSpec, 'caFile' | 'bearerTokenFile'> {
  return {
    ...(config.caFile !== undefined ? { caFile: config.caFile } : {}),
    ...(config.bearerTokenFile !== undefined ? { bearerTokenFile: config.bearerTokenFile } : {}),
  };
}

function field(value: unknown, key: string): string | undefined {
  const v = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function child(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/** The workload from the `kubernetes.io` claim, which must agree with `sub`. Pure. */
export function workloadOf(token: VerifiedToken): VerifiedWorkload {
  const kube = token.claims['kubernetes.io'];
  const namespace = field(kube, 'namespace');
  const serviceAccount = field(child(kube, 'serviceaccount'), 'name');
  if (namespace === undefined || serviceAccount === undefined) {
    throw new IdentityError('malformed', 'token is not a Kubernetes service-account token (no kubernetes.io namespace and service account)');
  }
  if (token.subject !== `system:serviceaccount:${namespace}:${serviceAccount}`) {
    throw new IdentityError('malformed', 'token subject does not match its kubernetes.io service account');
  }
  const podName = field(child(kube, 'pod'), 'name');
  const podUid = field(child(kube, 'pod'), 'uid');
  if (podName === undefined || podUid === undefined) throw new IdentityError('malformed', 'token is not bound to a pod');
  return { issuer: token.issuer, subject: token.subject, namespace, serviceAccount, podName, podUid };
}

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
    this.verifier = new TokenVerifier([issuerSpec(cluster)], opts);
  }

  /** Throws IdentityError (message safe to show the caller, never the token) when not acceptable. */
  async verify(token: string): Promise<VerifiedWorkload> {
    return workloadOf(await this.verifier.verify(token));
  }
}
