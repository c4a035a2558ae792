// The primitive encodings of the MySQL client/server protocol (little-endian integers,
// length-encoded integers and strings, NUL-terminated strings): a bounds-checked cursor to read
// them and a builder to write them. Every packet codec of this adapter is built on these two.
// mysql2's Packet class does the reading for a client that consumes; a proxy needs its reads to
// throw on every overrun (a malformed packet closes one connection, never the process) and its
// writes to be byte-exact, so these are our own.

/** A packet that does not parse. The message names the field and is safe to show a client. */
export class MalformedPacket extends Error {
  override readonly name: string = 'MalformedPacket';
}

/** A length-encoded integer's first byte that announces NULL (in text rows). */
export const LENENC_NULL = 0xfb;

/** A cursor over one packet's payload. Reads advance `offset`; none reads past the end. */
export class PacketReader {
  offset: number;

  constructor(
    readonly buffer: Buffer,
    offset = 0,
  ) {
    this.offset = offset;
  }

  get remaining(): number {
    return this.buffer.length - this.offset;
  }

  atEnd(): boolean {
    return this.offset >= this.buffer.length;
  }

  /** The next byte without consuming it, or undefined at the end. */
  peek(): number | undefined {
    return this.buffer[this.offset];
  }

  private need(n: number, what: string): void {
    if (n > this.remaining) {
      throw new MalformedPacket(`truncated packet: ${what} needs ${n} byte(s), ${Math.max(0, this.remaining)} left`);
    }
  }

  int1(what = 'int<1>'): number {
    this.need(1, what);
    return this.buffer[this.offset++]!;
  }

  int2(what = 'int<2>'): number {
    this.need(2, what);
    const v = this.buffer.readUInt16LE(this.offset);
    this.offset += 2;
    return v;
  }

  int3(what = 'int<3>'): number {
    this.need(3, what);
    const v = this.buffer.readUIntLE(this.offset, 3);
    this.offset += 3;
    return v;
  }

  int4(what = 'int<4>'): number {
    this.need(4, what);
    const v = this.buffer.readUInt32LE(this.offset);
    this.offset += 4;
    return v;
  }

  int8(what = 'int<8>'): bigint {
    this.need(8, what);
    const v = this.buffer.readBigUInt64LE(this.offset);
    this.offset += 8;
    return v;
  }

  /** A length-encoded integer as a bigint; throws on the NULL (0xFB) and undefined (0xFF) prefixes. */
  lenencBigInt(what = 'length-encoded integer'): bigint {
    const first = this.int1(what);
    if (first < 0xfb) return BigInt(first);
    if (first === 0xfc) return BigInt(this.int2(what));
    if (first === 0xfd) return BigInt(this.int3(what));
    if (first === 0xfe) return this.int8(what);
    throw new MalformedPacket(`invalid ${what}: prefix 0x${first.toString(16)}`);
  }

  /** A length-encoded integer that must fit a JS number exactly (lengths, counts). */
  lenencInt(what = 'length-encoded integer'): number {
    const v = this.lenencBigInt(what);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new MalformedPacket(`${what} too large: ${v}`);
    return Number(v);
  }

  /** A length-encoded string's bytes (a view into the packet). */
  lenencBytes(what = 'length-encoded string'): Buffer {
    const n = this.lenencInt(`${what} length`);
    return this.bytes(n, what);
  }

  /** A length-encoded string or NULL (0xFB), as in text rows. */
  lenencBytesOrNull(what = 'length-encoded string'): Buffer | null {
    if (this.peek() === LENENC_NULL) {
      this.offset++;
      return null;
    }
    return this.lenencBytes(what);
  }

  lenencString(what = 'length-encoded string'): string {
    return this.lenencBytes(what).toString('utf8');
  }

