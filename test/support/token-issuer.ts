// A real token issuer for tests: a key pair, its JWKS served over HTTP on 127.0.0.1, and
// tokens signed like a CI platform's. Counts JWKS requests so tests can see caching.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { SignJWT, exportJWK, generateKeyPair, type JWK, type CryptoKey } from 'jose';

export interface TestIssuer {
  issuer: string;
  jwksUrl: string;
  jwks: { keys: JWK[] };
  jwksRequests: number;
  sign(
    claims: Record<string, unknown>,
    opts?: { expiresIn?: string | number; notBefore?: string | number; kid?: string; audience?: string | string[]; issuer?: string },
  ): Promise<string>;
  rotateKey(): Promise<void>;
  close(): Promise<void>;
}

export async function startTestIssuer(opts: { issuer?: string; alg?: 'RS256' | 'ES256' } = {}): Promise<TestIssuer> {
  const alg = opts.alg ?? 'ES256';
  let generation = 0;
  let privateKey: CryptoKey;
  let kid = '';
  const jwks: { keys: JWK[] } = { keys: [] };
  const addKey = async () => {
    const pair = await generateKeyPair(alg, { extractable: true });
    privateKey = pair.privateKey;
    kid = `test-key-${++generation}`;
    jwks.keys.push({ ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' });
  };
  await addKey();
  let requests = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/jwks') {
      requests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const issuer = opts.issuer ?? `http://127.0.0.1:${port}`;
  return {
    issuer,
    jwksUrl: `http://127.0.0.1:${port}/jwks`,
    jwks,
    get jwksRequests() {
      return requests;
    },
    async sign(claims, o = {}) {
      const jwt = new SignJWT(claims)
        .setProtectedHeader({ alg, kid: o.kid ?? kid, typ: 'JWT' })
        .setIssuer(o.issuer ?? issuer)
        .setAudience(o.audience ?? 'sidegate')
        .setIssuedAt();
      const exp = o.expiresIn ?? '10m';
      jwt.setExpirationTime(typeof exp === 'number' ? Math.floor(Date.now() / 1000) + exp : exp);
      if (o.notBefore !== undefined) jwt.setNotBefore(typeof o.notBefore === 'number' ? Math.floor(Date.now() / 1000) + o.notBefore : o.notBefore);
      return jwt.sign(privateKey);
    },
    rotateKey: addKey,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

export async function writeStaticJwks(path: string, jwks: { keys: JWK[] }): Promise<void> {
  await writeFile(path, JSON.stringify(jwks));
}
