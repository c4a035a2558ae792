// A cookie whose value is sealed: AES-256-GCM under a key derived for one purpose from the
// session secrets (cookie-keys.ts), carrying a JSON value with its issue time and absolute expiry.
// The browser holds the state, so any replica with the same secrets reads it, and nothing is kept
// per process. The value is confidential (a login's PKCE verifier, an approver's groups) and cannot
// be altered, extended or moved to another purpose without the key.
//
//   cookie value = base64url( version(1) | iv(12) | ciphertext | tag(16) ),  AAD = version
//   plaintext    = JSON { iat, exp, v }   (milliseconds since the epoch)
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkedSecrets, purposeKey } from './cookie-keys.js';
import { cookieName, cookieValues, setCookie } from './cookie-header.js';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/**
 * Most characters of `name=value`: browsers keep cookies up to 4096 bytes with attributes; a
 * larger one would be dropped silently and the approver sent round a login loop.
 */
export const MAX_COOKIE_CHARS = 3800;

export interface SealedCookieOptions<T> {
  /** Cookie name; over https it gets the `__Host-` prefix. */
  name: string;
  /** What the cookie is for; its key is derived for this purpose alone. */
  purpose: string;
  /** The first seals, all open (rotation). At least 32 bytes each. */
  secrets: readonly Buffer[];
  ttlMs: number;
  /** The page is served over https: Secure and `__Host-`. */
  secure: boolean;
  /** The value's shape, checked after opening; undefined refuses it. */
  parse(value: unknown): T | undefined;
  now?: () => number;
}

export interface OpenedCookie<T> {
  value: T;
  issuedAt: number;
  expiresAt: number;
  /** Which secret opened it (0 = the one that seals now). */
  secretIndex: number;
}

export class SealedCookie<T> {
  readonly name: string;
  private readonly keys: Buffer[];
  private readonly now: () => number;

  constructor(private readonly opts: SealedCookieOptions<T>) {
    this.name = cookieName(opts.name, opts.secure);
    this.keys = checkedSecrets(opts.secrets).map((secret) => purposeKey(secret, opts.purpose));
    this.now = opts.now ?? Date.now;
  }

  /** The sealed cookie value for `value`, or undefined when it would be too large for a browser. */
  seal(value: T): string | undefined {
    const iat = this.now();
    const plaintext = Buffer.from(JSON.stringify({ iat, exp: iat + this.opts.ttlMs, v: value }));
    const header = Buffer.of(VERSION);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys[0] as Buffer, iv);
    cipher.setAAD(header);
    const sealed = Buffer.concat([header, iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]).toString('base64url');
    return this.name.length + 1 + sealed.length <= MAX_COOKIE_CHARS ? sealed : undefined;
  }

  /** The value a sealed cookie value holds, or undefined: malformed, altered, foreign key, expired, wrong shape. */
  open(text: string): OpenedCookie<T> | undefined {
    if (text.length > MAX_COOKIE_CHARS || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
    const bytes = Buffer.from(text, 'base64url');
    if (bytes.length < 1 + IV_BYTES + TAG_BYTES || bytes[0] !== VERSION) return undefined;
    const header = bytes.subarray(0, 1);
    const iv = bytes.subarray(1, 1 + IV_BYTES);
    const ciphertext = bytes.subarray(1 + IV_BYTES, bytes.length - TAG_BYTES);
    const tag = bytes.subarray(bytes.length - TAG_BYTES);
    for (const [secretIndex, key] of this.keys.entries()) {
      const plaintext = decrypt(key, header, iv, ciphertext, tag);
      if (plaintext === undefined) continue;
      const opened = this.checked(plaintext, secretIndex);
      if (opened) return opened;
    }
    return undefined;
  }

  /** Sets the cookie to `value`; false (and nothing set) when it would be too large. */
  set(res: ServerResponse, value: T): boolean {
    const sealed = this.seal(value);
    if (sealed === undefined) return false;
    setCookie(res, this.name, sealed, Math.ceil(this.opts.ttlMs / 1000), this.opts.secure);
    return true;
  }

  /** The first of the request's cookies of this name that opens (a planted one beside it does not hide it). */
  read(req: IncomingMessage): OpenedCookie<T> | undefined {
    for (const text of cookieValues(req.headers.cookie, this.name)) {
      const opened = this.open(text);
      if (opened) return opened;
    }
    return undefined;
  }

  /** Tells the browser to drop the cookie. */
  clear(res: ServerResponse): void {
    setCookie(res, this.name, '', 0, this.opts.secure);
  }

  private checked(plaintext: Buffer, secretIndex: number): OpenedCookie<T> | undefined {
    let body: unknown;
    try {
      body = JSON.parse(plaintext.toString('utf8'));
    } catch {
      return undefined;
    }
    const { iat, exp, v } = (body ?? {}) as { iat?: unknown; exp?: unknown; v?: unknown };
    if (typeof iat !== 'number' || typeof exp !== 'number') return undefined;
    // This replica's lifetime caps the sealer's: shortening the TTL takes effect on cookies already out.
    const expiresAt = Math.min(exp, iat + this.opts.ttlMs);
    if (expiresAt <= this.now()) return undefined;
    const value = this.opts.parse(v);
    return value === undefined ? undefined : { value, issuedAt: iat, expiresAt, secretIndex };
  }
}

function decrypt(key: Buffer, header: Buffer, iv: Buffer, ciphertext: Buffer, tag: Buffer): Buffer | undefined {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(header);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    return undefined;
  }
}
