// Spooled OTLP/JSON spans as the OpenTelemetry SDK's ReadableSpans, for the transformer's protobuf
// serializer (OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf, the default).
//
// The spool keeps each span as the OTLP/JSON text the hash chain covers (otlp-span-json.ts); the
// protobuf body is made from that text at export time by @opentelemetry/otlp-transformer's
// ProtobufTraceSerializer, so the wire encoding is the OpenTelemetry project's, never ours. The
// mapping back is lossless for what audit spans hold (string, integer, double, boolean and array
// attributes; nanosecond times; remote-link flags), which a test checks byte for byte against the
// serializer's output for the same spans made by the SDK. Loaded with the exporter, on first use.
import type { Attributes, AttributeValue, HrTime, Link, SpanContext } from '@opentelemetry/api';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import { AUDIT_SCOPE } from './otlp-span-json.js';

interface JsonAnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: JsonAnyValue[] };
}
interface JsonKeyValue {
  key: string;
  value?: JsonAnyValue;
}
interface JsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: JsonKeyValue[];
  events: { name: string; timeUnixNano: string; attributes: JsonKeyValue[] }[];
  status: { code: number; message?: string };
  links?: { traceId: string; spanId: string; flags?: number }[];
  flags?: number;
}

const SAMPLED = 1;
/** OTLP's "is remote" bit of a link's flags (0x200), over "has is_remote" (0x100). */
const IS_REMOTE = 0x200;
const scope = { name: AUDIT_SCOPE };

/** The spans of one export, each under its (encoded) resource, as ReadableSpans. */
export function readableSpans(spans: readonly { resource: string; span: Buffer | string }[]): ReadableSpan[] {
  // One Resource object per distinct resource: the serializer groups spans by object identity.
  const resources = new Map<string, Resource>();
  return spans.map(({ resource, span }) => {
    let r = resources.get(resource);
    if (!r) {
      r = resourceFromAttributes(attributesOf((JSON.parse(resource) as { attributes?: JsonKeyValue[] }).attributes));
      resources.set(resource, r);
    }
    return readableSpan(JSON.parse(typeof span === 'string' ? span : span.toString('utf8')) as JsonSpan, r);
  });
}

function readableSpan(s: JsonSpan, resource: Resource): ReadableSpan {
  const context: SpanContext = { traceId: s.traceId, spanId: s.spanId, traceFlags: SAMPLED };
  const startTime = hrTime(s.startTimeUnixNano);
  const endTime = hrTime(s.endTimeUnixNano);
  const events: TimedEvent[] = s.events.map((e) => ({ name: e.name, time: hrTime(e.timeUnixNano), attributes: attributesOf(e.attributes), droppedAttributesCount: 0 }));
  const links: Link[] = (s.links ?? []).map((l) => ({
    context: { traceId: l.traceId, spanId: l.spanId, traceFlags: SAMPLED, isRemote: ((l.flags ?? 0) & IS_REMOTE) !== 0 },
    attributes: {},
    droppedAttributesCount: 0,
  }));
  return {
    name: s.name,
    // The API's SpanKind is the proto enum minus one.
    kind: s.kind - 1,
    spanContext: () => context,
    ...(s.parentSpanId ? { parentSpanContext: { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: SAMPLED, isRemote: false } } : {}),
    startTime,
    endTime,
    status: s.status.message !== undefined ? { code: s.status.code, message: s.status.message } : { code: s.status.code },
    attributes: attributesOf(s.attributes),
    links,
    events,
    duration: hrTime((BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)).toString()),
    ended: true,
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

/** Decimal nanoseconds as [seconds, nanoseconds], exactly (times exceed 2^53 ns). */
export function hrTime(nanos: string): HrTime {
  const n = BigInt(nanos);
  return [Number(n / 1_000_000_000n), Number(n % 1_000_000_000n)];
}

function attributesOf(kvs: readonly JsonKeyValue[] | undefined): Attributes {
  const out: Attributes = {};
  for (const kv of kvs ?? []) {
    const v = kv.value ? anyValue(kv.value) : undefined;
    if (v !== undefined) out[kv.key] = v;
  }
  return out;
}

function anyValue(v: JsonAnyValue): AttributeValue | undefined {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  // Audit arrays are homogeneous (attribute-values.ts bounds them so).
  if (v.arrayValue) return (v.arrayValue.values ?? []).map((x) => anyValue(x)) as AttributeValue;
  return undefined;
}
