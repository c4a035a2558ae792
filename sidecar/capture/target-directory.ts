// Which policy target is at an address? The capture listener only learns the IP and port the
// client dialled; policies name targets by host name or address. This directory resolves every
// target's host (all A/AAAA records) and answers by address, refreshing periodically so a
// target whose address changes is still recognised. An address no target resolves to is unknown:
// it follows the policy's egress section. A failed resolution keeps the target's last known
// addresses, and a target never resolved is reported by port: while its address is unknown, a
// connection to that port might be to it, so egress must not relay it (fail closed).
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import type { TargetSpec } from '../../core/vocabulary.js';

export class TargetDirectory {
  private byAddress = new Map<string, TargetSpec>();
  private lastKnown = new Map<TargetSpec, string[]>();
  private unresolved = new Set<number>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly targets: readonly TargetSpec[],
    private readonly resolve: (host: string) => Promise<string[]> = async (host) => (await lookup(host, { all: true })).map((a) => a.address),
  ) {}

  async refresh(): Promise<void> {
    const next = new Map<string, TargetSpec>();
    const unresolved = new Set<number>();
    for (const t of this.targets) {
      let addresses: string[];
      try {
        addresses = net.isIP(t.host) ? [t.host] : await this.resolve(t.host);
      } catch {
        addresses = [];
      }
      // A lookup that fails or comes back empty must not turn a target into an unknown destination.
      if (addresses.length === 0) addresses = this.lastKnown.get(t) ?? [];
      else this.lastKnown.set(t, addresses);
      if (addresses.length === 0) unresolved.add(t.port);
      for (const a of addresses) next.set(key(a, t.port), t);
    }
    this.byAddress = next;
    this.unresolved = unresolved;
  }

  /** Ports of targets whose host has never resolved: their address is not known. */
  unresolvedPorts(): ReadonlySet<number> {
    return this.unresolved;
  }

  /** Re-resolve every `intervalMs` (unref'd: never keeps the process alive). */
  startRefreshing(intervalMs = 30_000): void {
    this.timer = setInterval(() => void this.refresh(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  lookup(host: string, port: number): TargetSpec | undefined {
    return this.byAddress.get(key(host, port));
  }
}

function key(address: string, port: number): string {
  return `${canonicalAddress(address)}|${port}`;
}

/**
 * One spelling per address. A policy may write an IPv6 target as [fd00:0:0::5] while the kernel
 * reports fd00::5; compared as text, the target's own address would become a destination no target
 * names and follow egress (relayed, if a rule lets PostgreSQL through). ::ffff:10.0.0.1 and
 * 10.0.0.1 are the same destination.
 */
export function canonicalAddress(address: string): string {
  if (!net.isIPv6(address)) return address.toLowerCase();
  const v6 = new URL(`http://[${address}]`).hostname.slice(1, -1); // RFC 5952: lower case, longest zero run compressed
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
  if (!mapped) return v6;
  const [hi, lo] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}
