// PostgreSQL specifics of masking a value in place. A text-format value is UTF-8 text. A
// binary-format value of a textual type (text, varchar, bpchar, name, json, xml, unknown) is its
// raw UTF-8 bytes, so it masks the same way; binary jsonb carries a version byte first. Any other
// binary value cannot hold a replacement string without corrupting the type, so a column rule
// turns it into NULL (the only safe masked form) and detectors leave it alone.
import type { MaskResult, ResultMasker } from './result-masker.js';

const TEXTUAL_OIDS = new Set([25, 1043, 1042, 19, 705, 114, 142, 18]);
const JSONB_OID = 3802;

export function isTextualPgType(oid: number): boolean {
  return TEXTUAL_OIDS.has(oid);
}

export function maskPgValue(masker: ResultMasker, index: number, format: 0 | 1, typeOid: number, value: Buffer | null): MaskResult<Buffer | null> {
  if (value === null) return { value: null, masked: 0 };
  if (format === 0 || isTextualPgType(typeOid)) return masker.maskUtf8(index, value);
  if (typeOid === JSONB_OID && value.length > 0 && value[0] === 1) {
    const inner = masker.maskUtf8(index, value.subarray(1));
    if (inner.masked === 0) return { value, masked: 0 };
    return { value: Buffer.concat([value.subarray(0, 1), inner.value]), masked: inner.masked };
  }
  if (masker.columnRule(index)) return { value: null, masked: 1 };
  return { value, masked: 0 };
}
