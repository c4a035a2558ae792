// PostgreSQL specifics of masking one DataRow value without ever corrupting it. The rule: while
// masking applies, every value is either inspected (decoded to the text detectors read, and masked
// in a form that stays valid for its type) or withheld (NULL, counted as masked). Nothing passes
// because the masker could not read it.
//
// - Text format: the value is text; it is masked as UTF-8. bytea text (`\x…` hex) is decoded
//   first: hex digits would hide any text from the detectors.
// - Binary format of a textual type (text, varchar, bpchar, name, unknown, xml, "char",
//   refcursor): the raw bytes are the text, so it masks the same way. bytea: its bytes are read as
//   text and masked in place (the result is still a bytea).
// - json (either format) and jsonb: masked as JSON so the result still parses (clients JSON.parse
//   these types); binary jsonb is a version byte (1) followed by the JSON text (jsonpath likewise).
// - Binary arrays (any element type) and records (`ROW(…)`, record_send: count, then oid, length,
//   bytes per field): each element or field is masked by its own type and the value re-encoded
//   with the new lengths, so neither `text[]` nor `record[]` is a hiding place.
// - Binary numbers that can spell a card number (int8, float8, numeric, money) are decoded to
//   their digits for the detectors; a match withholds the value (a number cannot hold
//   `[REDACTED]`). tsvector and tsquery carry their lexemes as plain bytes: a match withholds it.
// - Fixed-size types that cannot hold a detector match (bool, int2/int4, float4, dates and times,
//   uuid, inet…) pass; under a column rule every non-text binary value becomes NULL, the only
//   masked representation valid for every type.
// - Any other binary type (a table's row type from `SELECT c FROM customers c`, an enum, a domain,
//   an extension type) cannot be read without its definition: it becomes NULL whenever masking
//   applies to the result. So does anything malformed (unknown jsonb version, truncated array).
import type { MaskResult, ResultMasker } from '../../masking/result-masker.js';

export const PG_TYPE = {
  char: 18,
  name: 19,
  text: 25,
  bytea: 17,
  json: 114,
  xml: 142,
  unknown: 705,
  bpchar: 1042,
  varchar: 1043,
  refcursor: 1790,
  record: 2249,
  jsonb: 3802,
  jsonpath: 4072,
} as const;

const PLAIN_TEXT_OIDS = new Set<number>([PG_TYPE.text, PG_TYPE.varchar, PG_TYPE.bpchar, PG_TYPE.name, PG_TYPE.unknown, PG_TYPE.xml, PG_TYPE.char, PG_TYPE.refcursor]);
const JSON_OIDS = new Set<number>([PG_TYPE.json, PG_TYPE.jsonb]);
/** Array types whose elements are textual: name[], text[], bpchar[], varchar[], json[], xml[], jsonb[]. */
const TEXTUAL_ARRAY_OIDS = new Set<number>([1003, 1009, 1014, 1015, 199, 143, 3807]);
/**
 * Built-in array types (pg_type.typarray of the base types): a binary value of one of these is
 * decoded with array_send's layout whatever its element type; an array of an unknown element type
 * has its elements withheld one by one.
 */
const ARRAY_OIDS = new Set<number>([
  ...TEXTUAL_ARRAY_OIDS, 1000, 1001, 1002, 1005, 1006, 1007, 1016, 1021, 1022, 1028, 1010, 1011, 1012, 1013, 1017, 1018, 1019, 1020,
  1027, 1034, 1040, 1041, 651, 1115, 1182, 1183, 1185, 1187, 1231, 1263, 1270, 1561, 1563, 2201, 2287, 2949, 2951, 3221, 3643, 3645, 4073, 791, 1024, 1025, 775,
]);
/**
 * Binary values that cannot hold a detector match: fixed-size numbers too short for a card,
 * booleans, dates and times, uuid, network and geometric types, OIDs and their reg* aliases, tid,
 * xid, pg_lsn, bit strings.
 */
const OPAQUE_SAFE_OIDS = new Set<number>([
  16, 21, 23, 26, 27, 28, 29, 700, 1082, 1083, 1114, 1184, 1186, 1266, 2950, 869, 650, 829, 774, 600, 601, 602, 603, 604, 628, 718,
  24, 2202, 2203, 2204, 2205, 2206, 3734, 3769, 4089, 4096, 3220, 5069, 1560, 1562,
]);
/** Binary numbers whose digits can spell a card number. */
const NUMBER_OIDS = { int8: 20, float8: 701, numeric: 1700, money: 790 } as const;
/** Binary values whose text is stored as plain bytes among binary framing. */
const EMBEDDED_TEXT_OIDS = new Set<number>([3614 /* tsvector */, 3615 /* tsquery */]);

