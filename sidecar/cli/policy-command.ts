// `sidegate policy check FILE` and `sidegate policy test FILE CASES`: operators validate and
// unit-test policies before they ship. Test cases run through the real SQL grammar, so a case
// decides exactly as the sidecar would.
import type { Writable } from 'node:stream';
import { loadPolicyFile, loadPolicyCasesFile, runPolicyCases, Policy, PolicyError } from '../../policies/index.js';
import type { CommandFacts, TargetSpec } from '../../core/vocabulary.js';
import { ADAPTERS, adapterFor } from '../protocols/registry.js';

interface Io {
  stdout: Writable;
  stderr: Writable;
}

export async function runPolicyCommand(args: string[], io: Io): Promise<number> {
  const [sub, file, casesFile] = args;
  try {
    if (sub === 'check' && file) {
      const policy = new Policy(await loadPolicyFile(file));
      io.stdout.write(
        `${file}: ok (${policy.targets().length} targets, ${policy.issuers().length} identities, ${policy.ruleCount()} rules, ${policy.maskingRuleCount()} masking rules)\n`,
      );
      return 0;
    }
    if (sub === 'test' && file && casesFile) {
      const policy = new Policy(await loadPolicyFile(file));
      const cases = await loadPolicyCasesFile(casesFile);
      for (const adapter of ADAPTERS) await adapter.init?.();
      const results = runPolicyCases(policy, cases, inspectCommand);
      let failed = 0;
      for (const r of results) {
        if (!r.pass) failed++;
        io.stdout.write(`${r.pass ? 'PASS' : 'FAIL'}  ${r.name}${r.pass ? '' : `: ${r.message}`}\n`);
      }
      io.stdout.write(`${results.length - failed} passed, ${failed} failed\n`);
      return failed === 0 ? 0 : 1;
    }
  } catch (err) {
    if (err instanceof PolicyError) {
      io.stderr.write(err.message + '\n');
      return 1;
    }
    throw err;
  }
  io.stderr.write('usage: sidegate policy check FILE | sidegate policy test FILE CASES\n');
  return 2;
}

/** The real inspection for each protocol, as the sidecar runs it. */
export function inspectCommand(target: TargetSpec, text: string): CommandFacts[] {
  const adapter = adapterFor(target.protocol);
  if (!adapter) throw new Error(`policy test: sidegate has no adapter for protocol ${target.protocol} yet`);
  return adapter.inspect(text, target.name);
}
