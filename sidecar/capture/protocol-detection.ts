// Which protocol a captured client speaks, decided from the first bytes it sends. Pure and bounded:
// the caller feeds what it has read so far and reads more while `needMore` is true (up to its own
// byte and time limits). Server-first protocols (MySQL: the client waits for the server's greeting)
// send nothing; the transparent listener decides those from the destination after a short wait.
//
// Each protocol adapter recognises its own opening (ProtocolAdapter.detect, passed in by the
// runtime from the registry) and is asked first. Recognised here, for the egress record:
//   ssh       identification string "SSH-2.0-" (or the compatibility "SSH-1.99-")
//   http      HTTP/1.x request line, or the HTTP/2 prior-knowledge preface
//   tls       a handshake record carrying a ClientHello; SNI extracted when present

import type { CapturedProtocol, Protocol } from '../../core/vocabulary.js';

/** An adapter's protocol, or what egress records of an opening no adapter claims. */
export type DetectedProtocol = CapturedProtocol;

/** What an adapter says of the bytes a client sent first: its protocol, not, or not yet known. */
export type OpeningVerdict = 'yes' | 'no' | 'more';

export interface OpeningDetector {
  readonly protocol: Protocol;
  detect(opening: Buffer): OpeningVerdict;
  /**
   * ALPN ids its clients offer when they open with TLS directly (PostgreSQL 17's
   * sslnegotiation=direct sends "postgresql" and no SSLRequest): such a TLS opening is this protocol.
   */
  readonly tlsAlpn?: readonly string[];
}

export interface ProtocolDetection {
  protocol: DetectedProtocol;
  /** TLS server_name (lower-cased), when the ClientHello carries a valid one. */
  sni?: string;
  /**
   * A TLS opening whose ALPN offers an adapter's protocol (its `tlsAlpn`): that protocol spoken
   * over direct TLS. sidegate cannot inspect it, so egress decides it as that protocol, never as TLS.
   */
  tlsFor?: Protocol;
  /** True when the bytes so far are a prefix of something recognisable: read more, then ask again. */
  needMore: boolean;
}

/** A ClientHello is accepted up to this many handshake bytes; longer ones are TLS without SNI. */
export const MAX_CLIENT_HELLO_BYTES = 16 * 1024;
/** HTTP request lines longer than this are not considered HTTP. */
export const MAX_REQUEST_LINE_BYTES = 8 * 1024;

const SSH_PREFIXES = ['SSH-2.0-', 'SSH-1.99-'];
const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'PRI'];

const UNKNOWN: ProtocolDetection = { protocol: 'unknown', needMore: false };
const NEED_MORE: ProtocolDetection = { protocol: 'unknown', needMore: true };

/** The adapters' detectors first (the first to say yes names it), then the openings egress records. */
export function detectProtocol(bytes: Uint8Array, adapters: readonly OpeningDetector[] = []): ProtocolDetection {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (data.length === 0) return NEED_MORE;
  let adapterWantsMore = false;
  for (const adapter of adapters) {
    const verdict = adapter.detect(data);
    if (verdict === 'yes') return { protocol: adapter.protocol, needMore: false };
    if (verdict === 'more') adapterWantsMore = true;
  }
  const found = detectOther(data);
  if (found.protocol === 'tls' && found.alpn) {
    const offered = found.alpn;
    const direct = adapters.find((a) => a.tlsAlpn?.some((id) => offered.includes(id)));
    const { alpn: _alpn, ...rest } = found;
    return direct ? { ...rest, tlsFor: direct.protocol } : rest;
  }
  return found.protocol === 'unknown' && !found.needMore && adapterWantsMore ? NEED_MORE : found;
}

/** What the TLS reading adds before the adapters' ALPN ids are compared. */
type OtherDetection = ProtocolDetection & { alpn?: string[] };

function detectOther(data: Buffer): OtherDetection {
  const first = data[0]!;
  if (first === 0x16) return detectTls(data);
  if (first === 0x53 /* S */) return detectSsh(data);
  if (first >= 0x41 && first <= 0x5a) return detectHttp(data);
  return UNKNOWN;
}

function detectSsh(data: Buffer): ProtocolDetection {
  for (const prefix of SSH_PREFIXES) {
    const n = Math.min(prefix.length, data.length);
    if (data.toString('latin1', 0, n) !== prefix.slice(0, n)) continue;
    return n === prefix.length ? { protocol: 'ssh', needMore: false } : NEED_MORE;
  }
  return UNKNOWN;
}

function detectHttp(data: Buffer): ProtocolDetection {
  const head = data.toString('latin1', 0, Math.min(data.length, MAX_REQUEST_LINE_BYTES + 2));
  const space = head.indexOf(' ');
  const method = space < 0 ? head : head.slice(0, space);
  if (space < 0) {
    // Still inside the method token: only worth waiting for if it can become a known method.
    return HTTP_METHODS.some((m) => m.startsWith(method)) && method.length < 8 ? NEED_MORE : UNKNOWN;
  }
  if (!HTTP_METHODS.includes(method)) return UNKNOWN;
  const lineEnd = head.indexOf('\n');
  if (lineEnd < 0) return data.length > MAX_REQUEST_LINE_BYTES ? UNKNOWN : NEED_MORE;
  const line = head.slice(0, lineEnd).replace(/\r$/, '');
  const parts = line.split(' ');
  if (parts.length !== 3 || parts[1]!.length === 0) return UNKNOWN;
  const version = parts[2]!;
  if (method === 'PRI') return version === 'HTTP/2.0' && parts[1] === '*' ? { protocol: 'http', needMore: false } : UNKNOWN;
  return /^HTTP\/1\.[01]$/.test(version) ? { protocol: 'http', needMore: false } : UNKNOWN;
}

