// How a sensitive value is replaced. Pure functions; the hash strategy is keyed so the same input
// maps to the same output under one key (joins and GROUP BY still work) and cannot be reversed
// by hashing guesses without the key.
import { createHmac } from 'node:crypto';
import type { MaskStrategy } from '../../core/vocabulary.js';

export const REDACTED = '[REDACTED]';

/** `[REDACTED]` for a whole column value, `[REDACTED:detector]` for a match inside text. */
export function redact(detector?: string): string {
  return detector ? `[REDACTED:${detector}]` : REDACTED;
}

/** Values this short are starred entirely: first and last character would be most of them. */
const FULLY_STARRED_MAX = 4;
const EMAIL = /^[^@\s]+@[^@\s]+$/;
const CARD_LIKE = /^[0-9][0-9 -]{11,}[0-9]$/;

/**
 * Keeps a little context: `a***@example.com`, `************1111`, otherwise the first and last
 * character with one `*` per hidden character (`s**********e`).
 */
export function partial(value: string, detector?: string): string {
  if (detector === 'email' || (detector === undefined && EMAIL.test(value))) {
    const at = value.lastIndexOf('@');
    if (at > 0) return `${firstChar(value)}***${value.slice(at)}`;
  }
  if (detector === 'payment-card' || (detector === undefined && CARD_LIKE.test(value))) {
    const digits = value.replace(/[^0-9]/g, '');
    if (digits.length >= 13 && digits.length <= 19) return '*'.repeat(digits.length - 4) + digits.slice(-4);
  }
  const chars = [...value];
  if (chars.length <= FULLY_STARRED_MAX) return '*'.repeat(chars.length);
  return chars[0] + '*'.repeat(chars.length - 2) + chars[chars.length - 1];
}

/** `hash:` + the first 16 hex characters of HMAC-SHA256(key, value); a string is hashed as UTF-8. */
export function keyedHash(value: string | Buffer, key: Buffer): string {
  const hmac = createHmac('sha256', key);
  if (typeof value === 'string') hmac.update(value, 'utf8');
  else hmac.update(value);
  return 'hash:' + hmac.digest('hex').slice(0, 16);
}

/**
 * Applies `strategy` to a sensitive value (`detector` set: a match inside text). `key` is checked
 * when the masker is built; a missing one here is a programming error.
 */
export function applyStrategy(strategy: MaskStrategy, value: string, key: Buffer | undefined, detector?: string): string {
  switch (strategy) {
    case 'redact':
      return redact(detector);
    case 'partial':
      return partial(value, detector);
    case 'hash':
      if (!key || key.length === 0) throw new Error('the hash masking strategy needs a masking key');
      return keyedHash(value, key);
  }
}

/**
 * How much a strategy hides: when two rules cover the same column or detector, the one that hides
 * more wins, so the outcome does not depend on rule order (redact hides everything, hash keeps
 * equality, partial keeps characters).
 */
export function strategyStrength(strategy: MaskStrategy): number {
  return strategy === 'redact' ? 3 : strategy === 'hash' ? 2 : 1;
}

function firstChar(value: string): string {
  return String.fromCodePoint(value.codePointAt(0)!);
}