const JSONB_VERSION = 1;
/** Arrays deeper than this are refused by PostgreSQL itself (MAXDIM). */
const MAX_ARRAY_DIMENSIONS = 6;
/** Records nest (a record of arrays of records): recursion is bounded like the server's stack. */
const MAX_NESTING = 32;

/**
 * Whether detectors can scan this type's values in binary format as they are: plain textual
 * types, json, jsonb and arrays of them.
 */
export function isTextualPgType(oid: number): boolean {
  return PLAIN_TEXT_OIDS.has(oid) || JSON_OIDS.has(oid) || TEXTUAL_ARRAY_OIDS.has(oid);
}

/**
 * Whether a binary value of this type needs looking at when detectors apply: everything but the
 * fixed-size types that cannot hold a match (unknown types included: they are withheld).
 */
export function isScannedBinaryPgType(oid: number): boolean {
  return !OPAQUE_SAFE_OIDS.has(oid);
}

/** Numbers wide enough to spell a card number (int8, float8, numeric, money). */
export function isWideNumberPgType(oid: number): boolean {
  return oid === NUMBER_OIDS.int8 || oid === NUMBER_OIDS.float8 || oid === NUMBER_OIDS.numeric || oid === NUMBER_OIDS.money;
}

/**
 * How many significant decimal digits a number value spells (either format): leading zeros of
 * the integer part and trailing zeros of the fraction do not count, an exponent ends the count.
 * Infinity when malformed.
 */
export function pgNumberDigitCount(format: 0 | 1, oid: number, value: Buffer): number {
  const text = format === 0 ? value.toString('latin1') : numberDigits(oid, value);
  if (text === null || text === undefined) return Infinity;
  const m = /^[^0-9]*([0-9]*)(?:\.([0-9]*))?/.exec(text.split(/[eE]/)[0]!)!;
  const int = m[1]!.replace(/^0+/, '');
  const frac = (m[2] ?? '').replace(/0+$/, '');
  return int.length + frac.length;
}

/**
 * Whether a value's wire bytes are the text detectors read, so a byte screen that clears them
 * proves there is no match (byte-screen.ts): text format (but not bytea's hex) and binary
 * plain-text types.
 */
export function isScreenablePgValue(format: 0 | 1, oid: number): boolean {
  return format === 0 ? oid !== PG_TYPE.bytea : PLAIN_TEXT_OIDS.has(oid);
}

/**
 * Types whose text output is a short numeric text (Detector.skipsShortNumericText): bool (t/f),
 * int2, int4, oid, xid, cid (at most 11 characters, 10 digits), float4 (at most 9 significant
 * digits, e.g. -3.4028235e+38), date (YYYY-MM-DD with an optional BC, or ±infinity) and time
 * (HH:MM:SS.ffffff). Not int8, float8 or numeric: those can print 13 digits in a row.
 */
const SHORT_NUMERIC_TEXT_OIDS = new Set<number>([16, 21, 23, 26, 28, 29, 700, 1082, 1083]);

/** Whether values of this type, in text format, are short numeric text. */
export function isShortNumericTextPgType(oid: number): boolean {
  return SHORT_NUMERIC_TEXT_OIDS.has(oid);
}

const unchanged = (value: Buffer | null): MaskResult<Buffer | null> => ({ value, masked: 0 });
const nulled: MaskResult<Buffer | null> = { value: null, masked: 1 };

/** Masks one value of column `index` in a DataRow; NULL stays NULL. */
export function maskPgValue(masker: ResultMasker, index: number, format: 0 | 1, typeOid: number, value: Buffer | null): MaskResult<Buffer | null> {
  if (value === null) return unchanged(null);
  if (format === 0) {
    if (typeOid === PG_TYPE.bytea && value.length >= 2 && value[0] === 0x5c && value[1] === 0x78) return maskByteaHex(masker, index, value);
    if (JSON_OIDS.has(typeOid)) return masker.maskJsonUtf8(index, value);
    return masker.maskUtf8(index, value);
  }
  return maskBinary(masker, index, typeOid, value, 0);
}

