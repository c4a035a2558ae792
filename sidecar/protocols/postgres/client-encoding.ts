// Which client_encoding a session may ask for. sidegate inspects statements as UTF-8 and pins the
// upstream session to UTF8, so the server parses exactly the bytes sidegate read, the way it read
// them. A client asking for another encoding would expect the server to convert (and sidegate
// would misread its bytes): refused at startup, never silently changed.

/** PostgreSQL's clean_encoding_name: ASCII letters and digits only, lower-cased. */
export function cleanEncodingName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Names (cleaned) that PostgreSQL reads as UTF8, and SQL_ASCII (no conversion: the bytes are the same). */
const ACCEPTED = new Set(['utf8', 'unicode', 'sqlascii']);

/**
 * Encodings whose multibyte characters can contain ASCII bytes (a quote, a backslash): a server
 * reading them sees different statement boundaries than a UTF-8 reader. Cleaned alias → name.
 */
const ASCII_UNSAFE: ReadonlyMap<string, string> = new Map([
  ['sjis', 'SJIS'],
  ['shiftjis', 'SJIS'],
  ['mskanji', 'SJIS'],
  ['windows932', 'SJIS'],
  ['win932', 'SJIS'],
  ['shiftjis2004', 'SHIFT_JIS_2004'],
  ['big5', 'BIG5'],
  ['windows950', 'BIG5'],
  ['win950', 'BIG5'],
  ['gbk', 'GBK'],
  ['windows936', 'GBK'],
  ['win936', 'GBK'],
  ['cp936', 'GBK'],
  ['uhc', 'UHC'],
  ['windows949', 'UHC'],
  ['win949', 'UHC'],
  ['cp949', 'UHC'],
  ['gb18030', 'GB18030'],
  ['johab', 'JOHAB'],
]);

export type EncodingVerdict = { ok: true } | { ok: false; message: string };

/** Whether a client may use `value` as its client_encoding; the refusal is safe to show it. */
export function checkClientEncoding(value: string): EncodingVerdict {
  const clean = cleanEncodingName(value);
  if (ACCEPTED.has(clean)) return { ok: true };
  const shown = JSON.stringify(value.slice(0, 64));
  const unsafe = ASCII_UNSAFE.get(clean);
  const why = unsafe
    ? ` (${unsafe} multibyte characters can contain ASCII bytes such as quotes and backslashes, so the server would split statements differently)`
    : '';
  return {
    ok: false,
    message: `sidegate: client_encoding ${shown} is not supported${why}: sidegate inspects statements in UTF8; set client_encoding=UTF8 (PGCLIENTENCODING=UTF8)`,
  };
}
