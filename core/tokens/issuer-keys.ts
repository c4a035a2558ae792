// Where one trusted issuer's signing keys come from: a JWKS URL (fetched lazily, cached, re-fetched
// on an unknown `kid` at most once per cooldown — jose's remote JWK set does exactly that), the
// JWKS URL an OpenID discovery document names (looked up once, on first use), a JWKS inline in the
// policy, or a JWKS file re-read when it changes.
//
// Every failure to *obtain* keys becomes `jwks-unavailable`; "no key matches this token" is left as
// jose's error so the verifier reports it as a signature problem.
// jose by subpath: its index loads every JWE/JWS/JWK module (46 files) on the start path.
import { createLocalJWKSet } from 'jose/jwks/local';
import { createRemoteJWKSet, customFetch } from 'jose/jwks/remote';
import * as errors from 'jose/errors';
import type { CryptoKey, FetchImplementation, FlattenedJWSInput, JSONWebKeySet, JWSHeaderParameters } from 'jose';
import type { IssuerSpec } from '../vocabulary.js';
import { IdentityError } from './identity-error.js';
import { ReloadingFile, FileReadError } from '../files/reloading-file.js';
import { boundedFetch, ResponseTooLarge } from './bounded-fetch.js';
import { issuerFetchTrust } from './issuer-fetch-trust.js';
import { DiscoveryFailure, discoverJwksUri } from './issuer-discovery.js';

export type KeyGetter = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

export interface RemoteJwksOptions {
  /** Minimum time between two fetches triggered by an unknown `kid` (default 30 s). */
  cooldownMs?: number;
  /** Keys are re-fetched after this age even without an unknown `kid` (default 10 min). */
  cacheMaxAgeMs?: number;
  /** One fetch may take this long (default 5 s). */
  timeoutMs?: number;
}

/** A JWKS is a handful of keys, a discovery document a page of metadata; real ones are a few KiB. */
const MAX_JWKS_BYTES = 512 * 1024;
const DEFAULT_TIMEOUT_MS = 5_000;

/** TLS verification failures: the endpoint answered, but not with a certificate we trust. */
const UNTRUSTED_CERTIFICATE = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS_CERT_ALTNAME_INVALID/;

/** True for the jose errors that mean "these keys do not fit this token" rather than "no keys". */
function isKeySelectionError(err: unknown): boolean {
  return err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys || err instanceof errors.JOSENotSupported;
}

/** The URL as it may appear in a message: no userinfo, query or fragment. */
function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function fetchFailureReason(err: unknown): string {
  if (err instanceof errors.JWKSTimeout || (err instanceof Error && err.name === 'TimeoutError')) return 'timed out';
  if (err instanceof DiscoveryFailure || err instanceof FileReadError) return err.message;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string' && UNTRUSTED_CERTIFICATE.test(code)) return `its TLS certificate is not trusted (${code})`;
  if (err instanceof errors.JWKSInvalid) return 'the response is not a valid JWK set';
  if (err instanceof ResponseTooLarge) return `the response is larger than ${MAX_JWKS_BYTES} bytes`;
  if (err instanceof errors.JOSEError && /200 OK/.test(err.message)) return 'the endpoint did not answer 200 OK';
  if (err instanceof errors.JOSEError && /parse/i.test(err.message)) return 'the response is not JSON';
  return 'the endpoint could not be reached';
}

export function remoteIssuerKeys(issuer: string, url: URL, fetcher: FetchImplementation, opts: RemoteJwksOptions = {}): KeyGetter {
  const remote = createRemoteJWKSet(url, {
    cooldownDuration: opts.cooldownMs ?? 30_000,
    cacheMaxAge: opts.cacheMaxAgeMs ?? 600_000,
    timeoutDuration: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    [customFetch]: fetcher,
  });
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (err) {
      if (isKeySelectionError(err)) throw err;
      throw new IdentityError(
        'jwks-unavailable',
        `signing keys of issuer ${issuer} could not be fetched from ${displayUrl(url)}: ${fetchFailureReason(err)}`,
      );
    }
  };
}

/**
 * Keys from the URL the issuer's discovery document names. A failed lookup is not cached: the next
 * token tries again (concurrent ones share one lookup); a successful one is kept for the process.
 */
export function discoveredIssuerKeys(issuer: string, discoveryUrl: URL, fetcher: FetchImplementation, opts: RemoteJwksOptions = {}): KeyGetter {
  let keys: Promise<KeyGetter> | undefined;
  const discover = async (): Promise<KeyGetter> => {
    try {
      return remoteIssuerKeys(issuer, await discoverJwksUri(issuer, discoveryUrl, fetcher, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS), fetcher, opts);
    } catch (err) {
      keys = undefined;
      throw new IdentityError(
        'jwks-unavailable',
        `signing keys of issuer ${issuer} could not be discovered from ${displayUrl(discoveryUrl)}: ${fetchFailureReason(err)}`,
      );
    }
  };
  return async (header, token) => {
    keys ??= discover();
    return (await keys)(header, token);
  };
}

