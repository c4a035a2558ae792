// The CI identity every sidegate path of a benchmark run verifies: one token from a test issuer
// whose keys are written to a JWKS file (no issuer left running while measuring), the policy's
// `identities` section that trusts it, and the token in a file for `--token-file` (the pod's own
// identity, which applies when a client presents an empty password).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestIssuer, writeStaticJwks } from '../support/token-issuer.js';

export interface BenchIdentity {
  /** The CI token (a client presents it as its password). */
  token: string;
  /** The same token as the pod's identity file. */
  tokenFile: string;
  /** The policy's `identities:` section, naming the identity `ci`. */
  policyIdentities: string;
}

export async function createBenchIdentity(dir: string): Promise<BenchIdentity> {
  const issuer = await startTestIssuer({ issuer: 'https://bench.sidegate' });
  const token = await issuer.sign({ sub: 'bench', project_path: 'acme/bench' }, { expiresIn: '2h' });
  const jwksFile = join(dir, 'jwks.json');
  await writeStaticJwks(jwksFile, issuer.jwks);
  await issuer.close();
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, token + '\n', { mode: 0o600 });
  return {
    token,
    tokenFile,
    policyIdentities: `identities:
  - name: ci
    issuer: https://bench.sidegate
    audiences: [sidegate]
    jwksFile: ${jwksFile}
    claims: { project_path: "acme/*" }
`,
  };
}