function maskBinary(masker: ResultMasker, index: number, typeOid: number, value: Buffer, depth: number): MaskResult<Buffer | null> {
  if (typeOid === PG_TYPE.jsonb || typeOid === PG_TYPE.jsonpath) return maskVersioned(masker, index, typeOid, value);
  if (JSON_OIDS.has(typeOid)) return masker.maskJsonUtf8(index, value);
  if (PLAIN_TEXT_OIDS.has(typeOid) || typeOid === PG_TYPE.bytea) return masker.maskUtf8(index, value);
  if (!mayApply(masker, index)) return unchanged(value);
  if (masker.columnRule(index)) return count(masker, nulled);
  // From here on only detectors apply.
  if (OPAQUE_SAFE_OIDS.has(typeOid)) return unchanged(value);
  if (depth >= MAX_NESTING) return count(masker, nulled);
  if (ARRAY_OIDS.has(typeOid)) return maskBinaryArray(masker, index, value, depth);
  if (typeOid === PG_TYPE.record) return maskBinaryRecord(masker, index, value, depth);
  const digits = numberDigits(typeOid, value);
  if (digits !== undefined) return digits !== null && masker.probeText(index, digits) === 0 ? unchanged(value) : count(masker, nulled);
  if (EMBEDDED_TEXT_OIDS.has(typeOid)) return masker.probeText(index, value.toString('latin1')) === 0 && masker.probeText(index, value.toString('utf8')) === 0 ? unchanged(value) : count(masker, nulled);
  return count(masker, nulled);
}

/** jsonb and jsonpath: a version byte (1), then the text. */
function maskVersioned(masker: ResultMasker, index: number, typeOid: number, value: Buffer): MaskResult<Buffer | null> {
  if (value.length === 0 || value[0] !== JSONB_VERSION) return mayApply(masker, index) ? count(masker, nulled) : unchanged(value);
  const inner = typeOid === PG_TYPE.jsonb ? masker.maskJsonUtf8(index, value.subarray(1)) : masker.maskUtf8(index, value.subarray(1));
  if (inner.masked === 0) return unchanged(value);
  return { value: Buffer.concat([value.subarray(0, 1), inner.value]), masked: inner.masked };
}

/** bytea in hex text output: the decoded bytes are masked as text and re-encoded. */
function maskByteaHex(masker: ResultMasker, index: number, value: Buffer): MaskResult<Buffer | null> {
  const hex = value.toString('latin1', 2);
  if (!/^[0-9a-fA-F]*$/.test(hex) || hex.length % 2 !== 0) return masker.maskUtf8(index, value);
  const r = masker.maskUtf8(index, Buffer.from(hex, 'hex'));
  if (r.masked === 0) return unchanged(value);
  return { value: Buffer.from('\\x' + r.value.toString('hex'), 'latin1'), masked: r.masked };
}

/**
 * The decimal digits of a binary number as detectors should see them (the integer part of a
 * float or numeric, a money amount in cents), undefined for other types, null when malformed.
 */
function numberDigits(typeOid: number, value: Buffer): string | null | undefined {
  switch (typeOid) {
    case NUMBER_OIDS.int8:
    case NUMBER_OIDS.money:
      return value.length === 8 ? value.readBigInt64BE(0).toString() : null;
    case NUMBER_OIDS.float8:
      return value.length === 8 ? String(value.readDoubleBE(0)) : null;
    case NUMBER_OIDS.numeric:
      return numericText(value);
    default:
      return undefined;
  }
}

/** numeric_send: ndigits, weight, sign, dscale (int16 each), then base-10000 digits. */
function numericText(value: Buffer): string | null {
  if (value.length < 8) return null;
  const ndigits = value.readUInt16BE(0);
  const weight = value.readInt16BE(2);
  if (value.length !== 8 + 2 * ndigits) return null;
  let int = '';
  let frac = '';
  for (let i = 0; i < ndigits; i++) {
    const d = String(value.readUInt16BE(8 + 2 * i)).padStart(4, '0');
    if (i <= weight) int += d;
    else frac += d;
  }
  if (weight >= ndigits) int += '0000'.repeat(weight - ndigits + 1);
  if (weight < -1) frac = '0000'.repeat(-weight - 1) + frac;
  return (int.replace(/^0+(?=\d)/, '') || '0') + (frac ? '.' + frac : '');
}

interface BinaryArray {
  /** Header bytes up to the first element, copied as they are (dimensions, flags, element type). */
  header: Buffer;
  elementOid: number;
  elements: (Buffer | null)[];
}

/** Masks each element of a binary array by its element type, re-encoding only when one changed. */
function maskBinaryArray(masker: ResultMasker, index: number, value: Buffer, depth: number): MaskResult<Buffer | null> {
  // An array of a type that cannot hold a match (int4[], uuid[]…) needs no decoding at all.
  if (value.length >= 12 && OPAQUE_SAFE_OIDS.has(value.readUInt32BE(8)) && value.readInt32BE(0) >= 0 && value.readInt32BE(0) <= MAX_ARRAY_DIMENSIONS) return unchanged(value);
  const array = readBinaryArray(value);
  if (!array) return count(masker, nulled);
  let masked = 0;
  const elements = array.elements.map((e) => {
    if (e === null) return null;
    const r = maskBinary(masker, index, array.elementOid, e, depth + 1);
    masked += r.masked;
    return r.value;
  });
  if (masked === 0) return unchanged(value);
  return { value: writeBinaryArray(array.header, elements), masked };
}

