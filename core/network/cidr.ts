// IPv4/IPv6 CIDR validation and matching, shared by the webhook (excluded ranges) and the policy's
// egress rules. node:net's parsers and BlockList are pure: no I/O.
import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** A bare address becomes a /32 or /128 so the init container only ever sees address/prefix. */
export function normaliseCidr(value: string): string | undefined {
  const slash = value.indexOf('/');
  const address = slash === -1 ? value : value.slice(0, slash);
  const prefixText = slash === -1 ? undefined : value.slice(slash + 1);
  const max = isIPv4(address) ? 32 : isIPv6(address) ? 128 : -1;
  if (max < 0) return undefined;
  if (prefixText === undefined) return `${address}/${max}`;
  return /^[0-9]{1,3}$/.test(prefixText) && Number(prefixText) <= max ? value : undefined;
}

/**
 * A set of ranges answering "is this address inside?". IPv4-mapped IPv6 addresses
 * (::ffff:10.0.0.1) count as their IPv4 address, as the kernel reports them on dual-stack sockets.
 * Throws on a range normaliseCidr rejects (callers validate first).
 */
export class AddressRanges {
  private readonly list = new BlockList();

  constructor(cidrs: readonly string[]) {
    for (const raw of cidrs) {
      const cidr = normaliseCidr(raw);
      if (!cidr) throw new Error(`"${raw}" is not an IPv4 or IPv6 address or range`);
      const [address, prefix] = cidr.split('/') as [string, string];
      this.list.addSubnet(address, Number(prefix), isIPv4(address) ? 'ipv4' : 'ipv6');
    }
  }

  has(address: string): boolean {
    const plain = address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
    if (isIPv4(plain)) return this.list.check(plain, 'ipv4');
    if (isIPv6(plain)) return this.list.check(plain, 'ipv6');
    return false;
  }
}
