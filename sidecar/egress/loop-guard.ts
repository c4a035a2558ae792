// Destinations the egress relay must never connect to: the pod's loopback and unspecified
// addresses (any port), and the sidecar's own ports on any address of the pod. Relaying there
// would hand a runner the sidecar's capture, listener or admin ports from the sidecar's own uid —
// which the redirect rules exempt — or loop a connection back into capture.
import { AddressRanges } from '../../core/network/cidr.js';
import { interfaceAddresses, unmappedAddress as unmapped } from '../../core/network/own-address.js';

const LOOPBACK = new AddressRanges(['127.0.0.0/8', '0.0.0.0/8', '::1/128', '::/128']);

export class LoopGuard {
  constructor(
    /** The sidecar's bound ports (capture, listeners, admin), asked at each decision. */
    private readonly ownPorts: () => Iterable<number>,
    /** The pod's own addresses; default: every interface address. */
    private readonly localAddresses: () => Iterable<string> = interfaceAddresses,
  ) {}

  isLoop(host: string, port: number): boolean {
    if (LOOPBACK.has(host)) return true;
    if (![...this.ownPorts()].includes(port)) return false;
    const plain = unmapped(host).toLowerCase();
    for (const a of this.localAddresses()) if (unmapped(a).toLowerCase() === plain) return true;
    return false;
  }
}