/**
 * jose only checks that `keys` is an array of objects; also require a `kty` on every key and no
 * private parts, so a typo or a pasted private key is refused when the keys are loaded.
 */
function localKeySet(jwks: unknown): ReturnType<typeof createLocalJWKSet> {
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new TypeError('a JWK set needs a non-empty "keys" array');
  for (const key of keys) {
    if (typeof key !== 'object' || key === null || typeof (key as { kty?: unknown }).kty !== 'string') throw new TypeError('every key needs a kty');
    if ('d' in key || 'k' in key) throw new TypeError('a JWK set for verification holds public keys only');
  }
  return createLocalJWKSet(jwks as JSONWebKeySet);
}

/** Our own checks and jose's JWKSInvalid have fixed, key-free messages; anything else is summarised. */
function keySetProblem(err: unknown): string {
  return err instanceof TypeError || err instanceof errors.JWKSInvalid ? err.message : 'unusable keys';
}

/** Keys inline in the policy: validated now, so a broken policy fails at load, not at first login. */
export function staticIssuerKeys(issuer: string, jwks: NonNullable<IssuerSpec['jwks']>): KeyGetter {
  let keys: ReturnType<typeof createLocalJWKSet>;
  try {
    keys = localKeySet(jwks);
  } catch (err) {
    throw new TypeError(`issuer ${issuer}: jwks is not a valid JWK set (${keySetProblem(err)})`);
  }
  return async (header, token) => {
    try {
      return await keys(header, token);
    } catch (err) {
      if (isKeySelectionError(err)) throw err;
      throw new IdentityError('jwks-unavailable', `signing keys of issuer ${issuer} are unusable: the configured jwks holds an invalid key`);
    }
  };
}

export function fileIssuerKeys(issuer: string, path: string): KeyGetter {
  const file = new ReloadingFile(path, {
    maxBytes: MAX_JWKS_BYTES,
    parse: (text) => {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new FileReadError('unreadable', `${path} is not valid JSON`);
      }
      try {
        return localKeySet(json);
      } catch (err) {
        throw new FileReadError('unreadable', `${path} is not a valid JWK set (${keySetProblem(err)})`);
      }
    },
  });
  return async (header, token) => {
    let keys: ReturnType<typeof createLocalJWKSet>;
    try {
      keys = await file.read();
    } catch (err) {
      const detail = err instanceof FileReadError ? err.message : `${path} could not be read`;
      throw new IdentityError('jwks-unavailable', `signing keys of issuer ${issuer} are unavailable: ${detail}`);
    }
    try {
      return await keys(header, token);
    } catch (err) {
      if (isKeySelectionError(err)) throw err;
      throw new IdentityError('jwks-unavailable', `signing keys of issuer ${issuer} are unusable: ${path} holds an invalid key`);
    }
  };
}

/** The URL an issuer's keys are fetched from (directly or through discovery), checked for its options. */
function fetchedUrl(spec: IssuerSpec, configured: string): URL {
  let url: URL;
  try {
    url = new URL(configured);
  } catch {
    throw new TypeError(`issuer ${spec.issuer}: ${configured} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`issuer ${spec.issuer}: ${displayUrl(url)} is not an http(s) URL`);
  if (spec.bearerTokenFile !== undefined && url.protocol !== 'https:') {
    throw new TypeError(`issuer ${spec.issuer}: bearerTokenFile is only sent over https, and ${displayUrl(url)} is not`);
  }
  return url;
}

/** The key getter for one issuer spec; exactly one key source must be configured. */
export function issuerKeys(spec: IssuerSpec, remote: RemoteJwksOptions = {}): KeyGetter {
  const sources = [spec.jwksUrl, spec.discoveryUrl, spec.jwks, spec.jwksFile].filter((s) => s !== undefined).length;
  if (sources !== 1) {
    throw new TypeError(`issuer ${spec.issuer}: configure exactly one of jwksUrl, discoveryUrl, jwks, jwksFile (found ${sources})`);
  }
  const fetched = spec.jwksUrl ?? spec.discoveryUrl;
  if (fetched === undefined && (spec.caFile !== undefined || spec.bearerTokenFile !== undefined)) {
    throw new TypeError(`issuer ${spec.issuer}: caFile and bearerTokenFile apply to jwksUrl or discoveryUrl only`);
  }
  if (fetched !== undefined) {
    const url = fetchedUrl(spec, fetched);
    const fetcher = boundedFetch(MAX_JWKS_BYTES, issuerFetchTrust(spec, url.origin));
    return spec.jwksUrl !== undefined ? remoteIssuerKeys(spec.issuer, url, fetcher, remote) : discoveredIssuerKeys(spec.issuer, url, fetcher, remote);
  }
  if (spec.jwks !== undefined) return staticIssuerKeys(spec.issuer, spec.jwks);
  return fileIssuerKeys(spec.issuer, spec.jwksFile as string);
}
