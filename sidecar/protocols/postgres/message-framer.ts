// Framing of the PostgreSQL v3 wire protocol: turning a byte stream into typed messages, reading
// the untyped startup-phase packets, and the small body reader/builder every codec shares.
//
// The proxy forwards most messages byte for byte, so a frame is only views (`subarray`) into the
// chunks it was fed: nothing is copied or decoded unless a message straddles two chunks. No I/O
// here: callers push the bytes they read and write the buffers they get.
import { isUtf8 } from 'node:buffer';

/** Why a byte stream could not be understood. Messages are safe to show a client. */
export type ProtocolErrorCode =
  | 'message-too-large'
  | 'truncated'
  | 'bad-length'
  | 'unsupported-protocol'
  | 'malformed'
  | 'unexpected-message'
  /** A string that is not valid UTF-8 (what sidegate inspects must be what the server parses). */
  | 'invalid-encoding';

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** One typed message. `body` and `raw` are views into the pushed chunks: do not mutate them. */
export interface Frame {
  /** The type byte ('Q' = 0x51 …). */
  code: number;
  /** The length field: body length + 4. */
  length: number;
  /** The message without its 5-byte header. */
  body: Buffer;
  /** The whole message, header included, ready to forward. */
  raw: Buffer;
}

export const DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024;
const HEADER_SIZE = 5;

/**
 * Splits a stream into messages. `push` chunks as they arrive (the framer keeps references to
 * them, so never reuse a chunk's memory), then call `next()` until it returns null, or iterate.
 */
export class MessageFramer implements Iterable<Frame> {
  private readonly maxMessageSize: number;
  /** Unconsumed chunks; `offset` is the read position inside `chunks[0]`. */
  private chunks: Buffer[] = [];
  private offset = 0;
  private bufferedBytes = 0;

  /** `maxMessageSize` bounds one whole message (type byte + length field + body) in bytes. */
  constructor(opts: { maxMessageSize?: number } = {}) {
    this.maxMessageSize = opts.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  }

  /** Bytes received but not yet returned as a frame. */
  get buffered(): number {
    return this.bufferedBytes;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
  }

  /** The next complete message, or null when more bytes are needed. */
  next(): Frame | null {
    if (this.bufferedBytes < HEADER_SIZE) return null;
    const head = this.chunks[0]!;
    const { code, length } = this.peekHeader(head);
    if (length < 4) throw new ProtocolError('bad-length', `invalid message length ${length}`);
    const total = length + 1;
    // Checked before waiting for the body, so an oversize message is refused on its header.
    if (total > this.maxMessageSize) {
      throw new ProtocolError('message-too-large', `message of ${total} bytes exceeds the limit of ${this.maxMessageSize}`);
    }
    if (this.bufferedBytes < total) return null;
    let raw: Buffer;
    if (head.length - this.offset >= total) {
      raw = head.subarray(this.offset, this.offset + total);
      this.offset += total;
      this.bufferedBytes -= total;
      if (this.offset === head.length) this.dropHead();
    } else {
      raw = this.copyOut(total);
    }
    return { code, length, body: raw.subarray(HEADER_SIZE), raw };
  }

  *[Symbol.iterator](): Iterator<Frame> {
    for (let f = this.next(); f !== null; f = this.next()) yield f;
  }

  /**
   * Consecutive complete messages of type `code` at the read position, as one view of the chunk
   * they arrived in, for as long as `accept` (given the chunk and each body's range in it) agrees:
   * bulk data such as COPY
   * rows is then forwarded without a Frame per message. Stops before anything else (another
   * type, an incomplete or straddling message, one over the size limit: `next()` deals with
   * those). Null when not even the first message qualifies.
   */
  takeRun(code: number, accept?: (chunk: Buffer, bodyStart: number, bodyEnd: number) => boolean): { raw: Buffer; count: number } | null {
    const head = this.chunks[0];
    if (head === undefined) return null;
    const start = this.offset;
    let pos = start;
    let count = 0;
    while (head.length - pos >= HEADER_SIZE && head[pos] === code) {
      const length = head.readInt32BE(pos + 1);
      const total = length + 1;
      if (length < 4 || total > this.maxMessageSize || head.length - pos < total) break;
      if (accept && !accept(head, pos + HEADER_SIZE, pos + total)) break;
      pos += total;
      count++;
    }
    if (count === 0) return null;
    this.offset = pos;
    this.bufferedBytes -= pos - start;
    if (this.offset === head.length) this.dropHead();
    return { raw: head.subarray(start, pos), count };
  }

  /** Hands back every unconsumed byte (e.g. after startup, to a new owner of the stream). */
  takeRemaining(): Buffer {
    const rest = this.chunks.length === 0 ? Buffer.alloc(0) : this.copyOut(this.bufferedBytes);
    this.chunks = [];
    this.offset = 0;
    this.bufferedBytes = 0;
    return rest;
  }

