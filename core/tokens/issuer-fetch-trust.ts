// What an issuer's HTTPS fetches trust and present, from its spec: the CA bundle (`caFile`) and the
// bearer token (`bearerTokenFile`), both re-read when their files change (a rotated cluster CA, the
// kubelet's token rotation). The token goes only to the origin it was configured for: a discovery
// document may point its `jwks_uri` anywhere, and that host must not receive our credential.
import type { IssuerSpec } from '../vocabulary.js';
import { FileReadError, ReloadingFile } from '../files/reloading-file.js';
import type { FetchTrust } from './bounded-fetch.js';
import { MAX_TOKEN_BYTES } from './token-size.js';

/** A CA bundle is a few certificates; a cluster's is one. */
const MAX_CA_BUNDLE_BYTES = 1024 * 1024;

function caBundle(path: string): ReloadingFile<string> {
  return new ReloadingFile(path, {
    maxBytes: MAX_CA_BUNDLE_BYTES,
    parse: (text) => {
      if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new FileReadError('unreadable', `${path} holds no PEM certificate`);
      return text;
    },
  });
}

function bearerToken(path: string): ReloadingFile<string> {
  return new ReloadingFile(path, {
    maxBytes: MAX_TOKEN_BYTES,
    parse: (text) => {
      const token = text.trim();
      if (token === '') throw new FileReadError('empty', `${path} is empty`);
      return token;
    },
  });
}

/** `origin`: where the configured URL (discovery or JWKS) points; the only origin given the token. */
export function issuerFetchTrust(spec: IssuerSpec, origin: string): FetchTrust {
  const trust: FetchTrust = {};
  if (spec.caFile !== undefined) {
    const ca = caBundle(spec.caFile);
    trust.ca = () => ca.read();
  }
  if (spec.bearerTokenFile !== undefined) {
    const token = bearerToken(spec.bearerTokenFile);
    trust.authorization = async (url) => (url.origin === origin ? `Bearer ${await token.read()}` : undefined);
  }
  return trust;
}
