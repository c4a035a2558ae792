// Values in the binary protocol (binary result rows and COM_STMT_EXECUTE parameters): how many
// bytes each MYSQL_TYPE_* takes, what they mean, and their text form (what the text protocol
// would show; what an approver reads). A value is kept as its encoded bytes, without the length
// prefix, so a proxy can forward or re-serialize it unchanged and decode only what it inspects.
import {
  MYSQL_TYPE_BIT,
  MYSQL_TYPE_BLOB,
  MYSQL_TYPE_DATE,
  MYSQL_TYPE_DATETIME,
  MYSQL_TYPE_DATETIME2,
  MYSQL_TYPE_DECIMAL,
  MYSQL_TYPE_DOUBLE,
  MYSQL_TYPE_ENUM,
  MYSQL_TYPE_FLOAT,
  MYSQL_TYPE_GEOMETRY,
  MYSQL_TYPE_INT24,
  MYSQL_TYPE_JSON,
  MYSQL_TYPE_LONG,
  MYSQL_TYPE_LONGLONG,
  MYSQL_TYPE_LONG_BLOB,
  MYSQL_TYPE_MEDIUM_BLOB,
  MYSQL_TYPE_NEWDATE,
  MYSQL_TYPE_NEWDECIMAL,
  MYSQL_TYPE_NULL,
  MYSQL_TYPE_SET,
  MYSQL_TYPE_SHORT,
  MYSQL_TYPE_STRING,
  MYSQL_TYPE_TIME,
  MYSQL_TYPE_TIME2,
  MYSQL_TYPE_TIMESTAMP,
  MYSQL_TYPE_TIMESTAMP2,
  MYSQL_TYPE_TINY,
  MYSQL_TYPE_TINY_BLOB,
  MYSQL_TYPE_VARCHAR,
  MYSQL_TYPE_VAR_STRING,
  MYSQL_TYPE_VECTOR,
  MYSQL_TYPE_YEAR,
  columnTypeName,
} from './capabilities.js';
import { MalformedPacket, PacketReader, PacketWriter } from './wire-reader.js';

/** How a type's value is laid out: fixed width, a length byte (dates, times), or length-encoded. */
export type BinaryLayout = { kind: 'fixed'; width: number } | { kind: 'date'; lengths: readonly number[] } | { kind: 'lenenc' };

const DATE_LENGTHS = [0, 4, 7, 11] as const;
const TIME_LENGTHS = [0, 8, 12] as const;

export function binaryLayout(type: number): BinaryLayout {
  switch (type) {
    case MYSQL_TYPE_NULL:
      return { kind: 'fixed', width: 0 };
    case MYSQL_TYPE_TINY:
      return { kind: 'fixed', width: 1 };
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_YEAR:
      return { kind: 'fixed', width: 2 };
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_FLOAT:
      return { kind: 'fixed', width: 4 };
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_DOUBLE:
      return { kind: 'fixed', width: 8 };
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE:
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_DATETIME2:
    case MYSQL_TYPE_TIMESTAMP:
    case MYSQL_TYPE_TIMESTAMP2:
      return { kind: 'date', lengths: DATE_LENGTHS };
    case MYSQL_TYPE_TIME:
    case MYSQL_TYPE_TIME2:
      return { kind: 'date', lengths: TIME_LENGTHS };
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL:
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_VAR_STRING:
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_ENUM:
    case MYSQL_TYPE_SET:
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB:
    case MYSQL_TYPE_GEOMETRY:
    case MYSQL_TYPE_BIT:
    case MYSQL_TYPE_JSON:
    case MYSQL_TYPE_VECTOR:
      return { kind: 'lenenc' };
    default:
      throw new MalformedPacket(`unsupported binary value type ${columnTypeName(type)}`);
  }
}

/** Reads one non-NULL value of `type`: its bytes without the length prefix (a view). */
export function readBinaryValue(r: PacketReader, type: number): Buffer {
  const layout = binaryLayout(type);
  const what = `${columnTypeName(type)} value`;
  if (layout.kind === 'fixed') return r.bytes(layout.width, what);
  if (layout.kind === 'lenenc') return r.lenencBytes(what);
  const length = r.int1(`${what} length`);
  if (!layout.lengths.includes(length)) throw new MalformedPacket(`invalid ${what} length ${length}`);
  return r.bytes(length, what);
}

