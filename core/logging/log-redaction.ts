// The second line of defence behind "callers pass facts, never secrets": a field named like a
// secret is censored whatever its value, in a line's fields and in a child logger's. The first
// line is the call sites, which name logins and outcomes, never passwords or tokens.

/** Field names censored on every line (pino `redact` paths; fields are flat, so top-level keys). */
export const REDACTED_FIELDS: readonly string[] = [
  'password',
  'passwd',
  'pwd',
  'secret',
  'clientSecret',
  'client_secret',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'idToken',
  'id_token',
  'subjectToken',
  'subject_token',
  'bearer',
  'authorization',
  'Authorization',
  'cookie',
  'apiKey',
  'api_key',
  'privateKey',
  'private_key',
  'connectionString',
];

export const REDACTION_CENSOR = '[redacted]';
