// Literal replacement for plain SQL text without the WASM scanner. Simple-protocol clients send
// the same statement with different literals thousands of times (`... WHERE aid = 4711;`); the
// real scanner (sql-literals.ts) costs about twice a full parse for such a statement, and its
// result is what keys the statement-shape cache. This lexer handles only text whose lexing
// leaves no room for doubt — ASCII, no comments, no backslashes, no dollar signs, no quoted
// identifiers, no prefixed strings (E'', B'', X'', N'', U&''), no numbers other than plain digit
// runs, no '?' — and answers undefined for anything else, which then goes to the real scanner.
// A property test holds it to the scanner's output on every text it accepts.

const isIdentStart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
const isDigit = (c: number) => c >= 48 && c <= 57;
const isIdentPart = (c: number) => isIdentStart(c) || isDigit(c);
const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13 || c === 12;

/** `sql` with every string and integer literal replaced by `?`, or undefined when unsure. */
export function replacePlainLiterals(sql: string): string | undefined {
  const n = sql.length;
  let out = '';
  let copied = 0;
  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c > 126 || (c < 32 && !isSpace(c))) return undefined;
    switch (c) {
      case 92 /* \ */:
      case 36 /* $ */:
      case 34 /* " */:
      case 63 /* ? */:
        return undefined;
      case 45 /* - */:
        if (sql.charCodeAt(i + 1) === 45) return undefined; // -- comment
        i++;
        continue;
      case 47 /* / */:
        if (sql.charCodeAt(i + 1) === 42) return undefined; // /* comment
        i++;
        continue;
      case 46 /* . */:
        if (isDigit(sql.charCodeAt(i + 1))) return undefined; // .5
        i++;
        continue;
      case 39 /* ' */: {
        // A quote right after a word is a prefixed string (E'', X'', U&'' …).
        if (i > 0 && (isIdentPart(sql.charCodeAt(i - 1)) || sql.charCodeAt(i - 1) === 38)) return undefined;
        let j = i + 1;
        for (;;) {
          if (j >= n) return undefined; // unterminated
          if (sql.charCodeAt(j) === 39) {
            if (sql.charCodeAt(j + 1) === 39) {
              j += 2;
              continue;
            }
            break;
          }
          j++;
        }
        // Strings separated only by whitespace are one literal to PostgreSQL when a newline is
        // among it; rather than follow that rule, give up on any string followed by another.
        let k = j + 1;
        while (k < n && isSpace(sql.charCodeAt(k))) k++;
        if (sql.charCodeAt(k) === 39) return undefined;
        out += sql.slice(copied, i) + '?';
        copied = i = j + 1;
        continue;
      }
      default:
        if (isIdentStart(c)) {
          i++;
          while (i < n && isIdentPart(sql.charCodeAt(i))) i++;
          continue;
        }
        if (isDigit(c)) {
          let j = i + 1;
          while (j < n && isDigit(sql.charCodeAt(j))) j++;
          // 1.5, 1e5, 0x1F, 1_000, 12abc: number forms left to the real scanner.
          const next = sql.charCodeAt(j);
          if (isIdentPart(next) || next === 46) return undefined;
          out += sql.slice(copied, i) + '?';
          copied = i = j;
          continue;
        }
        i++;
    }
  }
  return copied === 0 ? sql : out + sql.slice(copied);
}
