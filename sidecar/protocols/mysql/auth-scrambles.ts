// What each authentication plugin answers to the server's nonce, as pure functions of the
// password and the nonce. The password never leaves these functions except inside the answer.
// mysql2 has the native and caching_sha2 formulas, but its package exports only its entry point
// (lib/ is not importable), and it has no client_ed25519: these few lines are our own.
import { constants, createHash, publicEncrypt } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';

export const MYSQL_NATIVE_PASSWORD = 'mysql_native_password';
export const CACHING_SHA2_PASSWORD = 'caching_sha2_password';
export const CLIENT_ED25519 = 'client_ed25519';
export const MYSQL_CLEAR_PASSWORD = 'mysql_clear_password';
/** The plugins this module can answer. */
export const SUPPORTED_AUTH_PLUGINS: ReadonlySet<string> = new Set([MYSQL_NATIVE_PASSWORD, CACHING_SHA2_PASSWORD, CLIENT_ED25519, MYSQL_CLEAR_PASSWORD]);

const sha1 = (...parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash('sha1')).digest();
const sha256 = (...parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest();
const sha512 = (...parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash('sha512')).digest();

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i % b.length]!;
  return out;
}

const bytesOf = (password: string | Buffer) => (typeof password === 'string' ? Buffer.from(password, 'utf8') : password);

/** The 20-byte scramble: the nonce as sent may carry a trailing NUL. */
function scramble20(nonce: Buffer): Buffer {
  if (nonce.length < 20) throw new RangeError(`authentication nonce too short: ${nonce.length} bytes`);
  return nonce.subarray(0, 20);
}

/** mysql_native_password: SHA1(pw) XOR SHA1(nonce ‖ SHA1(SHA1(pw))); empty for an empty password. */
export function nativePasswordScramble(password: string | Buffer, nonce: Buffer): Buffer {
  const pw = bytesOf(password);
  if (pw.length === 0) return Buffer.alloc(0);
  const stage1 = sha1(pw);
  return xor(stage1, sha1(scramble20(nonce), sha1(stage1)));
}

/** caching_sha2_password fast auth: SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) ‖ nonce); empty for an empty password. */
export function cachingSha2Scramble(password: string | Buffer, nonce: Buffer): Buffer {
  const pw = bytesOf(password);
  if (pw.length === 0) return Buffer.alloc(0);
  const stage1 = sha256(pw);
  return xor(stage1, sha256(sha256(stage1), scramble20(nonce)));
}

/** caching_sha2 (and sha256_password) full auth over TLS: the password in clear, NUL-terminated. */
export function clearPasswordPayload(password: string | Buffer): Buffer {
  const pw = bytesOf(password);
  if (pw.includes(0)) throw new RangeError('a password cannot contain NUL');
  return Buffer.concat([pw, Buffer.from([0])]);
}

/** mysql_clear_password: the same NUL-terminated password (only ever sent over TLS). */
export const mysqlClearPassword = clearPasswordPayload;

/**
 * caching_sha2 full auth without TLS: (password ‖ NUL) XOR the nonce (repeated), encrypted with
 * the server's RSA public key, OAEP padding (SHA-1, as MySQL 8.0.5+ expects).
 */
export function rsaEncryptedPassword(password: string | Buffer, nonce: Buffer, publicKeyPem: string | Buffer): Buffer {
  const mixed = xor(clearPasswordPayload(password), scramble20(nonce));
  return publicEncrypt({ key: publicKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, mixed);
}

/** caching_sha2's AuthMoreData statuses, and the request for the server's public key. */
export const CACHING_SHA2_FAST_AUTH_OK = 0x03;
export const CACHING_SHA2_PERFORM_FULL_AUTH = 0x04;
export const CACHING_SHA2_REQUEST_PUBLIC_KEY = 0x02;

const L = ed25519.Point.Fn.ORDER;
/** s·B, for any scalar in [0, L). (noble's multiply refuses 0, whose product is the identity.) */
const baseMultiply = (s: bigint) => Buffer.from((s === 0n ? ed25519.Point.ZERO : ed25519.Point.BASE.multiply(s)).toBytes());
const leToBigInt = (b: Uint8Array) => BigInt(`0x${Buffer.from(b).reverse().toString('hex') || '0'}`);
const bigIntToLe32 = (n: bigint) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex').reverse();

/** MariaDB client_ed25519's key pair: the password's SHA-512 stands where Ed25519 has SHA-512(seed). */
function ed25519Keys(password: Buffer): { a: bigint; prefix: Buffer; publicKey: Buffer } {
  const az = sha512(password);
  const scalar = Buffer.from(az.subarray(0, 32));
  scalar[0]! &= 248;
  scalar[31]! &= 63;
  scalar[31]! |= 64;
  const a = leToBigInt(scalar) % L;
  return { a, prefix: az.subarray(32), publicKey: baseMultiply(a) };
}

/** The public key MariaDB stores for a client_ed25519 password (`ed25519_password('…')` is its base64). */
export function ed25519PublicKey(password: string | Buffer): Buffer {
  return ed25519Keys(bytesOf(password)).publicKey;
}

/** MariaDB client_ed25519: an Ed25519 signature of the 32-byte nonce with the password-derived key. */
export function ed25519Signature(password: string | Buffer, nonce: Buffer): Buffer {
  if (nonce.length < 32) throw new RangeError(`client_ed25519 nonce too short: ${nonce.length} bytes`);
  const m = nonce.subarray(0, 32);
  const { a, prefix, publicKey } = ed25519Keys(bytesOf(password));
  const r = leToBigInt(sha512(prefix, m)) % L;
  const R = baseMultiply(r);
  const k = leToBigInt(sha512(R, publicKey, m)) % L;
  const S = (r + k * a) % L;
  return Buffer.concat([R, bigIntToLe32(S)]);
}