/** Masks each field of a binary record (record_send) by its own type, re-encoding when one changed. */
function maskBinaryRecord(masker: ResultMasker, index: number, value: Buffer, depth: number): MaskResult<Buffer | null> {
  if (value.length < 4) return count(masker, nulled);
  const n = value.readInt32BE(0);
  if (n < 0 || n > (value.length - 4) / 8) return count(masker, nulled);
  const oids: number[] = new Array(n);
  const fields: (Buffer | null)[] = new Array(n);
  let at = 4;
  for (let i = 0; i < n; i++) {
    if (at + 8 > value.length) return count(masker, nulled);
    oids[i] = value.readUInt32BE(at);
    const len = value.readInt32BE(at + 4);
    at += 8;
    if (len === -1) {
      fields[i] = null;
      continue;
    }
    if (len < 0 || at + len > value.length) return count(masker, nulled);
    fields[i] = value.subarray(at, at + len);
    at += len;
  }
  if (at !== value.length) return count(masker, nulled);
  let masked = 0;
  for (let i = 0; i < n; i++) {
    const f = fields[i];
    if (f === null || f === undefined) continue;
    const r = maskBinary(masker, index, oids[i]!, f, depth + 1);
    if (r.masked > 0) {
      masked += r.masked;
      fields[i] = r.value;
    }
  }
  if (masked === 0) return unchanged(value);
  let size = 4;
  for (const f of fields) size += 8 + (f?.length ?? 0);
  const out = Buffer.allocUnsafe(size);
  let w = out.writeInt32BE(n, 0);
  for (let i = 0; i < n; i++) {
    const f = fields[i] ?? null;
    w = out.writeUInt32BE(oids[i]!, w);
    w = out.writeInt32BE(f === null ? -1 : f.length, w);
    if (f !== null) w += f.copy(out, w);
  }
  return { value: out, masked };
}

/** array_send layout: ndim, has-null flag, element oid, (size, lower bound) per dimension, elements. */
export function readBinaryArray(value: Buffer): BinaryArray | null {
  if (value.length < 12) return null;
  const ndim = value.readInt32BE(0);
  if (ndim < 0 || ndim > MAX_ARRAY_DIMENSIONS) return null;
  const elementOid = value.readUInt32BE(8);
  let at = 12;
  let count = ndim === 0 ? 0 : 1;
  for (let d = 0; d < ndim; d++) {
    if (at + 8 > value.length) return null;
    const size = value.readInt32BE(at);
    if (size < 0) return null;
    count *= size;
    at += 8;
  }
  // Every element takes at least its 4-byte length: a count beyond that is a lie, not an allocation.
  if (count > (value.length - at) / 4) return null;
  const header = value.subarray(0, at);
  const elements: (Buffer | null)[] = new Array(count);
  for (let i = 0; i < count; i++) {
    if (at + 4 > value.length) return null;
    const len = value.readInt32BE(at);
    at += 4;
    if (len === -1) {
      elements[i] = null;
      continue;
    }
    if (len < 0 || at + len > value.length) return null;
    elements[i] = value.subarray(at, at + len);
    at += len;
  }
  return at === value.length ? { header, elementOid, elements } : null;
}

export function writeBinaryArray(header: Buffer, elements: readonly (Buffer | null)[]): Buffer {
  let size = header.length;
  for (const e of elements) size += 4 + (e?.length ?? 0);
  const out = Buffer.allocUnsafe(size);
  let at = header.copy(out, 0);
  // The has-null flag must stay true to the elements (an undecodable jsonb element became NULL).
  if (header.length >= 8) out.writeInt32BE(elements.includes(null) ? 1 : 0, 4);
  for (const e of elements) {
    at = out.writeInt32BE(e === null ? -1 : e.length, at);
    if (e !== null) at += e.copy(out, at);
  }
  return out;
}

function mayApply(masker: ResultMasker, index: number): boolean {
  return masker.columnRule(index) || masker.scans(index);
}

/** Keeps the masker's total in step for replacements decided here rather than by the masker. */
function count(masker: ResultMasker, r: MaskResult<Buffer | null>): MaskResult<Buffer | null> {
  masker.recordMasked(r.masked);
  return r;
}
