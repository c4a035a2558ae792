// What a Kubernetes pod's projected ServiceAccount token is to us: where the cluster's issuer keys
// are found (service-account issuer discovery over the cluster CA, as an authenticated service
// account) and the workload its verified `kubernetes.io` claim names. Shared by the broker (its
// requesters) and the token exchange (subject tokens): one reading of a pod's identity.
//
// Only pod-bound tokens are accepted (what kubelet projects): a token not bound to a pod names no
// workload.
import type { IssuerSpec } from '../vocabulary.js';
import { IdentityError } from './identity-error.js';
import type { VerifiedToken } from './token-verifier.js';

export interface ClusterIssuer {
  /** The cluster's service-account issuer (`--service-account-issuer`). */
  issuer: string;
  /** The audience pods request their token for (the caller's default when absent). */
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

/** The pod a token was projected into, as its verified claims say. */
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
export function clusterIssuerSpec(config: ClusterIssuer, defaultAudience: string): IssuerSpec {
  const inCluster = config.jwksUrl === undefined && config.discoveryUrl === undefined;
  const fetch = inCluster ? { ...IN_CLUSTER, ...pick(config) } : { ...(config.jwksUrl !== undefined ? { jwksUrl: config.jwksUrl } : { discoveryUrl: config.discoveryUrl }), ...pick(config) };
  return {
    issuer: config.issuer,
    audiences: [config.audience ?? defaultAudience],
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
