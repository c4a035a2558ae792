// Addresses of this host (in a pod: the pod's): loopback and every interface address. A
// connection from one of them was made inside the pod, so a secret it carries never crossed the
// network; one to one of them stays inside.
import os from 'node:os';
import { AddressRanges } from './cidr.js';

export const LOOPBACK = new AddressRanges(['127.0.0.0/8', '::1/128']);

/** Every interface address, scope ids removed. */
export function interfaceAddresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((i) => i.address.replace(/%.*$/, ''));
}

/** IPv4-mapped IPv6 (`::ffff:10.0.0.1`) as its IPv4 address. */
export function unmappedAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** Whether `address` is loopback or one of this host's interface addresses. */
export function isOwnAddress(address: string | undefined, localAddresses: () => Iterable<string> = interfaceAddresses): boolean {
  if (!address) return false;
  const plain = unmappedAddress(address).toLowerCase();
  if (LOOPBACK.has(plain)) return true;
  for (const a of localAddresses()) if (unmappedAddress(a).toLowerCase() === plain) return true;
  return false;
}
