// OpenID Connect discovery: where an issuer publishes its signing keys (`jwks_uri` in
// `/.well-known/openid-configuration`). Kubernetes serves the same document for service-account
// tokens. The document must name the issuer we trust (OpenID Connect Discovery 1.0, §4.3): a
// document for another issuer would make us trust its keys for ours.
import type { FetchImplementation } from 'jose';
import { quoteUntrusted } from './identity-error.js';

/** Why discovery gave no keys URL; `message` is a reason fit for a client-visible error. */
export class DiscoveryFailure extends Error {
  override readonly name = 'DiscoveryFailure';
}

/** The conventional discovery URL of an issuer: `<issuer>/.well-known/openid-configuration`. */
export function discoveryUrlOf(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

async function fetchDocument(url: URL, fetcher: FetchImplementation, timeoutMs: number): Promise<Record<string, unknown>> {
  const response = await fetcher(url.href, {
    method: 'GET',
    redirect: 'manual',
    headers: new Headers({ accept: 'application/json' }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (response.status !== 200) throw new DiscoveryFailure(`the discovery endpoint answered ${response.status}, not 200 OK`);
  let document: unknown;
  try {
    document = await response.json();
  } catch {
    throw new DiscoveryFailure('the discovery document is not JSON');
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) throw new DiscoveryFailure('the discovery document is not a JSON object');
  return document as Record<string, unknown>;
}

/** The issuer's JWKS URL, from its discovery document at `url`. */
export async function discoverJwksUri(issuer: string, url: URL, fetcher: FetchImplementation, timeoutMs: number): Promise<URL> {
  const document = await fetchDocument(url, fetcher, timeoutMs);
  if (document['issuer'] !== issuer) {
    throw new DiscoveryFailure(`the discovery document names issuer ${quoteUntrusted(document['issuer'])}, not ${issuer}`);
  }
  const jwksUri = document['jwks_uri'];
  let keysUrl: URL;
  try {
    keysUrl = new URL(typeof jwksUri === 'string' ? jwksUri : '');
  } catch {
    throw new DiscoveryFailure('the discovery document has no valid jwks_uri');
  }
  // Keys found over HTTPS are not fetched over plain HTTP: that would undo the CA we were told to trust.
  if (keysUrl.protocol !== 'https:' && (url.protocol === 'https:' || keysUrl.protocol !== 'http:')) {
    throw new DiscoveryFailure(`the discovery document's jwks_uri is not an https URL`);
  }
  return keysUrl;
}
