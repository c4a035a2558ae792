// The character sets a client may speak through sidegate. The server reads a statement's bytes in
// the connection's character set (character_set_client); sidegate inspects them as UTF-8 or byte
// for byte. Both readings agree only for character sets in which every byte below 0x80 is the
// ASCII character and no multibyte sequence contains one: UTF-8, ASCII, latin1 and binary. In
// gbk, sjis, big5, cp932 and friends a second byte can be 0x5C (`\`) or 0x27 (`'`), which is how
// a quote hides from a reader in the wrong charset; UCS-2/UTF-16/UTF-32 put NUL bytes everywhere.
// So everything else is refused: at the handshake (the collation id) and in SET NAMES & co.
import { charsetOfCollation } from './capabilities.js';

export interface ClientCharset {
  /** The character set's name (lower case), or `collation N` when the id is unknown. */
  name: string;
  allowed: boolean;
  /** How sidegate decodes the client's statements in it. */
  decoding: 'utf8' | 'latin1';
  /** Why it is refused (for the client's error message). */
  why?: string;
}

const ALLOWED_NAMES = new Set(['utf8mb4', 'utf8mb3', 'utf8', 'ascii', 'latin1', 'binary']);

const REFUSAL = 'multibyte sequences in it can contain quote and backslash bytes';

/** The character set of a handshake's collation id. */
export function clientCharsetOf(collationId: number): ClientCharset {
  const name = charsetOfCollation(collationId);
  if (name === undefined) return { name: `collation ${collationId}`, allowed: false, decoding: 'latin1', why: 'sidegate does not know this collation' };
  return clientCharsetNamed(name);
}

/** A character set named in SQL (SET NAMES x, SET character_set_client = x); case-insensitive. */
export function clientCharsetNamed(name: string): ClientCharset {
  const lower = name.toLowerCase();
  if (ALLOWED_NAMES.has(lower)) return { name: lower === 'utf8' ? 'utf8mb3' : lower, allowed: true, decoding: decodingOf(lower) };
  return { name: lower, allowed: false, decoding: 'latin1', why: REFUSAL };
}

function decodingOf(name: string): 'utf8' | 'latin1' {
  return name.startsWith('utf8') ? 'utf8' : 'latin1';
}
