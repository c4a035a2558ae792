// `sidegate policy check FILE` and `sidegate policy test FILE CASES`: operators validate and
// unit-test policies before they ship. `check` runs the checks start-up runs (startup-checks.ts);
// test cases run through the real SQL grammar, so a case decides exactly as the sidecar would.
import type { Writable } from 'node:stream';
import { loadPolicyFile, loadPolicyCasesFile, runPolicyCases, Policy, PolicyError } from '../../policies/index.js';
import type { CommandFacts, TargetSpec } from '../../core/vocabulary.js';
import { ADAPTERS, adapterFor } from '../protocols/registry.js';
import { CredentialsFile } from '../identity/index.js';
import { startupProblems } from '../runtime/startup-checks.js';
import { parseCommandLine, printable, usageError } from '../../core/command-line/command-line.js';

interface Io {
  stdout: Writable;
  stderr: Writable;
}

export const POLICY_USAGE = `usage: sidegate policy check FILE [--credentials FILE] [--runtime]
       sidegate policy test FILE CASES

  check   validate a policy: its schema and cross-references (errors name file:line:column) and
          what start-up refuses beyond them (inline issuer keys, two targets on one listen
          address, unsupported credential sources). With --credentials FILE also the credentials
          file (mode 0600, syntax, an entry for every target); with --runtime also the masking key
          (its environment variable or file, as this machine has it). With both, exactly the
          checks \`sidegate sidecar\` runs before it opens anything.
  test    run policy unit-test cases through the real SQL grammar; exit 1 on any mismatch
`;

const CHECK = {
  name: 'sidegate policy check',
  usage: POLICY_USAGE,
  options: { credentials: { type: 'string' }, runtime: { type: 'boolean', default: false } },
  positionals: ['FILE'],
} as const;
const TEST = { name: 'sidegate policy test', usage: POLICY_USAGE, options: {}, positionals: ['FILE', 'CASES'] } as const;

export async function runPolicyCommand(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  try {
    if (sub === 'check') {
      const parsed = parseCommandLine(rest, CHECK, io);
      if (typeof parsed === 'number') return parsed;
      const file = parsed.positionals[0]!;
      const policy = new Policy(await loadPolicyFile(file));
      const credentials = parsed.values.credentials ? new CredentialsFile(parsed.values.credentials) : undefined;
      const problems = await startupProblems(policy, { credentials, env: parsed.values.runtime ? process.env : undefined });
      if (problems.length > 0) {
        for (const p of problems) io.stderr.write(`${file}: ${p}\n`);
        return 1;
      }
      io.stdout.write(
        `${file}: ok (${policy.targets().length} targets, ${policy.issuers().length} identities, ${policy.ruleCount()} rules, ${policy.maskingRuleCount()} masking rules)\n`,
      );
      return 0;
    }
    if (sub === 'test') {
      const parsed = parseCommandLine(rest, TEST, io);
      if (typeof parsed === 'number') return parsed;
      const [file, casesFile] = parsed.positionals as [string, string];
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
  if (sub === '--help' || sub === '-h') {
    io.stdout.write(POLICY_USAGE);
    return 0;
  }
  const spec = { name: 'sidegate policy', usage: POLICY_USAGE };
  return usageError(spec, sub === undefined ? 'missing subcommand (check or test)' : `unknown subcommand "${printable(sub)}"`, io);
}

/** The real inspection for each protocol, as the sidecar runs it. */
export function inspectCommand(target: TargetSpec, text: string): CommandFacts[] {
  const adapter = adapterFor(target.protocol);
  if (!adapter) throw new Error(`policy test: sidegate has no adapter for protocol ${target.protocol} yet`);
  return adapter.inspect(text, target.name);
}
