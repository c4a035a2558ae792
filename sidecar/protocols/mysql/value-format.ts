// MySQL specifics of masking one row value without ever corrupting it. The rule, as for every
// adapter: while masking applies, every value is either inspected (decoded to the text detectors
// read, and masked in a form that stays valid for its type) or withheld (NULL, counted as masked).
//
// - Text protocol: every value is text in the connection's character set (pinned to a UTF-8 or
//   single-byte one at the handshake), so it is masked as text; a binary-charset string (a BLOB,
//   VARBINARY) is read byte for byte.
// - Binary protocol: strings, decimals, enums, sets and JSON travel as length-prefixed text and
//   mask the same way (JSON so that it still parses). BIGINT and DOUBLE are decoded to their
//   digits (they can spell a card number): a match withholds the value. Narrower numbers, YEAR,
//   dates and times cannot hold a match and pass — unless a column rule covers them, when they
//   become NULL (a number cannot hold `[REDACTED]`). BIT and GEOMETRY are bytes no detector can
//   read reliably: withheld whenever masking applies to the column.
import type { MaskResult, ResultMasker } from '../../masking/result-masker.js';
import { MYSQL_TYPE_BLOB, MYSQL_TYPE_DATE, MYSQL_TYPE_DATETIME, MYSQL_TYPE_DATETIME2, MYSQL_TYPE_DECIMAL, MYSQL_TYPE_DOUBLE, MYSQL_TYPE_ENUM, MYSQL_TYPE_FLOAT, MYSQL_TYPE_INT24, MYSQL_TYPE_JSON, MYSQL_TYPE_LONG, MYSQL_TYPE_LONGLONG, MYSQL_TYPE_LONG_BLOB, MYSQL_TYPE_MEDIUM_BLOB, MYSQL_TYPE_NEWDATE, MYSQL_TYPE_NEWDECIMAL, MYSQL_TYPE_NULL, MYSQL_TYPE_SET, MYSQL_TYPE_SHORT, MYSQL_TYPE_STRING, MYSQL_TYPE_TIME, MYSQL_TYPE_TIME2, MYSQL_TYPE_TIMESTAMP, MYSQL_TYPE_TIMESTAMP2, MYSQL_TYPE_TINY, MYSQL_TYPE_TINY_BLOB, MYSQL_TYPE_VARCHAR, MYSQL_TYPE_VAR_STRING, MYSQL_TYPE_YEAR, COLLATION_BINARY } from './capabilities.js';


/** What masking needs to know of a column (from its ColumnDefinition41). */
export interface ValueColumn {
  type: number;
  /** The column's character set (collation id) as the definition reports it. */
  characterSet: number;
}

const STRING_TYPES = new Set<number>([
  MYSQL_TYPE_VARCHAR,
  MYSQL_TYPE_VAR_STRING,
  MYSQL_TYPE_STRING,
  MYSQL_TYPE_TINY_BLOB,
  MYSQL_TYPE_MEDIUM_BLOB,
  MYSQL_TYPE_LONG_BLOB,
  MYSQL_TYPE_BLOB,
  MYSQL_TYPE_ENUM,
  MYSQL_TYPE_SET,
]);
/** Values whose text is at most 11 characters of digits and signs (Detector.skipsShortNumericText). */
const SHORT_NUMERIC_TYPES = new Set<number>([
  MYSQL_TYPE_TINY,
  MYSQL_TYPE_SHORT,
  MYSQL_TYPE_LONG,
  MYSQL_TYPE_INT24,
  MYSQL_TYPE_YEAR,
  MYSQL_TYPE_DATE,
  MYSQL_TYPE_NEWDATE,
  MYSQL_TYPE_TIME,
]);
/** Binary values that cannot hold a detector match: narrow numbers, dates and times, NULL. */
const OPAQUE_SAFE_TYPES = new Set<number>([
  ...SHORT_NUMERIC_TYPES,
  MYSQL_TYPE_FLOAT,
  MYSQL_TYPE_NULL,
  MYSQL_TYPE_TIMESTAMP,
  MYSQL_TYPE_DATETIME,
  MYSQL_TYPE_TIMESTAMP2,
  MYSQL_TYPE_DATETIME2,
  MYSQL_TYPE_TIME2,
]);
/** Binary-protocol values sent as length-prefixed text. */
const LENGTH_PREFIXED_TEXT_TYPES = new Set<number>([...STRING_TYPES, MYSQL_TYPE_DECIMAL, MYSQL_TYPE_NEWDECIMAL, MYSQL_TYPE_JSON]);

/**
 * Whether detectors look at this column's values (ResultColumn.textual): every text-protocol
 * value, and every binary-protocol value but those that cannot hold a match.
 */
export function isScannedColumn(column: ValueColumn, binary: boolean): boolean {
  return !binary || !OPAQUE_SAFE_TYPES.has(column.type);
}

