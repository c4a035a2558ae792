// A real OIDC-style token issuer for tests: fresh signing keys, a JWKS and an OpenID discovery
// document served over real HTTP — or HTTPS with a given certificate, optionally only to a bearer
// token, as Kubernetes serves its service-account issuer — on 127.0.0.1 (port 0), request counters
// so tests can assert caching/refresh, and key rotation.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { rename, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

export type TestIssuerAlg = 'RS256' | 'ES256';

export interface TestIssuerOptions {
  /** `iss` of issued tokens; default the server's own URL (`http://127.0.0.1:<port>`). */
  issuer?: string;
  alg?: TestIssuerAlg;
  /** Serve HTTPS with this certificate (PEM) instead of HTTP; URLs then use https. */
  tls?: { cert: string; key: string };
  /** Answer 401 to requests without `Authorization: Bearer <this>`. */
  requireBearer?: string;
}

export interface SignOptions {
  /** Lifetime: seconds from now (negative: already expired) or a span like `'5m'`, `'-1h'`. Default 5 min. */
  expiresIn?: string | number;
  /** Not-before: seconds from now or a span. Default: no nbf. */
  notBefore?: string | number;
  /** Header kid; default the current key's kid (a different one makes an "unknown kid" token). */
  kid?: string;
  /** `aud`; default `'sidegate'`. An `aud` in the claims wins. */
  audience?: string | string[];
}

export interface JwkSet {
  keys: JWK[];
}

export interface TestIssuer {
  issuer: string;
  jwksUrl: string;
  /** The currently published public keys. */
  readonly jwks: JwkSet;
  /** kid of the key new tokens are signed with. */
  readonly kid: string;
  /** The OpenID discovery document's URL. */
  discoveryUrl: string;
  /** How many times the JWKS was requested. */
  readonly jwksRequests: number;
  /** How many times the discovery document was requested. */
  readonly discoveryRequests: number;
  /** Authorization headers received, in order (undefined: none sent). */
  readonly authorizations: readonly (string | undefined)[];
  sign(claims: Record<string, unknown>, opts?: SignOptions): Promise<string>;
  /** New signing key with a new kid; the old public key stays published unless `retireOld`. */
  rotateKey(opts?: { retireOld?: boolean }): Promise<void>;
  close(): Promise<void>;
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function newSigningKey(alg: TestIssuerAlg): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomUUID();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, privateKey, publicJwk };
}

const SPAN_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `300` → 300, `'5m'` → 300, `'-1h'` → -3600. */
function spanSeconds(value: string | number): number {
  if (typeof value === 'number') return value;
  const match = /^([+-]?)(\d+)\s*([smhd])$/.exec(value.trim());
  if (!match) throw new TypeError(`unsupported time span ${JSON.stringify(value)} (use e.g. 30, '30s', '5m', '-1h')`);
  const seconds = Number(match[2]) * (SPAN_UNITS[match[3] as string] as number);
  return match[1] === '-' ? -seconds : seconds;
}

function listen(server: Server): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address() as AddressInfo));
  });
}

export async function startTestIssuer(opts: TestIssuerOptions = {}): Promise<TestIssuer> {
  const alg = opts.alg ?? 'RS256';
  let current = await newSigningKey(alg);
  let published: JWK[] = [current.publicJwk];
  let jwksRequests = 0;
  let discoveryRequests = 0;
  const authorizations: (string | undefined)[] = [];

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    authorizations.push(req.headers.authorization);
    if (opts.requireBearer !== undefined && req.headers.authorization !== `Bearer ${opts.requireBearer}`) {
      res.writeHead(401).end();
      return;
    }
    if (req.method === 'GET' && req.url === '/jwks') {
      jwksRequests++;
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
      res.end(JSON.stringify({ keys: published }));
      return;
    }
    if (req.method === 'GET' && req.url === '/.well-known/openid-configuration') {
      discoveryRequests++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ issuer, jwks_uri: jwksUrl, id_token_signing_alg_values_supported: [alg] }));
      return;
    }
    res.writeHead(404).end();
  };
  const server: Server = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, handle) : createServer(handle);
  const { port } = await listen(server);
  const base = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const issuer = opts.issuer ?? base;
  const jwksUrl = `${base}/jwks`;

  return {
    issuer,
    jwksUrl,
    discoveryUrl: `${base}/.well-known/openid-configuration`,
    get jwks() {
      return { keys: published.map((k) => ({ ...k })) };
    },
    get kid() {
      return current.kid;
    },
    get jwksRequests() {
      return jwksRequests;
    },
    get discoveryRequests() {
      return discoveryRequests;
    },
    get authorizations() {
      return [...authorizations];
    },
    async sign(claims, signOpts = {}) {
      const now = Math.floor(Date.now() / 1000);
      const payload: Record<string, unknown> = {
        iss: issuer,
        aud: signOpts.audience ?? 'sidegate',
        iat: now,
        exp: now + spanSeconds(signOpts.expiresIn ?? 300),
        ...(signOpts.notBefore !== undefined ? { nbf: now + spanSeconds(signOpts.notBefore) } : {}),
        // Claims win over the defaults above (a test may set iss/iat/exp/aud itself).
        ...claims,
      };
      return new SignJWT(payload).setProtectedHeader({ alg, kid: signOpts.kid ?? current.kid, typ: 'JWT' }).sign(current.privateKey);
    },
    async rotateKey(rotateOpts = {}) {
      const next = await newSigningKey(alg);
      published = rotateOpts.retireOld ? [next.publicJwk] : [...published, next.publicJwk];
      current = next;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** Write a JWKS file atomically (temp file + rename), as a config-management tool would. */
export async function writeStaticJwks(path: string, jwks: { keys: readonly unknown[] }): Promise<void> {
  const temp = `${path}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(temp, JSON.stringify(jwks), { mode: 0o644 });
  await rename(temp, path);
}
