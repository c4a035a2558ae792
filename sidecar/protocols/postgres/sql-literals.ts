// Literal values out of SQL text, for `db.query.text`: every string, number, bit-string and
// hex-string literal becomes `?`, found with the real PostgreSQL scanner so that quoting rules
// (E'' escapes, dollar quotes, U&'' strings) are the server's, not a regex's guess.
import { scanSync } from 'libpg-query';

/** Token types of the scanner's literal tokens (gram.h: FCONST SCONST USCONST BCONST XCONST ICONST). */
const LITERAL_TOKENS = new Set([260, 261, 262, 263, 264, 266]);

/**
 * Returns the text with each literal replaced by `?`. The scanner reports byte offsets into the
 * UTF-8 text, so the work happens on bytes. If the text cannot be scanned, the result is `?`:
 * never the raw text, which could carry a password or personal data.
 */
export function replaceLiterals(sql: string): string {
  let tokens: { start: number; end: number; tokenType: number }[];
  try {
    tokens = scanSync(sql).tokens;
  } catch {
    return '?';
  }
  const bytes = Buffer.from(sql, 'utf8');
  const parts: Buffer[] = [];
  let at = 0;
  let changed = false;
  for (const t of tokens) {
    if (!LITERAL_TOKENS.has(t.tokenType)) continue;
    parts.push(bytes.subarray(at, t.start), QUESTION);
    at = t.end;
    changed = true;
  }
  if (!changed) return sql;
  parts.push(bytes.subarray(at));
  return Buffer.concat(parts).toString('utf8');
}

const QUESTION = Buffer.from('?');
