// IPv4/IPv6 CIDR validation for excluded ranges (node:net's parsers are pure, no I/O).
import { isIPv4, isIPv6 } from 'node:net';

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
