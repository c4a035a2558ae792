// PostgreSQL specifics of masking one DataRow value without ever corrupting it.
//
// - Text format: the value is text; it is masked as UTF-8.
// - Binary format of a textual type (text, varchar, bpchar, name, unknown, xml): the raw bytes are
//   the text, so it masks the same way.
// - json (either format) and jsonb: masked as JSON so the result still parses (clients JSON.parse
//   these types); binary jsonb is a version byte (1) followed by the JSON text.
// - Binary arrays of those types: each element is masked and the array is re-encoded with the new
//   element lengths, so `text[]` does not become a hiding place.
// - Any other binary value cannot hold a replacement string: an int4 is 4 bytes the client will
//   decode as a number. Under a column rule it becomes NULL, the only masked representation that
//   is valid for every type; detectors (which look for text) leave it alone.
// - A binary jsonb or array we cannot decode (unknown version, malformed) becomes NULL whenever
//   any rule could apply to it: we cannot prove it clean.
import type { MaskResult, ResultMasker } from './result-masker.js';

export const PG_TYPE = {
  name: 19,
  text: 25,
  json: 114,
  xml: 142,
  unknown: 705,
  bpchar: 1042,
  varchar: 1043,
  jsonb: 3802,
} as const;

const PLAIN_TEXT_OIDS = new Set<number>([PG_TYPE.text, PG_TYPE.varchar, PG_TYPE.bpchar, PG_TYPE.name, PG_TYPE.unknown, PG_TYPE.xml]);
const JSON_OIDS = new Set<number>([PG_TYPE.json, PG_TYPE.jsonb]);
/** Array types whose elements are textual: name[], text[], bpchar[], varchar[], json[], xml[], jsonb[]. */
const TEXTUAL_ARRAY_OIDS = new Set<number>([1003, 1009, 1014, 1015, 199, 143, 3807]);

const JSONB_VERSION = 1;
/** Arrays deeper than this are refused by PostgreSQL itself (MAXDIM). */
const MAX_ARRAY_DIMENSIONS = 6;

/**
 * Whether detectors can scan this type's values in binary format too: plain textual types, json,
 * jsonb and arrays of them. (Adapters use this for `ResultColumn.textual`.)
 */
export function isTextualPgType(oid: number): boolean {
  return PLAIN_TEXT_OIDS.has(oid) || JSON_OIDS.has(oid) || TEXTUAL_ARRAY_OIDS.has(oid);
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
  if (typeOid === PG_TYPE.jsonb && format === 1) return maskBinaryJsonb(masker, index, value);
  if (JSON_OIDS.has(typeOid)) return masker.maskJsonUtf8(index, value);
  if (format === 0 || PLAIN_TEXT_OIDS.has(typeOid)) return masker.maskUtf8(index, value);
  if (TEXTUAL_ARRAY_OIDS.has(typeOid)) return maskBinaryArray(masker, index, value);
  return masker.columnRule(index) ? count(masker, nulled) : unchanged(value);
}

function maskBinaryJsonb(masker: ResultMasker, index: number, value: Buffer): MaskResult<Buffer | null> {
  if (value.length === 0 || value[0] !== JSONB_VERSION) return mayApply(masker, index) ? count(masker, nulled) : unchanged(value);
  const inner = masker.maskJsonUtf8(index, value.subarray(1));
  if (inner.masked === 0) return unchanged(value);
  return { value: Buffer.concat([value.subarray(0, 1), inner.value]), masked: inner.masked };
}

interface BinaryArray {
  /** Header bytes up to the first element, copied as they are (dimensions, flags, element type). */
  header: Buffer;
  elementOid: number;
  elements: (Buffer | null)[];
}

/** Masks each element of a binary array of a textual type, re-encoding only when one changed. */
function maskBinaryArray(masker: ResultMasker, index: number, value: Buffer): MaskResult<Buffer | null> {
  const array = readBinaryArray(value);
  // Element types are never arrays themselves; anything else than text/json here is malformed.
  if (!array || !(PLAIN_TEXT_OIDS.has(array.elementOid) || JSON_OIDS.has(array.elementOid))) return mayApply(masker, index) ? count(masker, nulled) : unchanged(value);
  let masked = 0;
  const elements = array.elements.map((e) => {
    const r = maskPgValue(masker, index, 1, array.elementOid, e);
    masked += r.masked;
    return r.value;
  });
  if (masked === 0) return unchanged(value);
  return { value: writeBinaryArray(array.header, elements), masked };
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
