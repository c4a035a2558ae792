// Local mode's own token issuer, so a developer can try sidegate with no CI and no cluster:
// an ES256 key generated once into the state directory (private key readable only by its owner),
// its public JWKS next to it for the policy's `jwksFile`, and short-lived developer tokens.
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { SignJWT } from 'jose/jwt/sign';
import { exportJWK } from 'jose/key/export';
import { generateKeyPair } from 'jose/key/generate/keypair';
import { importJWK } from 'jose/key/import';
import type { JWK } from 'jose';

export const LOCAL_ISSUER = 'https://sidegate.local';
export const LOCAL_AUDIENCE = 'sidegate';

export interface LocalIssuerFiles {
  privateKeyFile: string;
  jwksFile: string;
}

export function localIssuerFiles(stateDir: string): LocalIssuerFiles {
  return { privateKeyFile: join(stateDir, 'local-signing-key.json'), jwksFile: join(stateDir, 'local-jwks.json') };
}

export async function ensureLocalIssuer(stateDir: string): Promise<LocalIssuerFiles> {
  const files = localIssuerFiles(stateDir);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  try {
    await readFile(files.privateKeyFile);
    await readFile(files.jwksFile);
    return files;
  } catch {
    /* create below */
  }
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = `local-${Date.now().toString(36)}`;
  const priv = { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
  const pub = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  await writeFile(files.privateKeyFile, JSON.stringify(priv), { mode: 0o600 });
  await chmod(files.privateKeyFile, 0o600);
  await writeFile(files.jwksFile, JSON.stringify({ keys: [pub] }, null, 2), { mode: 0o644 });
  return files;
}

/** A developer token shaped like a CI OIDC token (GitLab-style claims) for the local demo. */
export async function mintLocalToken(
  stateDir: string,
  opts: { subject?: string; expiresIn?: string; claims?: Record<string, unknown>; audience?: string } = {},
): Promise<string> {
  const files = await ensureLocalIssuer(stateDir);
  const jwk = JSON.parse(await readFile(files.privateKeyFile, 'utf8')) as JWK;
  const key = await importJWK(jwk, 'ES256');
  const user = safeUser();
  return new SignJWT({
    project_path: 'local/demo',
    ref: 'main',
    ref_type: 'branch',
    pipeline_id: 'local',
    user_login: user,
    ...opts.claims,
  })
    .setProtectedHeader({ alg: 'ES256', kid: jwk.kid, typ: 'JWT' })
    .setIssuer(LOCAL_ISSUER)
    .setAudience(opts.audience ?? LOCAL_AUDIENCE)
    .setSubject(opts.subject ?? `developer:${user}`)
    .setIssuedAt()
    .setExpirationTime(opts.expiresIn ?? '12h')
    .sign(key);
}

function safeUser(): string {
  try {
    return process.env['USER'] ?? userInfo().username;
  } catch {
    return 'developer';
  }
}
