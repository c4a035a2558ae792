// How `sidegate local` reads a policy, its own or the operator's: local mode's token issuer is
// always trusted, and `--upstream` says where a target really is.
//
// - The issuer https://sidegate.local is verified with local mode's own keys
//   (<state-dir>/local-jwks.json), whatever key source the policy wrote for it, so the example
//   works from any directory and with any --state-dir. A policy that declares no identity of that
//   issuer gets one named `local-developer`, which its rules may name.
// - `--upstream [TARGET=]HOST:PORT` replaces the address of that target (TARGET may be left out
//   when the policy has one target). The embedded demo database is started only for the targets
//   at its address, 127.0.0.1:55433, that no --upstream names: `--upstream 127.0.0.1:55433`
//   means a database of yours is there.
import { join } from 'node:path';
import { loadPolicyFile, type IdentityDoc, type LoadedPolicy } from '../../policies/index.js';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, localIssuerFiles } from './local-issuer.js';

export const LOCAL_IDENTITY_NAME = 'local-developer';
export const DEMO_TARGET_ADDRESS = '127.0.0.1:55433';
/** The demo database's template role for the logins local mode's embedded exchange creates. */
export const DEMO_TEMPLATE_ROLE = 'demo_app';

export interface UpstreamOverride {
  /** The target it applies to; absent: the policy's only target. */
  target?: string;
  address: string;
}

const ADDRESS = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** `HOST:PORT` or `TARGET=HOST:PORT`; throws a message fit for a usage error. */
export function parseUpstream(text: string): UpstreamOverride {
  const eq = text.indexOf('=');
  const target = eq === -1 ? undefined : text.slice(0, eq);
  const address = eq === -1 ? text : text.slice(eq + 1);
  const m = ADDRESS.exec(address);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535 || target === '') {
    throw new Error(`--upstream expects [TARGET=]HOST:PORT (e.g. db.internal:5432 or orders=db.internal:5432), got "${text.slice(0, 80)}"`);
  }
  return target === undefined ? { address } : { target, address };
}

export function localIdentity(stateDir: string): IdentityDoc {
  return { name: LOCAL_IDENTITY_NAME, issuer: LOCAL_ISSUER, audiences: [LOCAL_AUDIENCE], jwksFile: localIssuerFiles(stateDir).jwksFile, clockSkew: '30s' };
}

export interface LocalPolicy {
  policy: LoadedPolicy;
  /** Targets the embedded demo database is to serve. */
  demoTargets: string[];
}

export async function loadLocalPolicy(file: string, opts: { stateDir: string; upstreams: readonly UpstreamOverride[] }): Promise<LocalPolicy> {
  return adjustForLocalMode(await loadPolicyFile(file, { implicitIdentities: [localIdentity(opts.stateDir)] }), opts);
}

/** Pure: the loaded policy with the local issuer's keys and the upstream addresses applied. */
export function adjustForLocalMode(loaded: LoadedPolicy, opts: { stateDir: string; upstreams: readonly UpstreamOverride[] }): LocalPolicy {
  const doc = loaded.document;
  const jwksFile = join(opts.stateDir, 'local-jwks.json');
  const identities = doc.identities.map((i) =>
    i.issuer === LOCAL_ISSUER ? { ...i, jwksFile, jwksUrl: undefined, jwks: undefined } : i,
  );
  const addresses = new Map<string, string>();
  for (const u of opts.upstreams) {
    const names = doc.targets.map((t) => t.name);
    let name = u.target;
    if (name === undefined) {
      if (names.length !== 1) {
        throw new Error(`--upstream ${u.address}: the policy has ${names.length} targets (${names.join(', ') || 'none'}); name one: --upstream TARGET=${u.address}`);
      }
      name = names[0]!;
    } else if (!names.includes(name)) {
      throw new Error(`--upstream ${name}=${u.address}: the policy has no target "${name}" (targets: ${names.join(', ') || 'none'})`);
    }
    addresses.set(name, u.address);
  }
  const targets = doc.targets.map((t) => (addresses.has(t.name) ? { ...t, address: addresses.get(t.name)! } : t));
  const demoTargets = doc.targets.filter((t) => t.protocol === 'postgres' && t.address === DEMO_TARGET_ADDRESS && !addresses.has(t.name)).map((t) => t.name);
  return { policy: { ...loaded, document: { ...doc, identities, targets } }, demoTargets };
}