/** Whether this column's text values are short numeric text (detectors that skip those skip it). */
export function isShortNumericColumn(column: ValueColumn): boolean {
  return SHORT_NUMERIC_TYPES.has(column.type);
}

const WIDE_NUMBER_TYPES = new Set<number>([MYSQL_TYPE_LONGLONG, MYSQL_TYPE_DOUBLE, MYSQL_TYPE_DECIMAL, MYSQL_TYPE_NEWDECIMAL]);

/** Numbers wide enough to spell a card number. */
export function isWideNumberColumn(column: ValueColumn): boolean {
  return WIDE_NUMBER_TYPES.has(column.type);
}

/** Whether a value of this type can carry another column's text (not a narrow number or a date). */
export function canCarryText(column: ValueColumn): boolean {
  return !OPAQUE_SAFE_TYPES.has(column.type);
}

/**
 * How many significant decimal digits a number value spells (either protocol): leading zeros of
 * the integer part and trailing zeros of the fraction do not count. Infinity when malformed.
 */
export function numberDigitCount(column: ValueColumn, value: Buffer, binary: boolean): number {
  const text = binary ? (binaryNumberText(column.type, value)?.split(' ')[0] ?? (LENGTH_PREFIXED_TEXT_TYPES.has(column.type) ? value.toString('latin1') : null)) : value.toString('latin1');
  if (text === null) return Infinity;
  const m = /^[^0-9]*([0-9]*)(?:\.([0-9]*))?/.exec(text.split(/[eE]/)[0]!)!;
  return m[1]!.replace(/^0+/, '').length + (m[2] ?? '').replace(/0+$/, '').length;
}

const unchanged = (value: Buffer | null): MaskResult<Buffer | null> => ({ value, masked: 0 });
const nulled: MaskResult<Buffer | null> = { value: null, masked: 1 };

/** Masks one text-protocol value of column `index`; NULL stays NULL. */
export function maskTextValue(masker: ResultMasker, index: number, column: ValueColumn, value: Buffer | null): MaskResult<Buffer | null> {
  if (value === null) return unchanged(null);
  return maskAsText(masker, index, column, value);
}

/**
 * Masks one binary-protocol value of column `index`: `value` is the value's bytes without their
 * length prefix (a length-prefixed type) or the fixed-size bytes (numbers), or the temporal
 * value's bytes after its length byte. The result keeps the same representation.
 */
export function maskBinaryValue(masker: ResultMasker, index: number, column: ValueColumn, value: Buffer | null): MaskResult<Buffer | null> {
  if (value === null) return unchanged(null);
  if (LENGTH_PREFIXED_TEXT_TYPES.has(column.type)) return maskAsText(masker, index, column, value);
  if (!mayApply(masker, index)) return unchanged(value);
  if (masker.columnRule(index)) return count(masker, nulled);
  if (OPAQUE_SAFE_TYPES.has(column.type)) return unchanged(value);
  const digits = binaryNumberText(column.type, value);
  if (digits !== undefined) return digits !== null && masker.probeText(index, digits) === 0 ? unchanged(value) : count(masker, nulled);
  // BIT, GEOMETRY and anything unknown: bytes the detectors cannot read with certainty.
  return count(masker, nulled);
}

function maskAsText(masker: ResultMasker, index: number, column: ValueColumn, value: Buffer): MaskResult<Buffer | null> {
  if (column.type === MYSQL_TYPE_JSON) return masker.maskJsonUtf8(index, value);
  if (column.characterSet === COLLATION_BINARY && STRING_TYPES.has(column.type)) {
    // Bytes, not text: read one character per byte so that every byte is seen, and write back
    // the same way (a replacement is ASCII).
    const r = masker.maskText(index, value.toString('latin1'));
    return r.masked === 0 ? unchanged(value) : { value: Buffer.from(r.value, 'latin1'), masked: r.masked };
  }
  return masker.maskUtf8(index, value);
}

/** The digits detectors should see of a wide binary number; undefined for other types, null when malformed. */
function binaryNumberText(type: number, value: Buffer): string | null | undefined {
  switch (type) {
    case MYSQL_TYPE_LONGLONG:
      // Signed or unsigned, the digits are the same but for the sign and the top bit's range.
      return value.length === 8 ? `${value.readBigInt64LE(0)} ${value.readBigUInt64LE(0)}` : null;
    case MYSQL_TYPE_DOUBLE:
      return value.length === 8 ? String(value.readDoubleLE(0)) : null;
    default:
      return undefined;
  }
}

function mayApply(masker: ResultMasker, index: number): boolean {
  return masker.columnRule(index) || masker.scans(index);
}

/** Keeps the masker's total in step for replacements decided here rather than by the masker. */
function count(masker: ResultMasker, r: MaskResult<Buffer | null>): MaskResult<Buffer | null> {
  masker.recordMasked(r.masked);
  return r;
}
