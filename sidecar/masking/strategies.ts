// How a sensitive value is replaced. Pure functions; the hash strategy is keyed so the same input
// maps to the same output under one key (joins and GROUP BY still work) and cannot be reversed
// by hashing guesses without the key.
import { createHmac } from 'node:crypto';
import type { MaskStrategy } from '../../policies/model.js';

export function redact(detector?: string): string {
  return detector ? `[REDACTED:${detector}]` : '[REDACTED]';
}

export function partial(value: string, detector?: string): string {
  if (detector === 'email' || (!detector && /^[^@\s]+@[^@\s]+$/.test(value))) {
    const at = value.lastIndexOf('@');
    if (at > 0) return `${value[0]}***${value.slice(at)}`;
  }
  const digits = value.replace(/[ -]/g, '');
  if (detector === 'payment-card' || (/^[0-9 -]{13,23}$/.test(value) && digits.length >= 13)) {
    return '*'.repeat(Math.max(0, digits.length - 4)) + digits.slice(-4);
  }
  const chars = [...value];
  if (chars.length <= 4) return '*'.repeat(chars.length);
  return chars[0] + '*'.repeat(chars.length - 2) + chars[chars.length - 1];
}

export function keyedHash(value: string, key: Buffer): string {
  return 'hash:' + createHmac('sha256', key).update(value, 'utf8').digest('hex').slice(0, 16);
}

export function applyStrategy(strategy: MaskStrategy, value: string, key: Buffer | undefined, detector?: string): string {
  switch (strategy) {
    case 'redact':
      return redact(detector);
    case 'partial':
      return partial(value, detector);
    case 'hash':
      if (!key) throw new Error('the hash strategy needs a masking key');
      return keyedHash(value, key);
  }
}
