// `sidegate init`: the pod's init container. Generates the redirect rules from its flags, applies
// them with iptables-restore, prints what it applied and exits. Any error exits non-zero so the
// kubelet does not start the runner uncaptured (fail closed).
//
//   sidegate init [--capture-port 16001] [--uid 7331] [--gid 7331]
//                 [--include-ports 5432 | '*'] [--exclude-ports 8080,…]
//                 [--exclude-cidrs 10.0.0.0/8,fd00::/8,…] [--dry-run]
import type { Writable } from 'node:stream';
import { redirectRules, RedirectRuleError, type RedirectRules } from './redirect-rules.js';
import { applyRedirectRules, ApplyRedirectRulesError, type AppliedRedirectRules } from './apply-redirect-rules.js';
import { parseCommandLine, usageError } from '../../core/command-line/command-line.js';

export interface InitCommandIo {
  stdout: Pick<Writable, 'write'>;
  stderr: Pick<Writable, 'write'>;
  /** Installs the rules; tests substitute their own. Defaults to applyRedirectRules. */
  apply?: (rules: RedirectRules) => Promise<AppliedRedirectRules>;
}

// Only ports of protocols sidegate has an adapter for: capturing others (HTTPS, SSH) gains nothing
// sidegate guards and puts every git clone and download through the egress policy. MySQL's 3306
// joins when its adapter does.
/** The ports of the protocols sidegate has an adapter for (test/architecture/capture-defaults.test.ts). */
export const DEFAULT_INCLUDE_PORTS = '3306,5432';

export const INIT_USAGE = `usage: sidegate init [--capture-port 16001] [--uid 7331] [--gid 7331]
                     [--include-ports 5432|*] [--exclude-ports P,…]
                     [--exclude-cidrs CIDR,…] [--dry-run]

The pod's init container: installs iptables/ip6tables rules that redirect the runner's outbound
traffic on the included ports to the sidecar's capture port (the sidecar's own uid/gid excluded),
prints them and exits. Exits 1 if they could not be applied, so the pod does not start uncaptured.

options:
  --capture-port PORT      the sidecar's transparent capture port (default 16001)
  --uid UID --gid GID      the sidecar's user and group, whose traffic is not redirected (default 7331)
  --include-ports LIST     destination ports to capture, or * for all (default ${DEFAULT_INCLUDE_PORTS})
  --exclude-ports LIST     destination ports never captured
  --exclude-cidrs LIST     destination networks never captured
  --dry-run                print the rules without applying them
  -h, --help               this text
`;

const INIT_SPEC = {
  name: 'sidegate init',
  usage: INIT_USAGE,
  options: {
    'capture-port': { type: 'string', default: '16001' },
    uid: { type: 'string', default: '7331' },
    gid: { type: 'string', default: '7331' },
    'include-ports': { type: 'string', default: DEFAULT_INCLUDE_PORTS },
    'exclude-ports': { type: 'string', default: '' },
    'exclude-cidrs': { type: 'string', default: '' },
    'dry-run': { type: 'boolean', default: false },
  },
} as const;


export async function runInitCommand(argv: string[], io: InitCommandIo): Promise<number> {
  const parsed = parseCommandLine(argv, INIT_SPEC, io);
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  const dryRun = values['dry-run'];
  let rules: RedirectRules;
  try {
    const include = values['include-ports'].trim();
    rules = redirectRules({
      capturePort: parseNumber('--capture-port', values['capture-port']),
      uid: parseNumber('--uid', values.uid),
      gid: parseNumber('--gid', values.gid),
      includePorts: include === '*' ? 'all' : parseList(include).map((p) => parseNumber('--include-ports', p)),
      excludePorts: parseList(values['exclude-ports']).map((p) => parseNumber('--exclude-ports', p)),
      excludeCidrs: parseList(values['exclude-cidrs']),
    });
  } catch (err) {
    if (err instanceof RedirectRuleError) return usageError(INIT_SPEC, err.message, io);
    throw err;
  }

  if (dryRun) {
    io.stdout.write(`# IPv4 (not applied: --dry-run)\n${rules.ipv4}# IPv6 (not applied: --dry-run)\n${rules.ipv6}`);
    return 0;
  }
  try {
    const applied = await (io.apply ?? applyRedirectRules)(rules);
    io.stdout.write(`# IPv4 rules applied with iptables-restore --noflush\n${applied.ipv4}`);
    io.stdout.write(`# IPv6 rules applied with ip6tables-restore --noflush\n${applied.ipv6}`);
    return 0;
  } catch (err) {
    const message = err instanceof ApplyRedirectRulesError ? err.message : `unexpected error: ${(err as Error).message}`;
    io.stderr.write(`sidegate init: ${message}\nsidegate init: traffic is NOT captured; refusing to let the pod start\n`);
    return 1;
  }
}

function parseList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function parseNumber(flag: string, text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new RedirectRuleError(`${flag}: "${text}" is not a number`);
  return Number(text.trim());
}
