// Does a client's password field hold a JWT? The PostgreSQL adapter (and the others) ask this to
// decide between "the client presented its CI OIDC token" and "use the pod's token file".
//
// Three base64url segments alone would also match passwords such as `my.pass.word`, so the header
// segment must decode to a JSON object with a string `alg`: a real JWT always has one. The
// signature segment may be empty (an `alg: none` token still *is* a JWT, and verification rejects
// it with a clear message instead of silently falling back to the pod identity).

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** A JOSE header is a few dozen bytes; a bound keeps decoding cheap for hostile input. */
const MAX_HEADER_SEGMENT_CHARS = 4096;

export function looksLikeJwt(value: string): boolean {
  if (!JWT_SHAPE.test(value)) return false;
  const headerSegment = value.slice(0, value.indexOf('.'));
  if (headerSegment.length > MAX_HEADER_SEGMENT_CHARS) return false;
  try {
    const header: unknown = JSON.parse(Buffer.from(headerSegment, 'base64url').toString('utf8'));
    return typeof header === 'object' && header !== null && !Array.isArray(header) && typeof (header as { alg?: unknown }).alg === 'string';
  } catch {
    return false;
  }
}
