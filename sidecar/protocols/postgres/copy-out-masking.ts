// COPY TO output while masking applies. COPY rows carry no column names or types, so only
// detectors apply, each in a form that keeps the output valid for the format:
//
// - text and CSV: detectors over the whole line; a bytea field's hex (`\x…`, `\\x…` in text
//   format) is decoded first, because hex digits hide any text from the detectors, and re-encoded
//   after masking.
// - binary: the tuple is parsed (field count, then length and bytes per field) and any field
//   holding a match as text, or whose bytes read as an int8, float8 or numeric spell one (a card
//   number stored as a number), becomes NULL: without the column types no replacement text can be
//   written into it. The tuple is re-encoded with the new lengths, so the framing stays valid. The
//   first row carries the file header (signature, flags, extension) before its tuple; the last
//   message is the trailer (-1).
// - While column rules cover a relation the COPY reads (result-shape-planner.ts), no column of its
//   rows can be told apart: every text/CSV line is withheld whole (`[REDACTED]`, its line end kept)
//   and every binary field becomes NULL (`withheldCopyData`).
import { needleScreen, type ByteScreen } from '../../masking/byte-screen.js';
import type { ResultMasker } from '../../masking/index.js';
import { ProtocolError } from './message-framer.js';

/** Rows holding bytea hex are candidates for the COPY screen too (their text is hidden in hex). */
export const HEX_SCREEN: ByteScreen = needleScreen('\\x');

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEX_RUN = /(\\{1,2}x)((?:[0-9a-fA-F]{2})+)/g;

/** A text or CSV line: hex runs decoded and masked, then detectors over the line. */
export function maskCopyTextLine(line: Buffer, masker: ResultMasker): { line: Buffer; masked: number } {
  let masked = 0;
  let body = line;
  if (line.includes('\\x')) {
    const text = line.toString('utf8').replace(HEX_RUN, (whole: string, prefix: string, hex: string) => {
      const r = masker.maskUtf8(0, Buffer.from(hex, 'hex'));
      if (r.masked === 0) return whole;
      masked += r.masked;
      return prefix + r.value.toString('hex');
    });
    if (masked > 0) body = Buffer.from(text, 'utf8');
  }
  const r = masker.maskUtf8(0, body);
  masked += r.masked;
  return { line: r.value, masked };
}

/** State of one binary COPY: whether the header was seen. */
export interface BinaryCopyState {
  headerSeen: boolean;
}

/**
 * One CopyData of a binary COPY: fields that hold a match become NULL. Null when nothing changed.
 * Throws on bytes that are not whole tuples (the server sends one tuple per message).
 */
export function maskCopyBinaryData(data: Buffer, masker: ResultMasker, state: BinaryCopyState): { data: Buffer; masked: number } | null {
  let at = 0;
  if (!state.headerSeen) {
    if (data.length < SIGNATURE.length + 8 || !data.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new ProtocolError('malformed', 'binary COPY data without its header');
    const ext = data.readUInt32BE(SIGNATURE.length + 4);
    at = SIGNATURE.length + 8 + ext;
    if (at > data.length) throw new ProtocolError('malformed', 'binary COPY header is truncated');
    state.headerSeen = true;
    if (at === data.length) return null;
  }
  if (data.length - at < 2) throw new ProtocolError('malformed', 'binary COPY tuple is truncated');
  const count = data.readInt16BE(at);
  if (count === -1) return null; // the trailer
  if (count < 0) throw new ProtocolError('malformed', 'binary COPY tuple has a negative field count');
  const start = at;
  at += 2;
  const fields: (Buffer | null)[] = new Array(count);
  let masked = 0;
  for (let i = 0; i < count; i++) {
    if (at + 4 > data.length) throw new ProtocolError('malformed', 'binary COPY tuple is truncated');
    const len = data.readInt32BE(at);
    at += 4;
    if (len === -1) {
      fields[i] = null;
      continue;
    }
    if (len < 0 || at + len > data.length) throw new ProtocolError('malformed', 'binary COPY field is truncated');
    const value = data.subarray(at, at + len);
    at += len;
    if (holdsMatch(value, masker)) {
      fields[i] = null;
      masked++;
    } else {
      fields[i] = value;
    }
  }
  if (at !== data.length) throw new ProtocolError('malformed', 'binary COPY data has trailing bytes');
  if (masked === 0) return null;
  masker.recordMasked(masked);
  let size = start + 2;
  for (const f of fields) size += 4 + (f?.length ?? 0);
  const out = Buffer.allocUnsafe(size);
  let w = data.copy(out, 0, 0, start + 2);
  for (const f of fields) {
    w = out.writeInt32BE(f === null ? -1 : f.length, w);
    if (f !== null) w += f.copy(out, w);
  }
  return { data: out, masked };
}

/** Whether a field of unknown type could hold a detector match, read every way it could be. */
function holdsMatch(value: Buffer, masker: ResultMasker): boolean {
  if (masker.probeText(0, value.toString('utf8')) > 0 || masker.probeText(0, value.toString('latin1')) > 0) return true;
  if (value.length === 8) {
    if (masker.probeText(0, value.readBigInt64BE(0).toString()) > 0) return true;
    if (masker.probeText(0, String(value.readDoubleBE(0))) > 0) return true;
  }
  const numeric = numericDigits(value);
  return numeric !== null && masker.probeText(0, numeric) > 0;
}

/** The digits of a numeric_send value, or null when the bytes are not one. */
function numericDigits(value: Buffer): string | null {
  if (value.length < 8) return null;
  const ndigits = value.readUInt16BE(0);
  if (value.length !== 8 + 2 * ndigits) return null;
  let out = '';
  for (let i = 0; i < ndigits; i++) out += String(value.readUInt16BE(8 + 2 * i)).padStart(4, '0');
  return out.replace(/^0+(?=\d)/, '');
}

const WITHHELD_LINE = Buffer.from('[REDACTED]\n');

/** A COPY row whose columns cannot be told apart, withheld (the framing kept valid). */
export function withheldCopyData(data: Buffer, binary: BinaryCopyState | undefined): { data: Buffer; masked: number } {
  if (!binary) return { data: WITHHELD_LINE, masked: 1 };
  let at = 0;
  if (!binary.headerSeen) {
    if (data.length < SIGNATURE.length + 8 || !data.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new ProtocolError('malformed', 'binary COPY data without its header');
    at = SIGNATURE.length + 8 + data.readUInt32BE(SIGNATURE.length + 4);
    binary.headerSeen = true;
    if (at >= data.length) return { data, masked: 0 };
  }
  const count = data.readInt16BE(at);
  if (count < 0) return { data, masked: 0 }; // the trailer
  const out = Buffer.alloc(at + 2 + 4 * count, 0xff);
  data.copy(out, 0, 0, at + 2);
  return { data: out, masked: count };
}
