// Spool records as earlier releases wrote them (version 1: the OTel SDK span's fields), read
// back so an upgrade loses nothing, and re-encoded as OTLP/JSON by the OTel transformer. Loaded
// only when such a record turns up: the running sidecar needs none of these modules otherwise.
import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type HrTime } from '@opentelemetry/api';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { SpanRecordError, isHex, type DecodedSpanRecord } from './span-record.js';

/** A version 1 line as a version 2 record would carry it: the encoded resource and span. */
export function decodeVersion1(line: string): DecodedSpanRecord {
  const body = JsonTraceSerializer.serializeRequest([fromSpanRecord(line, new ResourceCache())]);
  const req = JSON.parse(Buffer.from(body ?? new Uint8Array()).toString('utf8')) as { resourceSpans: { resource: unknown; scopeSpans: { spans: unknown[] }[] }[] };
  const rs = req.resourceSpans[0]!;
  return { resource: JSON.stringify(rs.resource), span: JSON.stringify(rs.scopeSpans[0]!.spans[0]) };
}

interface SpanRecordV1 {
  v: 1;
  traceId: string;
  spanId: string;
  flags: number;
  parentSpanId?: string;
  name: string;
  kind: number;
  start: HrTime;
  end: HrTime;
  attributes: Attributes;
  events: { name: string; time: HrTime; attributes?: Attributes; dropped?: number }[];
  status: { code: number; message?: string };
  resource: Attributes;
  scope: { name: string; version?: string; schemaUrl?: string };
  dropped: [attributes: number, events: number, links: number];
}

/** A version 1 line for an ended SDK span (how earlier releases spooled; kept to test reading them). */
export function toSpanRecord(span: ReadableSpan): string {
  const ctx = span.spanContext();
  const record: SpanRecordV1 = {
    v: 1,
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    flags: ctx.traceFlags,
    parentSpanId: span.parentSpanContext?.spanId,
    name: span.name,
    kind: span.kind,
    start: span.startTime,
    end: span.endTime,
    attributes: span.attributes,
    events: span.events.map((e) => ({ name: e.name, time: e.time, attributes: e.attributes, dropped: e.droppedAttributesCount })),
    status: { code: span.status.code, message: span.status.message },
    resource: span.resource.attributes,
    scope: { ...span.instrumentationScope },
    dropped: [span.droppedAttributesCount, span.droppedEventsCount, span.droppedLinksCount],
  };
  return JSON.stringify(record);
}

/**
 * Resources are shared between spans of one process; rebuilding one per span would make the
 * exporter send one resource block per span. Callers keep one cache per replay; it is bounded.
 */
export class ResourceCache {
  private readonly byKey = new Map<string, Resource>();
  constructor(private readonly max = 32) {}

  get(attrs: Attributes): Resource {
    const key = JSON.stringify(attrs);
    let r = this.byKey.get(key);
    if (!r) {
      if (this.byKey.size >= this.max) this.byKey.clear();
      r = resourceFromAttributes(attrs);
      this.byKey.set(key, r);
    }
    return r;
  }
}


/** Rebuilds a ReadableSpan from a spool line; throws SpanRecordError when the line is not one. */
export function fromSpanRecord(line: string, resources: ResourceCache): ReadableSpan {
  let r: SpanRecordV1;
  try {
    r = JSON.parse(line) as SpanRecordV1;
  } catch {
    throw new SpanRecordError('spool record is not valid JSON');
  }
  if (r?.v !== 1 || !isHex(r.traceId, 32) || !isHex(r.spanId, 16) || !isHrTime(r.start) || !isHrTime(r.end) || typeof r.name !== 'string') {
    throw new SpanRecordError('spool record is not a span record');
  }
  const parent = r.parentSpanId && isHex(r.parentSpanId, 16) ? r.parentSpanId : undefined;
  const events: TimedEvent[] = (Array.isArray(r.events) ? r.events : []).map((e) => ({
    name: String(e.name),
    time: isHrTime(e.time) ? e.time : r.start,
    attributes: e.attributes ?? {},
    droppedAttributesCount: e.dropped ?? 0,
  }));
  const [droppedAttributes = 0, droppedEvents = 0, droppedLinks = 0] = Array.isArray(r.dropped) ? r.dropped : [];
  return {
    name: r.name,
    kind: (r.kind ?? SpanKind.INTERNAL) as SpanKind,
    spanContext: () => ({ traceId: r.traceId, spanId: r.spanId, traceFlags: r.flags ?? TraceFlags.SAMPLED }),
    parentSpanContext: parent ? { traceId: r.traceId, spanId: parent, traceFlags: r.flags ?? TraceFlags.SAMPLED } : undefined,
    startTime: r.start,
    endTime: r.end,
    status: { code: (r.status?.code ?? SpanStatusCode.UNSET) as SpanStatusCode, message: r.status?.message },
    attributes: r.attributes ?? {},
    links: [],
    events,
    duration: hrDuration(r.start, r.end),
    ended: true,
    resource: resources.get(r.resource ?? {}),
    instrumentationScope: { name: String(r.scope?.name ?? 'sidegate.audit'), version: r.scope?.version, schemaUrl: r.scope?.schemaUrl },
    droppedAttributesCount: droppedAttributes,
    droppedEventsCount: droppedEvents,
    droppedLinksCount: droppedLinks,
  };
}


function isHrTime(t: unknown): t is HrTime {
  return Array.isArray(t) && t.length === 2 && t.every((n) => typeof n === 'number' && Number.isFinite(n));
}

function hrDuration(a: HrTime, b: HrTime): HrTime {
  let s = b[0] - a[0];
  let ns = b[1] - a[1];
  if (ns < 0) {
    s -= 1;
    ns += 1_000_000_000;
  }
  return [s, ns];
}