  /** Call when the stream ended: leftover bytes mean a message was cut off. */
  end(): void {
    if (this.bufferedBytes > 0) throw new ProtocolError('truncated', 'connection ended in the middle of a message');
  }

  private peekHeader(head: Buffer): { code: number; length: number } {
    if (head.length - this.offset >= HEADER_SIZE) {
      return { code: head[this.offset]!, length: head.readInt32BE(this.offset + 1) };
    }
    // The 5 header bytes straddle chunks: gather them without consuming.
    const header = Buffer.allocUnsafe(HEADER_SIZE);
    let filled = 0;
    let pos = this.offset;
    for (const chunk of this.chunks) {
      filled += chunk.copy(header, filled, pos, Math.min(chunk.length, pos + HEADER_SIZE - filled));
      pos = 0;
      if (filled === HEADER_SIZE) break;
    }
    return { code: header[0]!, length: header.readInt32BE(1) };
  }

  /** Copies exactly `size` bytes out of the chunk list (the one copy a straddling message costs). */
  private copyOut(size: number): Buffer {
    const out = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const head = this.chunks[0]!;
      const n = head.copy(out, filled, this.offset, Math.min(head.length, this.offset + size - filled));
      filled += n;
      this.offset += n;
      if (this.offset === head.length) this.dropHead();
    }
    this.bufferedBytes -= size;
    return out;
  }

  private dropHead(): void {
    this.chunks.shift();
    this.offset = 0;
  }
}

// ───────────────────────────── startup-phase packets ─────────────────────────────

/** The server refuses startup packets above this size (PostgreSQL's MAX_STARTUP_PACKET_LENGTH). */
export const MAX_STARTUP_PACKET_SIZE = 10_000;

export const PROTOCOL_VERSION_3_0 = 196608; // 3 << 16
export const SSL_REQUEST_CODE = 80877103; // 1234 << 16 | 5679
export const GSSENC_REQUEST_CODE = 80877104; // 1234 << 16 | 5680
export const CANCEL_REQUEST_CODE = 80877102; // 1234 << 16 | 5678

export type StartupPacket =
  | { kind: 'startup'; protocolVersion: number; params: Record<string, string> }
  | { kind: 'ssl-request' }
  | { kind: 'gssenc-request' }
  | { kind: 'cancel'; processId: number; secretKey: number };

/**
 * Reads one untyped packet (int32 length, int32 code, payload) from the start of `buffer`.
 * Returns null while the packet is incomplete; the caller consumes `buffer.readInt32BE(0)` bytes.
 * Any 3.x minor version is accepted (the server would answer a newer minor with
 * NegotiateProtocolVersion); other major versions are refused.
 */
export function readStartupPacket(buffer: Buffer): StartupPacket | null {
  if (buffer.length < 4) return null;
  const length = buffer.readInt32BE(0);
  if (length < 8 || length > MAX_STARTUP_PACKET_SIZE) {
    throw new ProtocolError('bad-length', `invalid startup packet length ${length}`);
  }
  if (buffer.length < length) return null;
  const code = buffer.readInt32BE(4);
  switch (code) {
    case SSL_REQUEST_CODE:
      expectLength(length, 8, 'SSLRequest');
      return { kind: 'ssl-request' };
    case GSSENC_REQUEST_CODE:
      expectLength(length, 8, 'GSSENCRequest');
      return { kind: 'gssenc-request' };
    case CANCEL_REQUEST_CODE:
      expectLength(length, 16, 'CancelRequest');
      return { kind: 'cancel', processId: buffer.readInt32BE(8), secretKey: buffer.readInt32BE(12) };
  }
  if (code >>> 16 !== 3) {
    throw new ProtocolError('unsupported-protocol', `unsupported frontend protocol ${code >>> 16}.${code & 0xffff}`);
  }
  return { kind: 'startup', protocolVersion: code, params: readStartupParams(buffer.subarray(8, length)) };
}

function expectLength(actual: number, expected: number, what: string): void {
  if (actual !== expected) throw new ProtocolError('bad-length', `invalid ${what} length ${actual}`);
}

/** name\0value\0 … \0 — the final empty name is mandatory, as the server insists. */
function readStartupParams(payload: Buffer): Record<string, string> {
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  const reader = new BodyReader(payload);
  for (;;) {
    const name = reader.cstring();
    if (name === '') break;
    params[name] = reader.cstring();
  }
  if (!reader.done) throw new ProtocolError('malformed', 'startup packet has bytes after its terminator');
  return params;
}

// ───────────────────────────── body reading and building ─────────────────────────────

