// OTLP/JSON encoding of ended audit spans, written directly from our own span records.
//
// Why not the OTel SDK's span and transformer: every command gets a span, and building an SDK
// Span, reading it back for the hash, serializing it for the spool, parsing it again and letting
// the transformer build an object tree to stringify costs more than the proxying itself
// (docs/BENCHMARKS.md, Design measurements). A span is
// encoded here once, as the exact OTLP/JSON the collector receives; the spool stores that text and
// an export body is those texts joined. The encoding follows the OTLP/JSON mapping as
// @opentelemetry/otlp-transformer writes it (hex ids, decimal-string nanoseconds, kind offset by
// one, integer attributes as intValue) and a test compares the two span by span. Pure: no I/O.
import type { BoundedValue } from './attribute-values.js';

/** OTLP span kinds (the proto enum, not the API's). */
export const OTLP_SPAN_KIND = { internal: 1, server: 2, client: 3 } as const;

/** A span this one refers to without being its child: another trace's, or another process's. */
export interface SpanLink {
  traceId: string;
  spanId: string;
}

/** An ended span as the audit trail records it; also what the hash chain covers. */
export interface EndedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  /** Decimal nanoseconds since the epoch. */
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, BoundedValue>;
  /**
   * Attributes shared with other spans (an AttributeSet's values), under `attributes`: a key in
   * both takes its value from `attributes`. Never mutated; the sealer merges the two.
   */
  baseAttributes?: Readonly<Record<string, BoundedValue>>;
  events: { name: string; timeUnixNano: string; attributes: Record<string, BoundedValue> }[];
  /** 0 unset, 2 error (the API and proto enums agree). */
  status: { code: number; message?: string };
  /** Spans this one refers to (a decision to the held statement's span); covered by the hash. */
  links?: readonly SpanLink[];
}

/** W3C sampled flag plus OTLP's "has is_remote" bit, as the transformer sets them for local spans. */
const SPAN_FLAGS = 0x101;
/** A link's flags: sampled, and a remote span context (another process's span). */
const REMOTE_LINK_FLAGS = 0x301;

/** The links of a span; `[]` for none, as before links existed. */
function linksJson(links: readonly SpanLink[] | undefined): string {
  if (!links || links.length === 0) return '[]';
  return `[${links.map((l) => `{"traceId":"${l.traceId}","spanId":"${l.spanId}","attributes":[],"droppedAttributesCount":0,"flags":${REMOTE_LINK_FLAGS}}`).join(',')}]`;
}

/** An AnyValue of a scalar whose JSON text is already known (the sealer has it for the hash too). */
export function scalarAnyValue(v: string | number | boolean, json: string): string {
  switch (typeof v) {
    case 'string':
      return `{"stringValue":${json}}`;
    case 'number':
      return Number.isInteger(v) ? `{"intValue":${json}}` : `{"doubleValue":${json}}`;
    default:
      return `{"boolValue":${json}}`;
  }
}

/** An AnyValue. */
export function anyValue(v: BoundedValue): string {
  if (typeof v !== 'object') return scalarAnyValue(v, JSON.stringify(v));
  return `{"arrayValue":{"values":[${(v as BoundedValue[]).map((x) => anyValue(x)).join(',')}]}}`;
}

/** A KeyValue list: `[{"key":…,"value":…},…]`. */
export function otlpAttributesJson(attrs: Readonly<Record<string, BoundedValue>>): string {
  let out = '[';
  let first = true;
  for (const key in attrs) {
    const v = attrs[key];
    if (v === undefined) continue;
    out += `${first ? '' : ','}{"key":${JSON.stringify(key)},"value":${anyValue(v)}}`;
    first = false;
  }
  return out + ']';
}

/** One span object of an ExportTraceServiceRequest (with the attributes already encoded, if given). */
export function otlpSpanJson(s: EndedSpan, attributesJson?: string): string {
  if (attributesJson === undefined && s.baseAttributes) attributesJson = otlpAttributesJson({ ...s.baseAttributes, ...s.attributes });
  let events = '[';
  for (let i = 0; i < s.events.length; i++) {
    const e = s.events[i]!;
    events += `${i ? ',' : ''}{"attributes":${otlpAttributesJson(e.attributes)},"name":${JSON.stringify(e.name)},"timeUnixNano":"${e.timeUnixNano}","droppedAttributesCount":0}`;
  }
  events += ']';
  const status = s.status.message !== undefined ? `{"code":${s.status.code},"message":${JSON.stringify(s.status.message)}}` : `{"code":${s.status.code}}`;
  return (
    `{"traceId":"${s.traceId}","spanId":"${s.spanId}"${s.parentSpanId ? `,"parentSpanId":"${s.parentSpanId}"` : ''}` +
    `,"name":${JSON.stringify(s.name)},"kind":${s.kind},"startTimeUnixNano":"${s.startTimeUnixNano}","endTimeUnixNano":"${s.endTimeUnixNano}"` +
    `,"attributes":${attributesJson ?? otlpAttributesJson(s.attributes)},"droppedAttributesCount":0,"events":${events},"droppedEventsCount":0` +
    `,"status":${status},"links":${linksJson(s.links)},"droppedLinksCount":0,"flags":${SPAN_FLAGS}}`
  );
}

/** A Resource object. */
export function otlpResourceJson(attrs: Readonly<Record<string, BoundedValue>>): string {
  return `{"attributes":${otlpAttributesJson(attrs)},"droppedAttributesCount":0}`;
}

/** The instrumentation scope every audit span is reported under. */
export const AUDIT_SCOPE = 'sidegate.audit';

/** Consecutive spans of one (encoded) resource, in the order given. */
function byResource<T>(spans: readonly { resource: string; span: T }[]): { resource: string; spans: T[] }[] {
  const groups: { resource: string; spans: T[] }[] = [];
  for (const s of spans) {
    const last = groups[groups.length - 1];
    if (last && last.resource === s.resource) last.spans.push(s.span);
    else groups.push({ resource: s.resource, spans: [s.span] });
  }
  return groups;
}

const groupHead = (resource: string) => `{"resource":${resource},"scopeSpans":[{"scope":{"name":"${AUDIT_SCOPE}"},"spans":[`;
const GROUP_TAIL = ']}]}';

/**
 * An ExportTraceServiceRequest from already encoded spans, grouped by (encoded) resource in the
 * order given: one line of the local audit file.
 */
export function otlpTraceRequestJson(spans: readonly { resource: string; span: string }[]): string {
  return `{"resourceSpans":[${byResource(spans)
    .map((g) => groupHead(g.resource) + g.spans.join(',') + GROUP_TAIL)
    .join(',')}]}`;
}

/** The same as bytes, from spans already encoded as UTF-8 (the body of one OTLP/HTTP request). */
export function otlpTraceRequestBody(spans: readonly { resource: string; span: Buffer }[]): Buffer {
  const comma = Buffer.from(',');
  const parts: Buffer[] = [Buffer.from('{"resourceSpans":[')];
  byResource(spans).forEach((g, i) => {
    parts.push(Buffer.from((i ? ',' : '') + groupHead(g.resource)));
    g.spans.forEach((span, j) => {
      if (j) parts.push(comma);
      parts.push(span);
    });
    parts.push(Buffer.from(GROUP_TAIL));
  });
  parts.push(Buffer.from(']}'));
  return Buffer.concat(parts);
}