/** Writes one non-NULL value's bytes (as readBinaryValue returned them) with its length prefix. */
export function writeBinaryValue(w: PacketWriter, type: number, value: Buffer): void {
  const layout = binaryLayout(type);
  if (layout.kind === 'fixed') {
    if (value.length !== layout.width) throw new RangeError(`${columnTypeName(type)} value must be ${layout.width} bytes, got ${value.length}`);
    w.bytes(value);
  } else if (layout.kind === 'lenenc') {
    w.lenencString(value);
  } else {
    if (!layout.lengths.includes(value.length)) throw new RangeError(`invalid ${columnTypeName(type)} value length ${value.length}`);
    w.int1(value.length).bytes(value);
  }
}

/** A decoded value: integers (bigint for 8 bytes), floats, date/time text, or the bytes of strings, decimals, bits, JSON, geometry. */
export type BinaryValue = number | bigint | string | Buffer;

export function decodeBinaryValue(type: number, unsigned: boolean, bytes: Buffer): BinaryValue {
  const layout = binaryLayout(type);
  if (layout.kind === 'lenenc') return bytes;
  if (layout.kind === 'date') return type === MYSQL_TYPE_TIME || type === MYSQL_TYPE_TIME2 ? timeText(bytes) : dateText(type, bytes);
  if (bytes.length !== layout.width) throw new MalformedPacket(`${columnTypeName(type)} value must be ${layout.width} bytes`);
  switch (type) {
    case MYSQL_TYPE_NULL:
      return Buffer.alloc(0);
    case MYSQL_TYPE_TINY:
      return unsigned ? bytes.readUInt8(0) : bytes.readInt8(0);
    case MYSQL_TYPE_SHORT:
      return unsigned ? bytes.readUInt16LE(0) : bytes.readInt16LE(0);
    case MYSQL_TYPE_YEAR:
      return bytes.readUInt16LE(0);
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_INT24:
      return unsigned ? bytes.readUInt32LE(0) : bytes.readInt32LE(0);
    case MYSQL_TYPE_LONGLONG:
      return unsigned ? bytes.readBigUInt64LE(0) : bytes.readBigInt64LE(0);
    case MYSQL_TYPE_FLOAT:
      return bytes.readFloatLE(0);
    default: // MYSQL_TYPE_DOUBLE
      return bytes.readDoubleLE(0);
  }
}

/**
 * The value as text, as the text protocol renders it: numbers in decimal, dates and times in
 * MySQL's format, strings as UTF-8 when they are valid UTF-8, otherwise as a hex literal X'…'.
 */
export function binaryValueText(type: number, unsigned: boolean, bytes: Buffer): string {
  const v = decodeBinaryValue(type, unsigned, bytes);
  if (Buffer.isBuffer(v)) {
    if (type === MYSQL_TYPE_BIT) return `b'${[...v].map((b) => b.toString(2).padStart(8, '0')).join('')}'`;
    return isValidUtf8(v) ? v.toString('utf8') : `X'${v.toString('hex').toUpperCase()}'`;
  }
  if (type === MYSQL_TYPE_FLOAT && typeof v === 'number') return String(Number(v.toPrecision(6)));
  return String(v);
}

