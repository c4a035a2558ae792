// The one error type token verification throws. `message` is written to be shown to the client
// as-is (it ends up in a PostgreSQL ErrorResponse, an HTTP 403 body…), so it never contains the
// token, a key or anything fetched from the network verbatim.

export type IdentityErrorCode =
  | 'malformed'
  | 'unknown-issuer'
  | 'bad-signature'
  | 'expired'
  | 'not-yet-valid'
  | 'wrong-audience'
  | 'jwks-unavailable';

export class IdentityError extends Error {
  override readonly name = 'IdentityError';

  constructor(
    readonly code: IdentityErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const MAX_QUOTED_CHARS = 120;

/**
 * Render an attacker-controlled value (an unverified `iss`, `kid`, `aud`…) for an error message:
 * bounded, control characters replaced, so a crafted token cannot forge log lines or flood a client.
 */
export function quoteUntrusted(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > MAX_QUOTED_CHARS ? `${clean.slice(0, MAX_QUOTED_CHARS)}…` : clean;
}

/** Seconds since the epoch → `2026-11-22T10:00:00Z` (no milliseconds: JWT times are whole seconds). */
export function formatNumericDate(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