// TLS: collect the handshake bytes across records (a large ClientHello, e.g. with post-quantum key
// shares, may span several), then walk the ClientHello to the server_name extension.
function detectTls(data: Buffer): OtherDetection {
  if (data.length < 3) return NEED_MORE;
  if (data[1] !== 0x03 || data[2]! > 0x04) return UNKNOWN;
  const handshake: Buffer[] = [];
  let collected = 0;
  let offset = 0;
  let needed = -1; // total handshake message length once known
  while (needed < 0 || collected < needed) {
    if (offset + 5 > data.length) return NEED_MORE;
    if (data[offset] !== 0x16 || data[offset + 1] !== 0x03) return tlsWithoutSni(offset > 0);
    const recordLength = data.readUInt16BE(offset + 3);
    if (recordLength === 0 || recordLength > 16384 + 2048) return tlsWithoutSni(offset > 0);
    if (offset + 5 + recordLength > data.length) {
      // Decide on the first record's header alone whether this is a ClientHello worth waiting for.
      if (offset === 0 && data.length >= 6 && data[5] !== 0x01) return UNKNOWN;
      return NEED_MORE;
    }
    handshake.push(data.subarray(offset + 5, offset + 5 + recordLength));
    collected += recordLength;
    offset += 5 + recordLength;
    if (needed < 0 && collected >= 4) {
      const msg = Buffer.concat(handshake);
      if (msg[0] !== 0x01) return UNKNOWN; // not a ClientHello
      needed = 4 + msg.readUIntBE(1, 3);
      if (needed > MAX_CLIENT_HELLO_BYTES) return tlsWithoutSni(true);
    }
  }
  const hello = Buffer.concat(handshake).subarray(4, needed);
  const sni = serverNameFromClientHello(hello);
  const alpn = alpnFromClientHello(hello);
  return { protocol: 'tls', needMore: false, ...(sni ? { sni } : {}), ...(alpn ? { alpn } : {}) };
}

function tlsWithoutSni(sawHandshake: boolean): ProtocolDetection {
  return sawHandshake ? { protocol: 'tls', needMore: false } : UNKNOWN;
}

/** One extension's data from a ClientHello body (after the 4-byte handshake header); undefined if absent or malformed. */
function clientHelloExtension(body: Buffer, wanted: number): Buffer | undefined {
  const r = new BoundedReader(body);
  if (!r.skip(2 + 32)) return undefined; // legacy_version, random
  if (!r.skipVector(1)) return undefined; // legacy_session_id
  if (!r.skipVector(2)) return undefined; // cipher_suites
  if (!r.skipVector(1)) return undefined; // legacy_compression_methods
  const extensions = r.vector(2);
  if (!extensions) return undefined;
  const ext = new BoundedReader(extensions);
  while (ext.remaining() >= 4) {
    const type = ext.u16()!;
    const data = ext.vector(2);
    if (!data) return undefined;
    if (type === wanted) return data;
  }
  return undefined;
}

/** The ALPN protocol ids a ClientHello offers (RFC 7301), or undefined when it offers none. */
export function alpnFromClientHello(body: Buffer): string[] | undefined {
  const data = clientHelloExtension(body, 0x0010);
  if (!data) return undefined;
  const list = new BoundedReader(data).vector(2);
  if (!list) return undefined;
  const ids = new BoundedReader(list);
  const out: string[] = [];
  while (ids.remaining() > 0) {
    const id = ids.vector(1);
    if (!id) return undefined;
    out.push(id.toString('latin1'));
  }
  return out.length > 0 ? out : undefined;
}

/** The host_name from a ClientHello body (after the 4-byte handshake header); undefined if absent or malformed. */
export function serverNameFromClientHello(body: Buffer): string | undefined {
  const data = clientHelloExtension(body, 0x0000);
  if (!data) return undefined;
  const list = new BoundedReader(data).vector(2);
  if (!list) return undefined;
  const names = new BoundedReader(list);
  while (names.remaining() >= 3) {
    const nameType = names.u8()!;
    const name = names.vector(2);
    if (!name) return undefined;
    if (nameType === 0) return validHostName(name.toString('latin1'));
  }
  return undefined;
}

function validHostName(name: string): string | undefined {
  // RFC 6066: a DNS hostname, ASCII, no trailing dot; anything else is not used for routing.
  if (name.length === 0 || name.length > 253 || name.endsWith('.')) return undefined;
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(name)) return undefined;
  if (name.split('.').some((label) => label.length > 63)) return undefined;
  return name.toLowerCase();
}

/** A cursor that never reads past its buffer: every read reports failure instead of throwing. */
class BoundedReader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}
  remaining(): number {
    return this.buf.length - this.pos;
  }
  skip(n: number): boolean {
    if (this.remaining() < n) return false;
    this.pos += n;
    return true;
  }
  u8(): number | undefined {
    return this.remaining() >= 1 ? this.buf[this.pos++] : undefined;
  }
  u16(): number | undefined {
    if (this.remaining() < 2) return undefined;
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  vector(lengthBytes: 1 | 2): Buffer | undefined {
    const n = lengthBytes === 1 ? this.u8() : this.u16();
    if (n === undefined || this.remaining() < n) return undefined;
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  skipVector(lengthBytes: 1 | 2): boolean {
    return this.vector(lengthBytes) !== undefined;
  }
}
