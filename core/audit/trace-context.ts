// W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header): how
// one service's evidence names a span of another's — a held statement's span in the broker's
// decision spans, an exchange's span in the sessions that used its credential. One reading for
// the sidecar, the broker and the exchange. Pure; anything malformed names no span.

export interface SpanContext {
  /** 32 lowercase hex digits, not all zero. */
  traceId: string;
  /** 16 lowercase hex digits, not all zero. */
  spanId: string;
}

const VERSION_00 = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;
const ANY_VERSION = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

const allZero = (hex: string) => /^0+$/.test(hex);

/** The span a version-00 traceparent names (what our services write and store), or undefined. */
export function spanContextOf(traceparent: string | undefined): SpanContext | undefined {
  const m = traceparent === undefined ? null : VERSION_00.exec(traceparent);
  if (!m || allZero(m[1]!) || allZero(m[2]!)) return undefined;
  return { traceId: m[1]!, spanId: m[2]! };
}

/** The traceparent naming a span; audit spans are always recorded, so sampled (flags 01). */
export function traceparentOf(span: SpanContext): string {
  return `00-${span.traceId}-${span.spanId}-01`;
}

/**
 * A `traceparent` header as a receiver reads it: a later version may add fields, version ff is
 * invalid, a repeated header (an array) is not trusted.
 */
export function parseTraceparentHeader(header: string | string[] | undefined): SpanContext | undefined {
  if (typeof header !== 'string' || header.length > 512) return undefined;
  const m = ANY_VERSION.exec(header.trim());
  if (!m) return undefined;
  const [, version, traceId, spanId] = m as unknown as [string, string, string, string];
  if (version === 'ff' || (version === '00' && m[5] !== undefined)) return undefined;
  if (allZero(traceId) || allZero(spanId)) return undefined;
  return { traceId, spanId };
}
