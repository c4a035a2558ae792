// Installs the generated redirect rules with iptables-restore / ip6tables-restore --noflush (input on
// stdin; one atomic transaction per family). Re-running is harmless: our chains are flushed and
// rebuilt by the input itself, and the OUTPUT hook is left out when iptables-save shows it is
// already installed (see redirect-rules.ts). Any failure throws: the init container must exit
// non-zero so the pod never starts uncaptured.
import { spawn } from 'node:child_process';
import { OUTPUT_HOOK_RULE, type RedirectRules } from './redirect-rules.js';

export interface IptablesCommands {
  save: string;
  restore: string;
}

export interface ApplyRedirectRulesOptions {
  ipv4?: IptablesCommands;
  ipv6?: IptablesCommands;
  /** Upper bound for each iptables invocation. */
  timeoutMs?: number;
}

/** What was sent to each restore command (the OUTPUT hook omitted when it was already present). */
export interface AppliedRedirectRules {
  ipv4: string;
  ipv6: string;
}

export class ApplyRedirectRulesError extends Error {
  override name = 'ApplyRedirectRulesError';
}

const DEFAULT_IPV4: IptablesCommands = { save: 'iptables-save', restore: 'iptables-restore' };
const DEFAULT_IPV6: IptablesCommands = { save: 'ip6tables-save', restore: 'ip6tables-restore' };

export async function applyRedirectRules(
  rules: RedirectRules,
  opts: ApplyRedirectRulesOptions = {},
): Promise<AppliedRedirectRules> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const ipv4 = await applyFamily('IPv4', rules.ipv4, opts.ipv4 ?? DEFAULT_IPV4, timeoutMs);
  const ipv6 = await applyFamily('IPv6', rules.ipv6, opts.ipv6 ?? DEFAULT_IPV6, timeoutMs);
  return { ipv4, ipv6 };
}

/** The restore input without the OUTPUT hook when the saved nat table already has it. */
export function omitInstalledHook(restoreInput: string, savedNatTable: string): string {
  const installed = savedNatTable.split('\n').some((line) => line.trim() === OUTPUT_HOOK_RULE);
  if (!installed) return restoreInput;
  return restoreInput
    .split('\n')
    .filter((line) => line !== OUTPUT_HOOK_RULE)
    .join('\n');
}

async function applyFamily(family: string, input: string, commands: IptablesCommands, timeoutMs: number): Promise<string> {
  const saved = await runCommand(family, commands.save, ['-t', 'nat'], '', timeoutMs);
  const effective = omitInstalledHook(input, saved);
  await runCommand(family, commands.restore, ['--noflush'], effective, timeoutMs);
  return effective;
}

function runCommand(family: string, command: string, args: string[], stdin: string, timeoutMs: number): Promise<string> {
  const shown = [command, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    // Our own timer rather than spawn's `timeout`: that one is not cleared when the spawn itself
    // fails (ENOENT), and would hold the process open for the whole timeout.
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // A child that dies before reading stdin raises EPIPE here; the exit status carries the real error.
    child.stdin.on('error', () => {});
    child.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const hint = e.code === 'ENOENT' ? ' (is the iptables package installed?)' : '';
      reject(new ApplyRedirectRulesError(`${family} redirect rules: cannot run ${command}: ${e.message}${hint}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve(Buffer.concat(out).toString('utf8'));
      const stderr = Buffer.concat(err).toString('utf8').trim();
      const how = timedOut ? `did not finish within ${timeoutMs} ms` : signal ? `was killed by ${signal}` : `exited ${code}`;
      reject(new ApplyRedirectRulesError(`${family} redirect rules: ${shown} ${how}${stderr ? `: ${stderr}` : ''}`));
    });
    child.stdin.end(stdin);
  });
}
