// One ended span as one line of the spool, and back. The spool must survive a restart, so a line
// carries everything needed to send the span exactly as it would have been sent live.
//
// A line is `{"v":2,"resource":<OTLP Resource>,"span":<OTLP span>}`, the OTLP/JSON encoding made
// once when the span ended (otlp-span-json.ts), so replaying is re-joining text. Any other line is
// damaged (the spooling sink quarantines it). Pure: no I/O.

/** A spool record as the exporter needs it: the encoded Resource and the encoded span. */
export interface DecodedSpanRecord {
  resource: string;
  span: string;
}

/** Everything of a line before the span (a record is this, the span, and `}`). */
export function spanRecordPrefix(resourceJson: string): string {
  return `{"v":2,"resource":${resourceJson},"span":`;
}

/** Decodes a spool line; throws SpanRecordError when it is not a span record. */
export function decodeSpanRecord(line: string): DecodedSpanRecord {
  let r: { v?: unknown; resource?: unknown; span?: Record<string, unknown> };
  try {
    r = JSON.parse(line) as typeof r;
  } catch {
    throw new SpanRecordError('spool record is not valid JSON');
  }
  const span = r?.span;
  if (r?.v !== 2 || typeof r.resource !== 'object' || r.resource === null || typeof span !== 'object' || span === null) {
    throw new SpanRecordError('spool record is not a span record');
  }
  if (!isHex(span['traceId'], 32) || !isHex(span['spanId'], 16) || typeof span['name'] !== 'string' || !isNanos(span['startTimeUnixNano']) || !isNanos(span['endTimeUnixNano'])) {
    throw new SpanRecordError('spool record is not a span record');
  }
  return { resource: JSON.stringify(r.resource), span: JSON.stringify(span) };
}

function isNanos(s: unknown): boolean {
  return typeof s === 'string' && /^[0-9]{1,20}$/.test(s);
}

export class SpanRecordError extends Error {}

export function isHex(s: unknown, len: number): s is string {
  return typeof s === 'string' && s.length === len && /^[0-9a-f]+$/.test(s);
}
