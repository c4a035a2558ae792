// SCRAM-SHA-256 client (RFC 5802, RFC 7677) as a pure state machine: the upstream login feeds it
// the server's messages and sends what it returns. No I/O except the nonce's randomness.
//
// The server's signature is always verified: a server (or man in the middle) that does not know
// the password cannot complete the exchange. With `channelBinding` (SCRAM-SHA-256-PLUS,
// tls-server-end-point) the exchange is also bound to the TLS certificate the client saw, so a
// TLS-terminating man in the middle is caught even in `require` mode.
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export class ScramError extends Error {
  override readonly name = 'ScramError';
}

export interface ScramClient {
  /** 'SCRAM-SHA-256-PLUS' when channel binding data was given, else 'SCRAM-SHA-256'. */
  readonly mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-256-PLUS';
  clientFirstMessage(): string;
  /** Takes server-first-message, returns client-final-message. */
  handleServerFirst(serverFirst: string): string;
  /** Throws ScramError unless server-final-message proves the server knows the password. */
  verifyServerFinal(serverFinal: string): void;
  /** True once verifyServerFinal succeeded. */
  readonly verified: boolean;
}

export interface ScramOptions {
  /** tls-server-end-point data (see `tlsServerEndPoint`): selects SCRAM-SHA-256-PLUS. */
  channelBinding?: Buffer;
  /**
   * The client supports channel binding but the server did not offer -PLUS: the gs2 flag 'y'
   * lets a server that does support it detect a downgrade.
   */
  clientSupportsBinding?: boolean;
  /** Fixed nonce, for tests against RFC vectors only. */
  nonce?: string;
  /** SCRAM user name. PostgreSQL ignores it (the startup user counts), so libpq sends it empty. */
  user?: string;
}

/** Bounds the PBKDF2 work a hostile server can make us do (PostgreSQL's default is 4096). */
export const MAX_SCRAM_ITERATIONS = 1_000_000;

export function createScramClient(password: string, opts: ScramOptions = {}): ScramClient {
  const nonce = opts.nonce ?? randomBytes(18).toString('base64');
  const gs2Header = opts.channelBinding ? 'p=tls-server-end-point,,' : opts.clientSupportsBinding ? 'y,,' : 'n,,';
  const clientFirstBare = `n=${saslName(opts.user ?? '')},r=${nonce}`;
  let state: 'initial' | 'first-sent' | 'final-sent' | 'verified' = 'initial';
  let serverSignature: Buffer | undefined;

  return {
    mechanism: opts.channelBinding ? 'SCRAM-SHA-256-PLUS' : 'SCRAM-SHA-256',
    get verified() {
      return state === 'verified';
    },
    clientFirstMessage(): string {
      if (state !== 'initial') throw new ScramError('SCRAM exchange already started');
      state = 'first-sent';
      return gs2Header + clientFirstBare;
    },
    handleServerFirst(serverFirst: string): string {
      if (state !== 'first-sent') throw new ScramError('unexpected SCRAM server-first message');
      const attrs = parseAttributes(serverFirst);
      const serverNonce = attrs.get('r');
      const salt = attrs.get('s');
      const iterations = Number(attrs.get('i'));
      if (attrs.has('m')) throw new ScramError('SCRAM server requires an unsupported extension');
      if (!serverNonce || !salt || !Number.isSafeInteger(iterations) || iterations < 1) {
        throw new ScramError('malformed SCRAM server-first message');
      }
      if (!serverNonce.startsWith(nonce) || serverNonce.length === nonce.length) {
        throw new ScramError('SCRAM server nonce does not extend the client nonce');
      }
      if (iterations > MAX_SCRAM_ITERATIONS) throw new ScramError('SCRAM iteration count is unreasonably high');

      const saltedPassword = pbkdf2Sync(Buffer.from(saslPrep(password), 'utf8'), Buffer.from(salt, 'base64'), iterations, 32, 'sha256');
      const clientKey = hmac(saltedPassword, 'Client Key');
      const storedKey = createHash('sha256').update(clientKey).digest();
      const cbindInput = opts.channelBinding ? Buffer.concat([Buffer.from(gs2Header), opts.channelBinding]) : Buffer.from(gs2Header);
      const clientFinalWithoutProof = `c=${cbindInput.toString('base64')},r=${serverNonce}`;
      const authMessage = `${clientFirstBare},${serverFirst},${clientFinalWithoutProof}`;
      const clientSignature = hmac(storedKey, authMessage);
      const proof = Buffer.allocUnsafe(clientKey.length);
      for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ clientSignature[i]!;
      serverSignature = hmac(hmac(saltedPassword, 'Server Key'), authMessage);
      state = 'final-sent';
      return `${clientFinalWithoutProof},p=${proof.toString('base64')}`;
    },
    verifyServerFinal(serverFinal: string): void {
      if (state !== 'final-sent' || !serverSignature) throw new ScramError('unexpected SCRAM server-final message');
      const attrs = parseAttributes(serverFinal);
      // RFC 5802 server-error values are a fixed vocabulary (e.g. invalid-proof): safe to show.
      const error = attrs.get('e');
      if (error !== undefined) throw new ScramError(`SCRAM authentication failed: ${error.slice(0, 64)}`);
      const v = attrs.get('v');
      if (!v) throw new ScramError('malformed SCRAM server-final message');
      const got = Buffer.from(v, 'base64');
      if (got.length !== serverSignature.length || !timingSafeEqual(got, serverSignature)) {
        throw new ScramError('SCRAM server signature does not match: the server did not prove it knows the password');
      }
      state = 'verified';
    },
  };
}