  /** Bytes up to (not including) the next NUL, which is consumed; throws when there is none. */
  nulBytes(what = 'NUL-terminated string'): Buffer {
    const end = this.buffer.indexOf(0, this.offset);
    if (end < 0) throw new MalformedPacket(`truncated packet: ${what} has no terminating NUL`);
    const v = this.buffer.subarray(this.offset, end);
    this.offset = end + 1;
    return v;
  }

  nulString(what = 'NUL-terminated string'): string {
    return this.nulBytes(what).toString('utf8');
  }

  /** Exactly `n` bytes (a view into the packet). */
  bytes(n: number, what = 'fixed-length field'): Buffer {
    if (!Number.isInteger(n) || n < 0) throw new MalformedPacket(`invalid length ${n} for ${what}`);
    this.need(n, what);
    const v = this.buffer.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  skip(n: number, what = 'filler'): void {
    this.bytes(n, what);
  }

  /** Everything left in the packet (a view). */
  rest(): Buffer {
    const v = this.buffer.subarray(this.offset);
    this.offset = this.buffer.length;
    return v;
  }

  /** Throws when bytes remain: a packet with trailing garbage is malformed, not ignored. */
  expectEnd(what: string): void {
    if (!this.atEnd()) throw new MalformedPacket(`${what}: ${this.remaining} unexpected trailing byte(s)`);
  }
}

/** The bytes of a length-encoded integer. */
export function lenencInt(value: number | bigint): Buffer {
  const v = BigInt(value);
  if (v < 0n) throw new RangeError(`length-encoded integer cannot be negative: ${v}`);
  if (v < 0xfbn) return Buffer.from([Number(v)]);
  if (v <= 0xffffn) {
    const b = Buffer.allocUnsafe(3);
    b[0] = 0xfc;
    b.writeUInt16LE(Number(v), 1);
    return b;
  }
  if (v <= 0xffffffn) {
    const b = Buffer.allocUnsafe(4);
    b[0] = 0xfd;
    b.writeUIntLE(Number(v), 1, 3);
    return b;
  }
  if (v > 0xffffffffffffffffn) throw new RangeError(`length-encoded integer too large: ${v}`);
  const b = Buffer.allocUnsafe(9);
  b[0] = 0xfe;
  b.writeBigUInt64LE(v, 1);
  return b;
}

/** The bytes of a length-encoded string (strings are written as UTF-8). */
export function lenencString(value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([lenencInt(bytes.length), bytes]);
}

/** Builds one payload from primitive encodings, in order. */
export class PacketWriter {
  private readonly parts: Buffer[] = [];
  private size = 0;

  get length(): number {
    return this.size;
  }

  bytes(b: Buffer | Uint8Array): this {
    const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    this.parts.push(buf);
    this.size += buf.length;
    return this;
  }

  int1(v: number): this {
    return this.bytes(Buffer.from([v & 0xff]));
  }

  int2(v: number): this {
    const b = Buffer.allocUnsafe(2);
    b.writeUInt16LE(v & 0xffff);
    return this.bytes(b);
  }

  int3(v: number): this {
    const b = Buffer.allocUnsafe(3);
    b.writeUIntLE(v & 0xffffff, 0, 3);
    return this.bytes(b);
  }

  int4(v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(v >>> 0);
    return this.bytes(b);
  }

  int8(v: bigint): this {
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64LE(BigInt.asUintN(64, v));
    return this.bytes(b);
  }

  lenencInt(v: number | bigint): this {
    return this.bytes(lenencInt(v));
  }

  lenencString(v: Buffer | string): this {
    return this.bytes(lenencString(v));
  }

  /** A NUL-terminated string; refuses a value holding a NUL, which would end it early. */
  nulString(v: Buffer | string): this {
    const bytes = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    if (bytes.includes(0)) throw new RangeError('a NUL-terminated string cannot contain NUL');
    return this.bytes(bytes).int1(0);
  }

  zeros(n: number): this {
    return this.bytes(Buffer.alloc(n));
  }

  build(): Buffer {
    return this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
  }
}
