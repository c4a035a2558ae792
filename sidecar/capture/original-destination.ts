// The destination a client dialled before the pod's REDIRECT rule rewrote it to the capture port.
// Linux keeps it in conntrack and hands it out through getsockopt(SO_ORIGINAL_DST) (IPv4) and
// getsockopt(IP6T_SO_ORIGINAL_DST) (IPv6). Node has no getsockopt, so we call libc's through koffi
// (an FFI package that ships prebuilt binaries in its npm tarball; nothing is compiled at install).
//
// The file descriptor comes from `socket._handle.fd`: an undocumented but long-stable field of
// libuv's TCP wrap on Unix (it is -1 on Windows). Linux only.
import { createRequire } from 'node:module';
import type net from 'node:net';
import { endianness } from 'node:os';

export interface OriginalDestination {
  host: string;
  port: number;
  family: 4 | 6;
}

export class OriginalDestinationError extends Error {
  override name = 'OriginalDestinationError';
}

const SOL_IP = 0;
const SOL_IPV6 = 41;
const SO_ORIGINAL_DST = 80; // linux/netfilter_ipv4.h
const IP6T_SO_ORIGINAL_DST = 80; // linux/netfilter_ipv6/ip6_tables.h
const AF_INET = 2;
const AF_INET6 = 10;
const SOCKADDR_IN6_SIZE = 28; // large enough for sockaddr_in (16) too

type GetSockOpt = (fd: number, level: number, name: number, value: Buffer, length: number[]) => number;

interface Libc {
  getsockopt: GetSockOpt;
}

let libc: Libc | undefined;

// Loaded on first use, not at import: local mode on a laptop (macOS, no koffi binary) imports the
// capture folder but never needs SO_ORIGINAL_DST.
function loadLibc(): Libc {
  if (libc) return libc;
  if (process.platform !== 'linux') {
    throw new OriginalDestinationError(`SO_ORIGINAL_DST needs Linux (this is ${process.platform})`);
  }
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const lib = koffi.load('libc.so.6');
    const getsockopt = lib.func(
      'int getsockopt(int fd, int level, int optname, _Out_ void *optval, _Inout_ uint32_t *optlen)',
    ) as unknown as GetSockOpt;
    libc = { getsockopt };
    return libc;
  } catch (err) {
    throw new OriginalDestinationError(`cannot load libc getsockopt through koffi: ${(err as Error).message}`);
  }
}

/**
 * The pre-REDIRECT destination of an accepted socket, or null when the kernel has none for it
 * (no conntrack entry: the socket was not redirected, or it is already closed). Throws
 * OriginalDestinationError when the platform cannot answer at all.
 */
export function originalDestination(socket: net.Socket): OriginalDestination | null {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return null;
  const { getsockopt } = loadLibc();
  // An AF_INET6 socket carrying IPv4 (v4-mapped, dual-stack listener) keeps its NAT record in the
  // IPv4 table, so try the family the connection actually uses first, then the other one.
  const v6Socket = socket.localAddress !== undefined && socket.localAddress.includes(':') && !socket.localAddress.startsWith('::ffff:');
  const attempts: Array<[number, number]> = v6Socket
    ? [[SOL_IPV6, IP6T_SO_ORIGINAL_DST]]
    : [
        [SOL_IP, SO_ORIGINAL_DST],
        [SOL_IPV6, IP6T_SO_ORIGINAL_DST],
      ];
  for (const [level, name] of attempts) {
    const value = Buffer.alloc(SOCKADDR_IN6_SIZE);
    const length = [SOCKADDR_IN6_SIZE];
    if (getsockopt(fd, level, name, value, length) !== 0) continue;
    const parsed = parseSockaddr(value.subarray(0, Math.min(length[0]!, SOCKADDR_IN6_SIZE)));
    if (parsed) return parsed;
  }
  return null;
}

/** sockaddr_in / sockaddr_in6 as the kernel fills them (family in host order, port big-endian). */
export function parseSockaddr(raw: Buffer): OriginalDestination | null {
  if (raw.length < 2) return null;
  const family = endianness() === 'LE' ? raw.readUInt16LE(0) : raw.readUInt16BE(0);
  if (family === AF_INET && raw.length >= 8) {
    return { host: `${raw[4]}.${raw[5]}.${raw[6]}.${raw[7]}`, port: raw.readUInt16BE(2), family: 4 };
  }
  if (family === AF_INET6 && raw.length >= 24) {
    return { host: formatIPv6(raw.subarray(8, 24)), port: raw.readUInt16BE(2), family: 6 };
  }
  return null;
}

/** RFC 5952 text form (longest run of zero groups compressed), as node prints addresses. */
export function formatIPv6(bytes: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i));
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLength).join(':');
  return `${head}::${tail}`;
}
