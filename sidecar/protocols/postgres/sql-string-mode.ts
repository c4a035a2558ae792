// SQL text that the server reads the same whatever its standard_conforming_strings says.
//
// sidegate parses statements as PostgreSQL does with standard_conforming_strings = on (the
// default since 9.1): in a plain '…' literal a backslash is an ordinary character. A session can
// turn the setting off (SET, set_config, a function that calls it, a role or database default),
// and the server then reads a backslash in a plain literal as an escape. So
//     SELECT 'x\''; DROP TABLE t; --'
// — one harmless string to sidegate — is a SELECT and a DROP to such a server. Tracking the
// setting is not enough: a pipelined statement reaches the server before the ParameterStatus that
// announces the change reaches sidegate. Instead, every plain literal that holds a backslash is
// forwarded in the E'' form with its backslashes doubled: the same string under both settings, and
// exactly the one sidegate inspected. A statement without a backslash is never touched (no scan).
// N'' literals cannot take the E prefix; one holding a backslash is refused instead.
import { scanSync } from './sql-grammar.js';
import { scannableSql } from './scannable-sql.js';

export type StringModeResult =
  /** Nothing depends on the setting: forward the text as it is. */
  | { kind: 'unchanged' }
  /** Forward this text instead (same meaning under standard_conforming_strings = on). */
  | { kind: 'rewritten'; sql: string }
  /** Cannot be made independent of the setting: refuse, with a reason safe to show. */
  | { kind: 'refused'; reason: string };

const UNCHANGED: StringModeResult = { kind: 'unchanged' };
const BACKSLASH = 0x5c;
const QUOTE = 0x27;

/** The statement text as it should be forwarded (see the file comment). Pure. */
export function settingIndependentSql(sql: string): StringModeResult {
  if (!sql.includes('\\')) return UNCHANGED;
  let tokens: { start: number; end: number; tokenName: string }[];
  try {
    // A control character anywhere must not skip the rewrite (scannable-sql.ts).
    tokens = scanSync(scannableSql(sql)).tokens;
  } catch {
    // Unscannable text does not parse either: the policy decides it as `unparsable`, and a
    // policy that lets such text through has given up on reading it anyway.
    return UNCHANGED;
  }
  // The scanner's offsets are UTF-8 byte offsets.
  const bytes = Buffer.from(sql, 'utf8');
  const parts: Buffer[] = [];
  let at = 0;
  for (const t of tokens) {
    if (t.tokenName !== 'SCONST' || bytes[t.start] !== QUOTE) continue; // E'', $$, U&'' read the same in both modes
    const literal = bytes.subarray(t.start, t.end);
    if (!literal.includes(BACKSLASH)) continue;
    if (t.start > 0 && isNationalPrefix(bytes, t.start - 1)) {
      return { kind: 'refused', reason: "a N'…' string literal holding a backslash is refused (write it as E'…' or pass it as a parameter)" };
    }
    // A typed literal (text'…') keeps its type name apart from the prefix: text E'…'.
    const prefix = t.start > 0 && isIdentifierByte(bytes[t.start - 1]!) ? SPACED_E_PREFIX : E_PREFIX;
    parts.push(bytes.subarray(at, t.start), prefix, doubledBackslashes(literal));
    at = t.end;
  }
  if (parts.length === 0) return UNCHANGED;
  parts.push(bytes.subarray(at));
  return { kind: 'rewritten', sql: Buffer.concat(parts).toString('utf8') };
}

const E_PREFIX = Buffer.from('E');
const SPACED_E_PREFIX = Buffer.from(' E');

/** `n` or `N` glued to the quote: the scanner's NATIONAL CHARACTER prefix. */
function isNationalPrefix(bytes: Buffer, i: number): boolean {
  return (bytes[i] === 0x4e || bytes[i] === 0x6e) && (i === 0 || !isIdentifierByte(bytes[i - 1]!));
}

function isIdentifierByte(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5f || b === 0x24 || b >= 0x80;
}

/**
 * The literal's bytes with every backslash doubled. Quote pairs ('') and the whitespace-newline
 * continuations between segments mean the same inside E'' as inside '', so nothing else changes.
 */
function doubledBackslashes(literal: Buffer): Buffer {
  let n = 0;
  for (const b of literal) if (b === BACKSLASH) n++;
  const out = Buffer.allocUnsafe(literal.length + n);
  let j = 0;
  for (const b of literal) {
    out[j++] = b;
    if (b === BACKSLASH) out[j++] = BACKSLASH;
  }
  return out;
}