/** A cursor over one message body. Every read is bounds-checked; strings decode as UTF-8. */
export class BodyReader {
  private pos = 0;
  constructor(private readonly body: Buffer) {}

  get done(): boolean {
    return this.pos === this.body.length;
  }

  get remaining(): number {
    return this.body.length - this.pos;
  }

  byte(): number {
    this.need(1);
    return this.body[this.pos++]!;
  }

  int16(): number {
    this.need(2);
    const v = this.body.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.body.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint32(): number {
    this.need(4);
    const v = this.body.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /**
   * A NUL-terminated string, strictly UTF-8: a replacement character would let sidegate read
   * other text than the server (pinned to UTF8) parses, so invalid bytes are a protocol error.
   */
  cstring(): string {
    const end = this.body.indexOf(0, this.pos);
    if (end === -1) throw new ProtocolError('truncated', 'string is missing its terminator');
    const s = this.body.toString('utf8', this.pos, end);
    // Invalid bytes always decode to U+FFFD, so only text holding one is validated (fast path
    // for the rest; a one-byte V8 string cannot hold it).
    if (s.includes('\uFFFD') && !isUtf8(this.body.subarray(this.pos, end))) {
      throw new ProtocolError('invalid-encoding', 'invalid byte sequence for encoding "UTF8"');
    }
    this.pos = end + 1;
    return s;
  }

  /** `n` bytes as a view. */
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.body.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** int32 length (-1 = NULL) followed by that many bytes, as a view. */
  lengthPrefixed(): Buffer | null {
    const n = this.int32();
    if (n === -1) return null;
    if (n < 0) throw new ProtocolError('malformed', `invalid value length ${n}`);
    return this.bytes(n);
  }

  /** Everything not read yet, as a view. */
  rest(): Buffer {
    const v = this.body.subarray(this.pos);
    this.pos = this.body.length;
    return v;
  }

  /** Int16 count followed by that many int16 values (format codes). */
  int16Array(): number[] {
    const n = this.count();
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = this.int16();
    return out;
  }

  /** A non-negative int16 count. */
  count(): number {
    const n = this.int16();
    if (n < 0) throw new ProtocolError('malformed', `invalid count ${n}`);
    return n;
  }

  expectEnd(what: string): void {
    if (!this.done) throw new ProtocolError('malformed', `${what} has ${this.remaining} unexpected trailing bytes`);
  }

  private need(n: number): void {
    if (this.pos + n > this.body.length) throw new ProtocolError('truncated', 'message body is shorter than its contents');
  }
}

type Part = { kind: 'bytes'; value: Buffer } | { kind: 'int16' | 'int32'; value: number };

/**
 * Builds one message: parts are collected, then written into a single allocation with the
 * header in front. `code` null builds an untyped (startup-phase) packet.
 */
export class MessageBuilder {
  private readonly parts: Part[] = [];
  private size = 0;

  constructor(private readonly code: number | null) {}

  byte(v: number): this {
    return this.bytes(Buffer.of(v));
  }

  int16(v: number): this {
    this.parts.push({ kind: 'int16', value: v });
    this.size += 2;
    return this;
  }

  int32(v: number): this {
    this.parts.push({ kind: 'int32', value: v });
    this.size += 4;
    return this;
  }

  /** A NUL-terminated UTF-8 string; an embedded NUL would split the message, so it is refused. */
  cstring(s: string): this {
    if (s.includes('\0')) throw new ProtocolError('malformed', 'string contains a NUL byte');
    this.bytes(Buffer.from(s, 'utf8'));
    return this.bytes(NUL);
  }

  bytes(b: Buffer): this {
    this.parts.push({ kind: 'bytes', value: b });
    this.size += b.length;
    return this;
  }

  /** int32 length (or -1 for null) then the bytes. */
  lengthPrefixed(b: Buffer | null): this {
    if (b === null) return this.int32(-1);
    return this.int32(b.length).bytes(b);
  }

  build(): Buffer {
    const headerSize = this.code === null ? 4 : 5;
    const out = Buffer.allocUnsafe(headerSize + this.size);
    let pos = 0;
    if (this.code !== null) out[pos++] = this.code;
    out.writeInt32BE(this.size + 4, pos);
    pos += 4;
    for (const part of this.parts) {
      if (part.kind === 'bytes') pos += part.value.copy(out, pos);
      else if (part.kind === 'int16') pos = out.writeInt16BE(part.value, pos);
      else pos = out.writeInt32BE(part.value, pos);
    }
    return out;
  }
}

const NUL = Buffer.of(0);

/** A message whose body is empty (Sync, Flush, ParseComplete, …). */
export function emptyMessage(code: number): Buffer {
  const out = Buffer.allocUnsafe(5);
  out[0] = code;
  out.writeInt32BE(4, 1);
  return out;
}
