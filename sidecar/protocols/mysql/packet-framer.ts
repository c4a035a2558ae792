// MySQL packet framing: a 4-byte header (payload length int<3>, sequence id int<1>) before each
// payload, payloads of 0xFFFFFF bytes or more split into continuation packets. No I/O: callers
// push the bytes they read and write the buffers they get. Our own because mysql2's
// packet_parser is bound to its connection and has no size bound checked before buffering.
import { MalformedPacket } from './wire-reader.js';

/** The largest payload one physical packet carries; a packet this long continues in the next. */
export const MAX_PHYSICAL_PAYLOAD = 0xffffff;
const HEADER = 4;

/** A logical packet whose payload (continuations included) exceeds the framer's bound. */
export class PacketTooLarge extends MalformedPacket {
  override readonly name = 'PacketTooLarge';
  constructor(
    readonly limit: number,
    readonly announced: number,
  ) {
    super(`packet of at least ${announced} bytes exceeds the ${limit}-byte limit`);
  }
}

/** One logical packet. Views into pushed chunks where possible: do not mutate. */
export interface Packet {
  /** The sequence id of its first physical packet. */
  sequenceId: number;
  /** The id the next packet in this exchange carries (after the last continuation). */
  nextSequenceId: number;
  /** The joined payload. */
  payload: Buffer;
  /** The physical packets exactly as received, headers included: one unless the payload was split. */
  raw: Buffer[];
}

/**
 * Splits a byte stream into logical packets. The framer keeps references to pushed chunks, so
 * never reuse a chunk's memory. The size bound is checked on each header, before its body is
 * waited for, so an oversize packet is refused on the first 4 bytes that announce it.
 */
export class PacketFramer {
  readonly maxPacketBytes: number;
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  /** Physical packets of a logical packet still waiting for its last continuation. */
  private pending: { sequenceId: number; lastSequenceId: number; payloads: Buffer[]; raws: Buffer[]; size: number } | null = null;

  constructor(opts: { maxPacketBytes: number }) {
    if (!(opts.maxPacketBytes > 0)) throw new RangeError('maxPacketBytes must be positive');
    this.maxPacketBytes = opts.maxPacketBytes;
  }

  /** Bytes received and not yet returned as part of a complete packet. */
  get buffered(): number {
    return this.bufferedBytes + (this.pending?.raws.reduce((n, b) => n + b.length, 0) ?? 0);
  }

  /** Feeds bytes in; returns every logical packet they complete, in order. */
  push(chunk: Buffer): Packet[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.bufferedBytes += chunk.length;
    }
    const out: Packet[] = [];
    for (;;) {
      const packet = this.nextPacket();
      if (!packet) return out;
      out.push(packet);
    }
  }

  /**
   * Hands over the bytes received past the last complete packet and empties the framer: for a
   * TLS upgrade (nothing may follow an SSLRequest in clear) or to pass a socket on. Throws when a
   * split packet is half-read, since its bytes cannot be handed over as a unit.
   */
  takeBuffered(): Buffer {
    if (this.pending) throw new MalformedPacket('a split packet is incomplete');
    const rest = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.bufferedBytes);
    this.chunks = [];
    this.bufferedBytes = 0;
    return rest;
  }

  private nextPacket(): Packet | null {
    for (;;) {
      if (this.bufferedBytes < HEADER) return null;
      const header = this.peek(HEADER);
      const length = header.readUIntLE(0, 3);
      const sequenceId = header[3]!;
      const already = this.pending?.size ?? 0;
      if (already + length > this.maxPacketBytes) throw new PacketTooLarge(this.maxPacketBytes, already + length);
      if (this.pending && sequenceId !== ((this.pending.lastSequenceId + 1) & 0xff)) {
        throw new MalformedPacket(`continuation packet out of sequence: expected ${(this.pending.lastSequenceId + 1) & 0xff}, got ${sequenceId}`);
      }
      if (this.bufferedBytes < HEADER + length) return null;
      const raw = this.take(HEADER + length);
      const payload = raw.subarray(HEADER);
      if (length < MAX_PHYSICAL_PAYLOAD && !this.pending) {
        return { sequenceId, nextSequenceId: (sequenceId + 1) & 0xff, payload, raw: [raw] };
      }
      const p = (this.pending ??= { sequenceId, lastSequenceId: sequenceId, payloads: [], raws: [], size: 0 });
      p.lastSequenceId = sequenceId;
      p.payloads.push(payload);
      p.raws.push(raw);
      p.size += length;
      if (length === MAX_PHYSICAL_PAYLOAD) continue;
      this.pending = null;
      return {
        sequenceId: p.sequenceId,
        nextSequenceId: (p.lastSequenceId + 1) & 0xff,
        payload: Buffer.concat(p.payloads, p.size),
        raw: p.raws,
      };
    }
  }

  /** The first n buffered bytes without consuming them (copied only if they straddle chunks). */
  private peek(n: number): Buffer {
    const head = this.chunks[0]!;
    if (head.length >= n) return head;
    return Buffer.concat(this.chunks, n);
  }

  /** Consumes n buffered bytes: a view when they lie in one chunk, else one copy. */
  private take(n: number): Buffer {
    this.bufferedBytes -= n;
    const head = this.chunks[0]!;
    if (head.length > n) {
      this.chunks[0] = head.subarray(n);
      return head.subarray(0, n);
    }
    if (head.length === n) {
      this.chunks.shift();
      return head;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const want = n - filled;
      if (c.length <= want) {
        c.copy(out, filled);
        filled += c.length;
        this.chunks.shift();
      } else {
        c.copy(out, filled, 0, want);
        this.chunks[0] = c.subarray(want);
        filled += want;
      }
    }
    return out;
  }
}

/**
 * Frames one logical payload for writing, starting at `sequenceId`: split into 0xFFFFFF-byte
 * packets, with a trailing empty packet when the length is an exact multiple of 0xFFFFFF (so the
 * reader knows the payload ended). `nextSequenceId` is what the following packet must carry.
 */
export function framePacket(sequenceId: number, payload: Buffer): { bytes: Buffer; nextSequenceId: number } {
  if (!Number.isInteger(sequenceId) || sequenceId < 0 || sequenceId > 0xff) throw new RangeError(`invalid sequence id ${sequenceId}`);
  let seq = sequenceId;
  if (payload.length < MAX_PHYSICAL_PAYLOAD) {
    const bytes = Buffer.allocUnsafe(HEADER + payload.length);
    bytes.writeUIntLE(payload.length, 0, 3);
    bytes[3] = seq;
    payload.copy(bytes, HEADER);
    return { bytes, nextSequenceId: (seq + 1) & 0xff };
  }
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const len = Math.min(MAX_PHYSICAL_PAYLOAD, payload.length - offset);
    const header = Buffer.allocUnsafe(HEADER);
    header.writeUIntLE(len, 0, 3);
    header[3] = seq;
    parts.push(header, payload.subarray(offset, offset + len));
    seq = (seq + 1) & 0xff;
    offset += len;
    if (len < MAX_PHYSICAL_PAYLOAD) break;
  }
  return { bytes: Buffer.concat(parts), nextSequenceId: seq };
}
