// Literal values out of SQL text, for `db.query.text`: every string, number, bit-string and
// hex-string literal becomes `?`, found with the real PostgreSQL scanner so that quoting rules
// (E'' escapes, dollar quotes, U&'' strings) are the server's, not a regex's guess.
import { scanSync } from './sql-grammar.js';
import { replacePlainLiterals } from './plain-sql-literals.js';
import { scannableSql } from './scannable-sql.js';

/**
 * One of each literal kind the scanner knows: SCONST (plain, E'', dollar-quoted), ICONST, FCONST,
 * BCONST, XCONST, USCONST. Their token numbers come from the grammar's generated header and may
 * move between libpg-query releases, so they are learnt by scanning this text rather than
 * hard-coded.
 */
const LITERAL_PROBE = "SELECT 'a', 1, 1.5, B'1', X'f', U&'u'";

let literalTokens: ReadonlySet<number> | undefined;

function literalTokenTypes(): ReadonlySet<number> {
  if (!literalTokens) {
    const types = scanSync(LITERAL_PROBE).tokens.map((t) => t.tokenType);
    // Tokens: SELECT, then literal and comma alternately.
    const literals = new Set(types.filter((_, i) => i % 2 === 1));
    if (literals.size !== 6) throw new Error('unexpected scanner token layout');
    literalTokens = literals;
  }
  return literalTokens;
}

/**
 * Returns the text with each literal replaced by `?`. The scanner reports byte offsets into the
 * UTF-8 text, so the work happens on bytes. Control characters (a comment holding \x01) do not
 * stop the scan (scannable-sql.ts). If the text cannot be scanned at all (an unterminated
 * literal), the result is `?`: never the raw text, which could carry a password or personal data.
 */
export function replaceLiterals(sql: string): string {
  // The scanner rejects empty input; there is nothing to hide in it.
  if (sql === '') return '';
  // Plain text (most statements) needs no WASM round trip; the plain lexer gives up on anything
  // it is not sure of.
  const plain = replacePlainLiterals(sql);
  if (plain !== undefined) return plain;
  let tokens: { start: number; end: number; tokenType: number }[];
  let literals: ReadonlySet<number>;
  try {
    literals = literalTokenTypes();
    tokens = scanSync(scannableSql(sql)).tokens;
  } catch {
    return '?';
  }
  const bytes = Buffer.from(sql, 'utf8');
  const parts: Buffer[] = [];
  let at = 0;
  for (const t of tokens) {
    if (!literals.has(t.tokenType)) continue;
    parts.push(bytes.subarray(at, t.start), QUESTION);
    at = t.end;
  }
  if (parts.length === 0) return sql;
  parts.push(bytes.subarray(at));
  return Buffer.concat(parts).toString('utf8');
}

const QUESTION = Buffer.from('?');
