// Text the WASM scanner can report on. libpg-query's scanSync returns its tokens as JSON with
// each token's text copied in unescaped, so a control character (U+0001–U+001F other than tab,
// line feed and carriage return) anywhere in the statement — in a comment, in a literal — makes
// the whole scan throw. Callers then lost everything: the audit text collapsed to `?` and the
// string-mode rewrite was skipped. Each such character is replaced by a space here: one byte for
// one byte, so the scanner's offsets still index the original text, and a character PostgreSQL
// reads as whitespace or as a one-character token of its own, so no literal moves or disappears
// (at worst two strings split by one become one continued string, which is still replaced whole).

/** Control characters that break the scanner's JSON (tab, LF and CR are escaped by it). */
const SCANNER_BREAKING = /[\u0001-\u0008\u000b\u000c\u000e-\u001f]/g;
const HAS_SCANNER_BREAKING = /[\u0001-\u0008\u000b\u000c\u000e-\u001f]/;

/** `sql` with scanner-breaking control characters as spaces (same UTF-8 byte offsets). Pure. */
export function scannableSql(sql: string): string {
  return HAS_SCANNER_BREAKING.test(sql) ? sql.replace(SCANNER_BREAKING, ' ') : sql;
}
