// The pod's redirect rules as iptables-restore input (nat table), one text per address family.
// Pure: the init container applies the result (apply-redirect-rules.ts); tests pin the text.
//
// Shape (both families):
//   OUTPUT -p tcp → SIDEGATE_OUTPUT
//   SIDEGATE_OUTPUT: RETURN for the sidecar's uid and gid (its upstream connections must leave the
//     pod, or they would loop back into itself), RETURN for loopback destinations, RETURN for
//     excluded CIDRs and ports, then → SIDEGATE_REDIRECT for each included port (or all TCP).
//   SIDEGATE_REDIRECT: REDIRECT to the capture port.
//
// Loopback choice: only loopback DESTINATIONS (127.0.0.0/8, ::1/128) are exempt — not everything
// leaving via `-o lo`. A runner connecting to the pod's own non-loopback address (which the kernel
// also routes over lo) on an included port is captured like any other destination. istio exempts
// that traffic; we do not, because "loopback excluded" is the one exemption operators are told
// about, and a narrower exemption fails closed: such a connection reaches the sidecar, which closes
// it (and audits it) unless a policy names the address. A same-pod service reached via the pod IP
// can be named in policy or have its port excluded with `traffic.sidegate.dev/exclude-outbound-ports`.
//
// Idempotence: our chains are declared and flushed explicitly in the input, so re-applying replaces
// them. The one rule outside our chains, the OUTPUT hook (OUTPUT_HOOK_RULE), would be appended again
// by a second run; apply-redirect-rules.ts leaves it out when iptables-save shows it is present.
import { isIPv4, isIPv6 } from 'node:net';

export interface RedirectRuleOptions {
  /** Port the transparent listener is bound to. */
  capturePort: number;
  /** The sidecar's uid and gid: its own traffic is never captured. */
  uid: number;
  gid: number;
  /** Destination TCP ports to capture, or every TCP port. */
  includePorts: number[] | 'all';
  /** Destination ports never captured (wins over includePorts). */
  excludePorts: number[];
  /** Destination ranges never captured, IPv4 and IPv6 mixed ("10.0.0.0/8", "fd00::/8", "192.0.2.7"). */
  excludeCidrs: string[];
}

export interface RedirectRules {
  ipv4: string;
  ipv6: string;
}

export const OUTPUT_CHAIN = 'SIDEGATE_OUTPUT';
export const REDIRECT_CHAIN = 'SIDEGATE_REDIRECT';
/** The only rule placed in a built-in chain, exactly as iptables-save prints it. */
export const OUTPUT_HOOK_RULE = `-A OUTPUT -p tcp -j ${OUTPUT_CHAIN}`;

export class RedirectRuleError extends Error {
  override name = 'RedirectRuleError';
}

export function redirectRules(opts: RedirectRuleOptions): RedirectRules {
  validatePort('capture port', opts.capturePort);
  validateId('uid', opts.uid);
  validateId('gid', opts.gid);
  if (opts.includePorts !== 'all') {
    if (opts.includePorts.length === 0) {
      // An empty list would install rules that capture nothing: refuse rather than start a pod
      // whose traffic silently bypasses the gateway.
      throw new RedirectRuleError('include ports: empty list would capture nothing (use "*" for all TCP ports)');
    }
    opts.includePorts.forEach((p) => validatePort('include port', p));
  }
  opts.excludePorts.forEach((p) => validatePort('exclude port', p));
  const cidrs = splitCidrsByFamily(opts.excludeCidrs);
  return {
    ipv4: familyRules(opts, '127.0.0.0/8', cidrs.v4),
    ipv6: familyRules(opts, '::1/128', cidrs.v6),
  };
}

function familyRules(opts: RedirectRuleOptions, loopback: string, excludedCidrs: string[]): string {
  const exclusions = new Set(opts.excludePorts);
  const lines = [
    '*nat',
    `:${OUTPUT_CHAIN} - [0:0]`,
    `:${REDIRECT_CHAIN} - [0:0]`,
    // Declaring a chain only flushes it in some iptables variants; flush explicitly in all of them.
    `-F ${OUTPUT_CHAIN}`,
    `-F ${REDIRECT_CHAIN}`,
    `-A ${REDIRECT_CHAIN} -p tcp -j REDIRECT --to-ports ${opts.capturePort}`,
    OUTPUT_HOOK_RULE,
    `-A ${OUTPUT_CHAIN} -m owner --uid-owner ${opts.uid} -j RETURN`,
    `-A ${OUTPUT_CHAIN} -m owner --gid-owner ${opts.gid} -j RETURN`,
    `-A ${OUTPUT_CHAIN} -d ${loopback} -j RETURN`,
    ...excludedCidrs.map((c) => `-A ${OUTPUT_CHAIN} -d ${c} -j RETURN`),
    ...uniqueSorted(opts.excludePorts).map((p) => `-A ${OUTPUT_CHAIN} -p tcp -m tcp --dport ${p} -j RETURN`),
    ...(opts.includePorts === 'all'
      ? [`-A ${OUTPUT_CHAIN} -p tcp -j ${REDIRECT_CHAIN}`]
      : uniqueSorted(opts.includePorts)
          .filter((p) => !exclusions.has(p))
          .map((p) => `-A ${OUTPUT_CHAIN} -p tcp -m tcp --dport ${p} -j ${REDIRECT_CHAIN}`)),
    'COMMIT',
  ];
  // Rules are written as iptables-save prints them (`-m tcp` spelled out) so a saved table can be
  // compared line by line with what we generated.
  return lines.join('\n') + '\n';
}

function splitCidrsByFamily(cidrs: string[]): { v4: string[]; v6: string[] } {
  const v4: string[] = [];
  const v6: string[] = [];
  for (const raw of cidrs) {
    const cidr = raw.trim();
    const [address, prefix, ...extra] = cidr.split('/');
    const family = isIPv4(address ?? '') ? 4 : isIPv6(address ?? '') ? 6 : 0;
    const maxPrefix = family === 4 ? 32 : 128;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= maxPrefix);
    if (family === 0 || extra.length > 0 || !prefixOk) {
      throw new RedirectRuleError(`exclude CIDR "${raw}" is not an IPv4 or IPv6 address or range`);
    }
    const normalized = prefix === undefined ? `${address}/${maxPrefix}` : cidr;
    (family === 4 ? v4 : v6).push(normalized);
  }
  return { v4: [...new Set(v4)], v6: [...new Set(v6)] };
}

function uniqueSorted(ports: number[]): number[] {
  return [...new Set(ports)].sort((a, b) => a - b);
}

function validatePort(what: string, port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RedirectRuleError(`${what} ${port} is not a TCP port (1-65535)`);
  }
}

function validateId(what: string, id: number): void {
  if (!Number.isInteger(id) || id < 0 || id > 0xfffffffe) {
    throw new RedirectRuleError(`${what} ${id} is not a valid numeric id`);
  }
}