function isValidUtf8(b: Buffer): boolean {
  return Buffer.from(b.toString('utf8'), 'utf8').equals(b);
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function dateText(type: number, b: Buffer): string {
  const isDate = type === MYSQL_TYPE_DATE || type === MYSQL_TYPE_NEWDATE;
  const date = b.length >= 4 ? `${pad(b.readUInt16LE(0), 4)}-${pad(b[2]!)}-${pad(b[3]!)}` : '0000-00-00';
  if (isDate) return date;
  const time = b.length >= 7 ? `${pad(b[4]!)}:${pad(b[5]!)}:${pad(b[6]!)}` : '00:00:00';
  const micro = b.length === 11 ? `.${pad(b.readUInt32LE(7), 6)}` : '';
  return `${date} ${time}${micro}`;
}

function timeText(b: Buffer): string {
  if (b.length === 0) return '00:00:00';
  const negative = b[0] === 1;
  const hours = b.readUInt32LE(1) * 24 + b[5]!;
  const micro = b.length === 12 ? `.${pad(b.readUInt32LE(8), 6)}` : '';
  return `${negative ? '-' : ''}${pad(hours)}:${pad(b[6]!)}:${pad(b[7]!)}${micro}`;
}

/** The bytes of a value (the inverse of decodeBinaryValue; dates and times from their text form). */
export function encodeBinaryValue(type: number, unsigned: boolean, value: BinaryValue): Buffer {
  const layout = binaryLayout(type);
  if (layout.kind === 'lenenc') return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.isBuffer(value) ? value : Buffer.from(String(value));
  if (layout.kind === 'date') {
    if (typeof value !== 'string') throw new RangeError(`${columnTypeName(type)} values are written from their text form`);
    return type === MYSQL_TYPE_TIME || type === MYSQL_TYPE_TIME2 ? encodeTime(value) : encodeDate(value);
  }
  const b = Buffer.alloc(layout.width);
  const n = typeof value === 'bigint' ? value : typeof value === 'number' ? value : Number(String(value));
  const int = (bits: number) => {
    const big = BigInt(n as number | bigint);
    const min = unsigned ? 0n : -(1n << BigInt(bits - 1));
    const max = unsigned ? (1n << BigInt(bits)) - 1n : (1n << BigInt(bits - 1)) - 1n;
    if (big < min || big > max) throw new RangeError(`${value} out of range for ${unsigned ? 'unsigned ' : ''}${columnTypeName(type)}`);
    return big;
  };
  switch (type) {
    case MYSQL_TYPE_NULL:
      return b;
    case MYSQL_TYPE_TINY:
      b.writeUInt8(Number(BigInt.asUintN(8, int(8))));
      return b;
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_YEAR:
      b.writeUInt16LE(Number(BigInt.asUintN(16, int(16))));
      return b;
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_INT24:
      b.writeUInt32LE(Number(BigInt.asUintN(32, int(32))));
      return b;
    case MYSQL_TYPE_LONGLONG:
      b.writeBigUInt64LE(BigInt.asUintN(64, int(64)));
      return b;
    case MYSQL_TYPE_FLOAT:
      b.writeFloatLE(Number(n));
      return b;
    default:
      b.writeDoubleLE(Number(n));
      return b;
  }
}

function encodeDate(text: string): Buffer {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?)?$/.exec(text);
  if (!m) throw new RangeError(`not a date/datetime: ${JSON.stringify(text)}`);
  const [y, mo, d, h = 0, mi = 0, s = 0] = m.slice(1, 7).map((x) => Number(x ?? 0));
  const micro = m[7] ? Number(m[7].padEnd(6, '0')) : 0;
  const length = micro ? 11 : h || mi || s ? 7 : y || mo || d ? 4 : 0;
  const b = Buffer.alloc(length);
  if (length >= 4) {
    b.writeUInt16LE(y!, 0);
    b[2] = mo!;
    b[3] = d!;
  }
  if (length >= 7) {
    b[4] = h;
    b[5] = mi;
    b[6] = s;
  }
  if (length === 11) b.writeUInt32LE(micro, 7);
  return b;
}

function encodeTime(text: string): Buffer {
  const m = /^(-)?(\d{2,3}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(text);
  if (!m) throw new RangeError(`not a time: ${JSON.stringify(text)}`);
  const hours = Number(m[2]);
  const [mi, s] = [Number(m[3]), Number(m[4])];
  const micro = m[5] ? Number(m[5].padEnd(6, '0')) : 0;
  const length = micro ? 12 : hours || mi || s ? 8 : 0;
  const b = Buffer.alloc(length);
  if (length >= 8) {
    b[0] = m[1] ? 1 : 0;
    b.writeUInt32LE(Math.floor(hours / 24), 1);
    b[5] = hours % 24;
    b[6] = mi;
    b[7] = s;
  }
  if (length === 12) b.writeUInt32LE(micro, 8);
  return b;
}
