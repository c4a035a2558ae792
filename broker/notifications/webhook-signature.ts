// The generic webhook's signature: HMAC-SHA256 over "<timestamp>.<body>" with the receiver's
// shared secret, sent as `X-Sidegate-Signature: v1=<hex>` beside `X-Sidegate-Timestamp` (unix
// seconds). Signing the timestamp with the body lets a receiver refuse replays: it checks the
// signature in constant time and refuses timestamps more than five minutes from its clock.
// docs/APPROVALS-NOTIFICATIONS.md gives the same recipe for receivers in other languages.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-sidegate-signature';
export const TIMESTAMP_HEADER = 'x-sidegate-timestamp';
export const DELIVERY_HEADER = 'x-sidegate-delivery';
export const EVENT_HEADER = 'x-sidegate-event';
/** How far a receiver lets a timestamp be from its own clock, either way. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

const SCHEME = 'v1';

/** The header value for `body` sent at `timestamp` (unix seconds). */
export function signWebhookBody(secret: string, timestamp: number, body: string): string {
  return `${SCHEME}=${hmacHex(secret, timestamp, body)}`;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: 'missing' | 'malformed' | 'stale' | 'mismatch' };

export interface SignedDelivery {
  /** The raw body exactly as received (before any JSON parsing). */
  body: string | Buffer;
  /** `X-Sidegate-Timestamp` */
  timestamp: string | undefined;
  /** `X-Sidegate-Signature`: one or more comma-separated `v1=<hex>` (several during a secret's rotation). */
  signature: string | undefined;
}

/** Whether a delivery was signed with `secret` within `toleranceSeconds` of `nowSeconds`. */
export function verifyWebhookSignature(
  secret: string,
  delivery: SignedDelivery,
  nowSeconds = Math.floor(Date.now() / 1000),
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): SignatureCheck {
  if (!delivery.timestamp || !delivery.signature) return { ok: false, reason: 'missing' };
  if (!/^\d{1,12}$/.test(delivery.timestamp)) return { ok: false, reason: 'malformed' };
  const timestamp = Number(delivery.timestamp);
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return { ok: false, reason: 'stale' };
  const expected = Buffer.from(hmacHex(secret, timestamp, delivery.body), 'hex');
  const offered = delivery.signature
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.startsWith(`${SCHEME}=`))
    .map((part) => part.slice(SCHEME.length + 1));
  if (offered.length === 0 || offered.some((hex) => !/^[0-9a-f]{64}$/.test(hex))) return { ok: false, reason: 'malformed' };
  // Every candidate is compared, in constant time, so timing tells nothing about which matched.
  let match = false;
  for (const hex of offered) match = timingSafeEqual(Buffer.from(hex, 'hex'), expected) || match;
  return match ? { ok: true } : { ok: false, reason: 'mismatch' };
}

function hmacHex(secret: string, timestamp: number, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}