/** RFC 5802 saslname: ',' and '=' are escaped. */
function saslName(user: string): string {
  return user.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** `a=value,b=value`: single-letter attribute names; values may contain '=' (base64). */
function parseAttributes(msg: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of msg.split(',')) {
    if (part.length < 2 || part[1] !== '=') throw new ScramError('malformed SCRAM message');
    out.set(part[0]!, part.slice(2));
  }
  return out;
}

// ───────────────────────────── SASLprep (lite) ─────────────────────────────

// RFC 3454 B.1: "commonly mapped to nothing".
const MAPPED_TO_NOTHING = /[\u00AD\u034F\u1806\u180B-\u180D\u200B-\u200D\u2060\uFE00-\uFE0F\uFEFF]/g;
// RFC 3454 C.1.2: non-ASCII spaces, mapped to U+0020.
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g;
// A subset of the prohibited output (C.2 controls, C.3 private use, C.5 surrogates, C.8 some
// display/bidi controls, C.9 tagging): presence means "not a SASLprep string".
const PROHIBITED = /[\u0000-\u001F\u007F-\u009F\u06DD\u070F\u180E\u200E\u200F\u202A-\u202E\u2028\u2029\u2061-\u2063\u206A-\u206F\uE000-\uF8FF\uFFF9-\uFFFF\uD800-\uDFFF]|[\u{F0000}-\u{10FFFF}]|[\u{E0001}\u{E0020}-\u{E007F}]/u;

/**
 * SASLprep as PostgreSQL applies it: when the password is not a valid SASLprep string the raw
 * bytes are used, so a failure here falls back to the password unchanged, like the server does.
 * Not implemented: the unassigned-code-point check (A.1) and the bidi rule (RFC 3454 §6); both
 * only matter for passwords containing such characters, which then may not match the server.
 */
export function saslPrep(password: string): string {
  if (/^[\x20-\x7E]*$/.test(password)) return password; // the common case: nothing to normalise
  const mapped = password.replace(MAPPED_TO_NOTHING, '').replace(NON_ASCII_SPACE, ' ').normalize('NFKC');
  if (mapped.length === 0 || PROHIBITED.test(mapped)) return password;
  return mapped;
}

// ───────────────────────────── channel binding ─────────────────────────────

/**
 * tls-server-end-point channel binding data (RFC 5929): the hash of the server certificate
 * (DER), using the certificate's signature hash, with MD5/SHA-1 upgraded to SHA-256. Returns
 * null when the signature algorithm is one PostgreSQL cannot bind either (RSASSA-PSS, EdDSA),
 * in which case the caller falls back to plain SCRAM-SHA-256.
 */
export function tlsServerEndPoint(certificateDer: Buffer): Buffer | null {
  const hash = signatureHashOf(certificateDer);
  return hash ? createHash(hash).update(certificateDer).digest() : null;
}

const SIGNATURE_HASHES: Record<string, string> = {
  '1.2.840.113549.1.1.4': 'sha256', // md5WithRSAEncryption → sha256
  '1.2.840.113549.1.1.5': 'sha256', // sha1WithRSAEncryption → sha256
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.113549.1.1.14': 'sha224',
  '1.2.840.10045.4.1': 'sha256', // ecdsa-with-SHA1 → sha256
  '1.2.840.10045.4.3.1': 'sha224',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.10040.4.3': 'sha256', // dsa-with-sha1 → sha256
  '2.16.840.1.101.3.4.3.2': 'sha256', // dsa-with-sha256
};

/** Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm SEQUENCE { OID … }, … } */
function signatureHashOf(der: Buffer): string | null {
  try {
    const cert = derHeader(der, 0, 0x30);
    const tbs = derHeader(der, cert.contentStart, 0x30);
    const algorithm = derHeader(der, tbs.contentStart + tbs.length, 0x30);
    const oid = derHeader(der, algorithm.contentStart, 0x06);
    return SIGNATURE_HASHES[decodeOid(der.subarray(oid.contentStart, oid.contentStart + oid.length))] ?? null;
  } catch {
    return null;
  }
}

function derHeader(der: Buffer, pos: number, expectedTag: number): { contentStart: number; length: number } {
  if (der[pos] !== expectedTag) throw new Error('unexpected DER tag');
  let length = der[pos + 1]!;
  let contentStart = pos + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes < 1 || bytes > 4) throw new Error('unsupported DER length');
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[contentStart + i]!;
    contentStart += bytes;
  }
  if (contentStart + length > der.length) throw new Error('truncated DER');
  return { contentStart, length };
}

function decodeOid(bytes: Buffer): string {
  const parts: number[] = [];
  let value = 0;
  for (const b of bytes) {
    value = value * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      parts.push(value);
      value = 0;
    }
  }
  const first = parts.shift() ?? 0;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...parts].join('.');
}
