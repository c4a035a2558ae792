// The OAuth error answer (RFC 6749 §5.2, RFC 8693 §2.2.2, RFC 7009 §2.2.1): a code the client acts
// on, a description for the human reading its log, the status that goes with the code. Pure.
//
// Descriptions are written by us and may quote untrusted input only through quoteUntrusted; they
// never hold a token or a credential. RFC 6749 restricts error_description to printable ASCII
// without `"` and `\`, which `descriptionText` enforces.

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'unsupported_token_type'
  | 'server_error'
  | 'temporarily_unavailable';

export class OAuthError extends Error {
  override readonly name = 'OAuthError';

  constructor(
    readonly code: OAuthErrorCode,
    readonly description: string,
  ) {
    super(`${code}: ${description}`);
  }
}

export interface OAuthErrorAnswer {
  status: number;
  body: { error: OAuthErrorCode; error_description: string };
  /** invalid_client answers 401 with a challenge (RFC 6749 §5.2). */
  headers: Record<string, string>;
}

/** The HTTP status of each code: 400 unless the RFCs say otherwise. */
export function statusOf(code: OAuthErrorCode): number {
  switch (code) {
    case 'invalid_client':
      return 401;
    case 'server_error':
      return 500;
    case 'temporarily_unavailable':
      return 503;
    default:
      return 400;
  }
}

const MAX_DESCRIPTION_CHARS = 300;

/** printable ASCII minus `"` and `\` (RFC 6749 §5.2's NQSCHAR), bounded. */
export function descriptionText(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/g, '?');
  return clean.length > MAX_DESCRIPTION_CHARS ? `${clean.slice(0, MAX_DESCRIPTION_CHARS - 3)}...` : clean;
}

export function oauthErrorAnswer(error: OAuthError): OAuthErrorAnswer {
  return {
    status: statusOf(error.code),
    body: { error: error.code, error_description: descriptionText(error.description) },
    headers: error.code === 'invalid_client' ? { 'www-authenticate': 'Bearer realm="sidegate-exchange", error="invalid_client"' } : {},
  };
}
