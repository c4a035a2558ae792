// Masking inside a JSON document without breaking it. Clients parse json/jsonb values (node-postgres
// runs JSON.parse on them), so `{"to":"[REDACTED:email]"}` is fine but a replacement that eats a
// quote, or `[REDACTED]` in place of a number, is a broken result.
//
// Detectors run over the raw JSON text, exactly as over plain text. Every string or number token
// a match touches is then re-masked on its own decoded value, and re-encoded with JSON.stringify;
// when the match does not lie inside the decoded value (it spanned tokens, e.g. a custom regex for
// `"password": "…"`), every token it touched is replaced whole. Strings with escapes are always
// decoded and scanned, so `ada\u0040example.com` is not a way around the e-mail detector.
// A number replaced this way becomes a string: still valid JSON, no longer the secret.
import type { Match } from './detectors.js';

export interface JsonScalarToken {
  start: number;
  end: number;
  kind: 'string' | 'number';
  /** The string literal contains a backslash escape. */
  escaped: boolean;
}

export interface JsonScalarMasking {
  /** Detector matches over the raw text, non-overlapping, in order. */
  find(text: string): readonly Match[];
  /** Detector masking of one decoded string/number as plain text. */
  maskScalar(value: string): { value: string; masked: number };
  /** Whole-token replacement when `match` touches the token but nothing inside its value matched. */
  replaceScalar(value: string, match: Match): string;
}

/** The string and number tokens of a JSON text, in order; null when a string is unterminated. */
export function jsonScalarTokens(text: string): JsonScalarToken[] | null {
  const tokens: JsonScalarToken[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      let j = i + 1;
      let escaped = false;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === 92) {
          escaped = true;
          j += 2;
        } else if (d === 34) {
          break;
        } else {
          j++;
        }
      }
      if (j >= n) return null;
      tokens.push({ start: i, end: j + 1, kind: 'string', escaped });
      i = j + 1;
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      let j = i + 1;
      while (j < n && isNumberChar(text.charCodeAt(j))) j++;
      tokens.push({ start: i, end: j, kind: 'number', escaped: false });
      i = j;
    } else {
      i++;
    }
  }
  return tokens;
}

/** Masked JSON text (still valid JSON), or null when `text` is not tokenizable as JSON. */
export function maskJsonText(text: string, how: JsonScalarMasking): { value: string; masked: number } | null {
  const matches = how.find(text);
  if (matches.length === 0 && !text.includes('\\')) return { value: text, masked: 0 };
  const tokens = jsonScalarTokens(text);
  if (tokens === null) return null;
  let out = '';
  let copied = 0;
  let masked = 0;
  let m = 0;
  for (const token of tokens) {
    while (m < matches.length && matches[m]!.end <= token.start) m++;
    const touching = m < matches.length && matches[m]!.start < token.end ? matches[m]! : undefined;
    if (!touching && !token.escaped) continue;
    let value: string;
    try {
      value = token.kind === 'string' ? (JSON.parse(text.slice(token.start, token.end)) as string) : text.slice(token.start, token.end);
    } catch {
      return null;
    }
    const inner = how.maskScalar(value);
    let replacement: string;
    if (inner.masked > 0) {
      replacement = JSON.stringify(inner.value);
      masked += inner.masked;
    } else if (touching) {
      replacement = JSON.stringify(how.replaceScalar(value, touching));
      masked++;
    } else {
      continue;
    }
    out += text.slice(copied, token.start) + replacement;
    copied = token.end;
  }
  if (masked === 0) return { value: text, masked: 0 };
  return { value: out + text.slice(copied), masked };
}

function isNumberChar(c: number): boolean {
  return (c >= 48 && c <= 57) || c === 46 || c === 101 || c === 69 || c === 43 || c === 45;
}
