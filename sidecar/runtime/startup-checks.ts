// What start-up refuses beyond the policy document's own validation (policies/loader.ts), in one
// function so `sidegate policy check` and startSidecar cannot drift apart. A sidecar that started
// anyway would fail each connection later, at a worse time and further from the cause.
import type { Policy } from '../../policies/index.js';
import { TokenVerifier } from '../../core/tokens/index.js';
import type { CredentialsFile } from '../identity/index.js';
import { loadMaskingKey } from './masking-key.js';
import { adapterFor } from '../protocols/registry.js';

export interface StartupCheckInputs {
  /** The credentials file start-up will use: its mode, syntax and an entry per target. Omitted: not checked. */
  credentials?: CredentialsFile;
  /**
   * Which credential sources this sidecar has: a target whose source is missing is refused.
   * Omitted (`sidegate policy check` without --runtime): not checked.
   */
  sources?: { file: boolean; exchange: boolean };
  /** The environment the masking key reference is resolved in. Omitted: the masking key is not checked. */
  env?: NodeJS.ProcessEnv;
}

/** Every problem found, each a sentence naming what is wrong; empty when start-up may proceed. */
export async function startupProblems(policy: Policy, inputs: StartupCheckInputs = {}): Promise<string[]> {
  const problems: string[] = [];
  try {
    // Builds each issuer's key source: an inline `jwks` is validated here (files and URLs are read on use).
    new TokenVerifier(policy.issuers());
  } catch (err) {
    problems.push((err as Error).message);
  }

  const listenerOf = new Map<string, string>();
  for (const target of policy.targets()) {
    if (target.listen && target.listen.port !== 0) {
      const address = `${target.listen.host}:${target.listen.port}`;
      const other = listenerOf.get(address);
      if (other) problems.push(`targets ${other} and ${target.name} both listen on ${address}`);
      else listenerOf.set(address, target.name);
    }
    // A target nothing can serve would accept connections only to close them: refuse it now.
    if (!adapterFor(target.protocol)) {
      problems.push(`target ${target.name}: sidegate has no adapter for protocol "${target.protocol}" yet`);
    }
    if (inputs.sources && !inputs.sources[target.credentials.source]) {
      problems.push(
        target.credentials.source === 'exchange'
          ? `target ${target.name} takes its credential from the token exchange: start the sidecar with --exchange-url and --exchange-token-file`
          : `target ${target.name} takes its credential from a file: start the sidecar with --credentials FILE`,
      );
    }
  }

  if (inputs.credentials) {
    const fileTargets = policy.targets().filter((t) => t.credentials.source === 'file');
    try {
      await inputs.credentials.check();
      for (const target of fileTargets) {
        const key = target.credentials.source === 'file' ? target.credentials.key : '';
        if (!(await inputs.credentials.hasEntry(key))) {
          problems.push(`credentials file ${inputs.credentials.path} has no entry "${key}" (needed by target ${target.name})`);
        }
      }
    } catch (err) {
      problems.push((err as Error).message);
    }
  }

  if (inputs.env) {
    try {
      await loadMaskingKey(policy, inputs.env);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return problems;
}

/** Start-up refused: the problems, one per line after the first. */
export class StartupRefused extends Error {
  override readonly name = 'StartupRefused';

  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(problems.length === 1 ? `${source}: ${problems[0]}` : `${source}: ${problems.length} problems:\n  ${problems.join('\n  ')}`);
  }
}
