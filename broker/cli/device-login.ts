// `sidegate approvals login`: an approver signs in with their OIDC provider through the device
// authorization grant (RFC 8628, openid-client) — the CLI shows a URL and a code, the approver
// signs in in any browser — and the ID token is cached in a file only they can read, for the
// other subcommands to send as their bearer token.
import { chmod, mkdir, open, rename } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as client from 'openid-client';

export interface DeviceLoginOptions {
  issuer: string;
  clientId: string;
  /** Where the ID token is cached (mode 0600). */
  tokenFile: string;
  /** Told where to sign in; never given the token. */
  show: (instructions: string) => void;
  /** Extra scopes beyond `openid profile email` (e.g. the provider's groups scope). */
  scopes?: string[];
  signal?: AbortSignal;
}

/** `$XDG_CONFIG_HOME/sidegate/approver-token`, else `~/.config/sidegate/approver-token`. */
export function defaultApproverTokenFile(env: NodeJS.ProcessEnv): string {
  const base = env['XDG_CONFIG_HOME'] || join(homedir(), '.config');
  return join(base, 'sidegate', 'approver-token');
}

/** Plain HTTP only to this machine (a provider started for a demo or a test); anything else is HTTPS. */
function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]');
}

/** Written to a new file created 0600, then renamed over the cache: never readable by others, never half-written. */
async function writePrivate(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(content);
  } finally {
    await handle.close();
  }
  await chmod(temp, 0o600);
  await rename(temp, path);
}

/** Runs the device flow to the end; returns the approver's name as the ID token states it. */
export async function deviceLogin(opts: DeviceLoginOptions): Promise<{ name: string; expiresAt: Date | undefined }> {
  const issuer = new URL(opts.issuer);
  const execute = isLoopbackHttp(issuer) ? [client.allowInsecureRequests] : [];
  const config = await client.discovery(issuer, opts.clientId, undefined, client.None(), { execute });
  const device = await client.initiateDeviceAuthorization(config, { scope: ['openid', 'profile', 'email', ...(opts.scopes ?? [])].join(' ') });
  opts.show(
    device.verification_uri_complete
      ? `Open ${device.verification_uri_complete} to sign in (code ${device.user_code}).`
      : `Open ${device.verification_uri} and enter the code ${device.user_code}.`,
  );
  const tokens = await client.pollDeviceAuthorizationGrant(config, device, undefined, { signal: opts.signal });
  const claims = tokens.claims();
  if (!tokens.id_token || !claims) throw new Error('the provider returned no ID token (is the openid scope allowed for this client?)');
  await writePrivate(opts.tokenFile, `${tokens.id_token}\n`);
  const name = [claims['preferred_username'], claims['email'], claims.sub].find((v) => typeof v === 'string' && v !== '') as string;
  return { name, expiresAt: typeof claims.exp === 'number' ? new Date(claims.exp * 1000) : undefined };
}
